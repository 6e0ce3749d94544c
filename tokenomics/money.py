"""Money units: the one module that converts between USD cents, micro-USD and AGR base units.

Pure functions over integers, no floats and no Decimal: every conversion is one floor (or ceiling)
division of an exact integer product, with the direction chosen and documented per function.

Units:
- USD is held in integer cents; micro-USD (10^-6 USD) is used where a price is below a cent
  (compute fees, the AGR price);
- AGR is held in integer base units, 10^-18 AGR (ERC-20, 18 decimals);
- an AGR price is given as micro-USD per 1 whole AGR.
"""

from __future__ import annotations

import re

USD_CENTS_PER_DOLLAR = 100
USD_DECIMALS = 2
AGR_DECIMALS = 18
AGR_BASE_UNITS_PER_AGR = 10**18  # 10**AGR_DECIMALS, written out so the type checker sees an int
MICRO_USD_PER_CENT = 10_000

USD = "USD"
AGR = "AGR"
# Maps an asset code, or a str subclass equal to one (a Django TextChoices member), to a plain str.
_ASSETS = {USD: USD, AGR: AGR}


def require_int(name: str, value: object) -> int:
    """`value` if it is exactly an int (the split engine checks its inputs with these too).

    `type(...) is int` rather than isinstance: bool is an int subclass and a True/False amount is
    a bug, and an int subclass could override arithmetic."""
    if type(value) is not int:
        raise TypeError(f"{name} must be an int, got {type(value).__name__}: {value!r}")
    return value


def require_non_negative(name: str, value: object) -> int:
    number = require_int(name, value)
    if number < 0:
        raise ValueError(f"{name} must be >= 0, got {number}")
    return number


def require_positive(name: str, value: object) -> int:
    number = require_int(name, value)
    if number < 1:
        raise ValueError(f"{name} must be >= 1, got {number}")
    return number


def _asset(asset: object) -> str:
    if not isinstance(asset, str) or asset not in _ASSETS:
        raise ValueError(f"asset must be one of {sorted(_ASSETS)}, got {asset!r}")
    return _ASSETS[asset]


