"""Template filters that show money and registry values to people.

Exact integer arithmetic only (divmod and string padding, as in `tokenomics.money`): values here
can pass 2**53 (AGR base units), where a float would print the wrong digits.

    {% load money %}
    {{ balance.wallet|money:"USD" }}          $1,234.56
    {{ entry.amount|signed_money:entry.asset }}  +1,234.5 AGR
    {{ balance.wallet|money_short:"AGR" }}    1,561.24 AGR (the exact amount in its title)
    {{ parameter|param_value }}                80.00%
    {{ change.old_value|unit_value:parameter.unit }}
    {{ tier.share_bps|bps }}                    80.00%
    {{ terms.agr_discount_bps|percent }}        15%
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from tokenomics.models import Parameter
from tokenomics.models.parameters import ParameterUnit
from tokenomics.money import format_amount, format_amount_short

register = template.Library()

MISSING = "—"
MICRO_USD_PER_DOLLAR = 1_000_000
MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR
# Durations of at least this many whole days read as days ("7 days"); shorter whole-hour spans
# read as hours ("48 hours"), which is how SPEC.md speaks of the emergency timelock.
DAYS_FROM = 3 * DAY


def _whole(value: object) -> int | None:
    # bool is an int subclass, and a True/False amount is always a bug: show it as missing.
    return value if type(value) is int else None


@register.filter
def money(amount: object, asset: str) -> str:
    """An amount in minor units of `asset`: "$1,234.56", "-$0.05", "1,234.5 AGR"."""
    value = _whole(amount)
    if value is None:
        return MISSING
    return format_amount(amount=value, asset=asset)


@register.filter
def signed_money(amount: object, asset: str) -> str:
    """Like `money`, with "+" on a credit, for ledger entries: "+$10.00", "-1.5 AGR"."""
    value = _whole(amount)
    if value is None:
        return MISSING
    text = format_amount(amount=value, asset=asset)
    return f"+{text}" if value > 0 else text


def _short(value: int, asset: str, sign: str) -> SafeString:
    text, exact = format_amount_short(amount=value, asset=asset)
    if exact:
        return format_html("{}{}", sign, text)
    # Rounded for reading; the exact amount is one hover (or long press) away.
    return format_html(
        '<span class="amount-rounded" title="{}{}">{}{}</span>',
        sign,
        format_amount(amount=value, asset=asset),
        sign,
        text,
    )


@register.filter
def money_short(amount: object, asset: str) -> str:
    """Like `money`, AGR rounded for reading ("1,561.24 AGR") with the exact amount in a title."""
    value = _whole(amount)
    if value is None:
        return MISSING
    return _short(value, asset, "")


@register.filter
def signed_money_short(amount: object, asset: str) -> str:
    """Like `signed_money`, rounded as `money_short`: "+1,561.24 AGR", "-$49.00"."""
    value = _whole(amount)
    if value is None:
        return MISSING
    return _short(value, asset, "+" if value > 0 else "")


@register.filter
def bps(value: object) -> str:
    """Basis points as a percentage with two decimals: 8000 -> "80.00%", 5 -> "0.05%"."""
    number = _whole(value)
    if number is None:
        return MISSING
    sign = "-" if number < 0 else ""
    whole, hundredths = divmod(abs(number), 100)
    return f"{sign}{whole:,}.{hundredths:02d}%"


@register.filter
def percent(value: object) -> str:
    """Basis points as a percentage without needless zeros, for sentences: 1500 -> "15%",
    1250 -> "12.5%", 5 -> "0.05%" (`bps` keeps two decimals, for tables of rates)."""
    number = _whole(value)
    if number is None:
        return MISSING
    sign = "-" if number < 0 else ""
    whole, hundredths = divmod(abs(number), 100)
    decimals = f"{hundredths:02d}".rstrip("0")
    return f"{sign}{whole:,}{'.' + decimals if decimals else ''}%"


def _micro_usd(number: int) -> str:
    # Sub-cent prices keep their digits ("$0.0001"); at least two decimals, like any dollar amount.
    sign = "-" if number < 0 else ""
    dollars, micros = divmod(abs(number), MICRO_USD_PER_DOLLAR)
    decimals = str(micros).rjust(6, "0").rstrip("0").ljust(2, "0")
    return f"{sign}${dollars:,}.{decimals}"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def _duration(seconds: int) -> str:
    if seconds < 0:
        return f"{seconds:,} seconds"
    if seconds and seconds % DAY == 0 and seconds >= DAYS_FROM:
        return _plural(seconds // DAY, "day")
    if seconds and seconds % HOUR == 0:
        return _plural(seconds // HOUR, "hour")
    if seconds and seconds % MINUTE == 0:
        return _plural(seconds // MINUTE, "minute")
    return _plural(seconds, "second")


@register.filter
def unit_value(value: object, unit: str) -> str:
    """A registry integer in `unit` (see ParameterUnit), for people: "2.00%", "$1,000.00",
    "10,000 AGR", "7 days", "$0.0001", "100 ms"; counts and scores as plain numbers."""
    number = _whole(value)
    if number is None:
        return MISSING
    match unit:
        case ParameterUnit.BPS:
            return bps(number)
        case ParameterUnit.USD_CENTS:
            return format_amount(amount=number, asset="USD")
        case ParameterUnit.AGR_BASE_UNITS:
            return format_amount(amount=number, asset="AGR")
        case ParameterUnit.MICRO_USD:
            return _micro_usd(number)
        case ParameterUnit.SECONDS:
            return _duration(number)
        case ParameterUnit.MILLISECONDS:
            return f"{number:,} ms"
        case _:  # count, score, and any unit added later
            return f"{number:,}"


@register.filter
def param_value(parameter: Parameter) -> str:
    """The parameter's current value in its unit, for people."""
    return unit_value(parameter.value, parameter.unit)