def _ceil_div(numerator: int, denominator: int) -> int:
    # Exact ceiling for a positive denominator, by negating floor division (no float, no Decimal).
    return -(-numerator // denominator)


def agr(whole: int) -> int:
    """`whole` AGR in base units."""
    return require_int("whole", whole) * AGR_BASE_UNITS_PER_AGR


def usd_cents_to_agr_base_units(*, cents: int, agr_price_micro_usd: int) -> int:
    """The AGR due for a USD price, rounded UP.

    The buyer pays the ceiling, so what the platform receives is never worth less than the USD price.
    base units = ceil(cents * 10_000 * 10^18 / price in micro-USD per AGR).
    """
    amount = require_non_negative("cents", cents)
    price = require_positive("agr_price_micro_usd", agr_price_micro_usd)
    return _ceil_div(amount * MICRO_USD_PER_CENT * AGR_BASE_UNITS_PER_AGR, price)


def agr_base_units_to_usd_cents(*, base_units: int, agr_price_micro_usd: int) -> int:
    """The USD value of an AGR amount, rounded DOWN to the cent.

    Rounds down so that a value credited or reported in USD never exceeds what the AGR is worth.
    cents = floor(base units * price in micro-USD per AGR / (10^18 * 10_000)).
    """
    amount = require_non_negative("base_units", base_units)
    price = require_positive("agr_price_micro_usd", agr_price_micro_usd)
    return amount * price // (AGR_BASE_UNITS_PER_AGR * MICRO_USD_PER_CENT)


def micro_usd_to_cents_floor(*, micro_usd: int) -> int:
    """Micro-USD to cents, rounded toward negative infinity (for what the platform pays out or credits)."""
    return require_int("micro_usd", micro_usd) // MICRO_USD_PER_CENT


def micro_usd_to_cents_ceil(*, micro_usd: int) -> int:
    """Micro-USD to cents, rounded toward positive infinity (for what a buyer is charged)."""
    return _ceil_div(require_int("micro_usd", micro_usd), MICRO_USD_PER_CENT)


def format_amount(*, amount: int, asset: str) -> str:
    """An amount in minor units for display: "$1,234.56", "-$0.05", "1,234.5 AGR".

    Exact: integer division and string padding only. USD always shows two decimals; AGR shows up to
    18 decimals with trailing zeros trimmed, and no decimal point for a whole number.
    """
    value = require_int("amount", amount)
    code = _asset(asset)
    sign = "-" if value < 0 else ""
    if code == USD:
        dollars, cents = divmod(abs(value), USD_CENTS_PER_DOLLAR)
        return f"{sign}${dollars:,}.{cents:02d}"
    whole, fraction = divmod(abs(value), AGR_BASE_UNITS_PER_AGR)
    decimals = str(fraction).rjust(AGR_DECIMALS, "0").rstrip("0")
    return f"{sign}{whole:,}{'.' + decimals if decimals else ''} {AGR}"


# What a person reads for AGR (exact amounts run to 18 decimals): two decimals from 1 AGR up,
# four significant digits below it.
AGR_SHORT_DECIMALS = 2
AGR_SHORT_SIGNIFICANT = 4


def format_amount_short(*, amount: int, asset: str) -> tuple[str, bool]:
    """An amount for reading at a glance, and whether it is exact: USD as `format_amount`
    ("$1,234.56", always exact); AGR rounded half up to two decimals ("1,561.24 AGR") or, below
    1 AGR, to four significant digits ("0.001235 AGR"), trailing zeros trimmed. Integer arithmetic."""
    value = require_int("amount", amount)
    code = _asset(asset)
    if code == USD:
        return format_amount(amount=value, asset=code), True
    magnitude = abs(value)
    if magnitude >= AGR_BASE_UNITS_PER_AGR or magnitude == 0:
        decimals = AGR_SHORT_DECIMALS
    else:
        leading_zeros = AGR_DECIMALS - len(str(magnitude))
        decimals = min(AGR_DECIMALS, leading_zeros + AGR_SHORT_SIGNIFICANT)
    step = 10 ** (AGR_DECIMALS - decimals)
    rounded = (magnitude + step // 2) // step * step
    sign = -1 if value < 0 else 1
    return format_amount(amount=sign * rounded, asset=code), rounded == magnitude


def money_json(*, amount: int, asset: str) -> dict[str, str]:
    """The API's money object (API.md): the integer amount in minor units as a string, and the asset."""
    return {"amount": str(require_int("amount", amount)), "asset": _asset(asset)}


# ----------------------------------------------------------------------------- amounts people type

_AMOUNT = re.compile(r"^(?P<whole>\d+)(?:\.(?P<fraction>\d*))?$|^\.(?P<only_fraction>\d+)$")


class AmountError(ValueError):
    """A typed amount that is not a usable amount; the message is for the person who typed it."""


def parse_amount(text: str, *, decimals: int, unit: str) -> int:
    """Minor units for a decimal amount typed by a person ("25", "25.00", "0.10", "1.5"), exactly:
    string and integer arithmetic only, never float. Thousands separators (",", "_") and spaces
    are ignored, and a leading "$" for dollars. Raises AmountError (empty, not a number,
    negative, zero, more decimal places than `decimals`)."""
    cleaned = re.sub(r"[\s,_]", "", text)
    if unit == "US dollars":
        cleaned = cleaned.removeprefix("$")
    if not cleaned:
        raise AmountError("Enter an amount.")
    if cleaned.startswith("-"):
        raise AmountError("Enter a positive amount.")
    cleaned = cleaned.removeprefix("+")
    match = _AMOUNT.match(cleaned)
    if match is None:
        raise AmountError(f"Enter a number of {unit}, such as 25 or 25.50.")
    whole = match.group("whole") or "0"
    fraction = match.group("fraction") or match.group("only_fraction") or ""
    if len(fraction) > decimals:
        raise AmountError(f"Use at most {decimals} decimal places for {unit}.")
    amount = int(whole + fraction.ljust(decimals, "0"))  # "1" + "50" -> 150 cents
    if amount <= 0:
        raise AmountError("Enter an amount above zero.")
    return amount
