"""Unit conversions and display of money: exact integer arithmetic, rounding in the platform's favour."""

from __future__ import annotations

import json
from decimal import Decimal
from enum import StrEnum
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenomics.money import (
    AGR_BASE_UNITS_PER_AGR,
    AGR_DECIMALS,
    MICRO_USD_PER_CENT,
    USD_CENTS_PER_DOLLAR,
    agr,
    agr_base_units_to_usd_cents,
    format_amount,
    format_amount_short,
    micro_usd_to_cents_ceil,
    micro_usd_to_cents_floor,
    money_json,
    usd_cents_to_agr_base_units,
)

NOT_INTS = [1.0, True, Decimal(1), "1", None]
amounts = st.integers(min_value=0, max_value=10**30)
signed_amounts = st.integers(min_value=-(10**40), max_value=10**40)
# Micro-USD per AGR, from a millionth of a dollar to $1M.
agr_prices = st.integers(min_value=1, max_value=10**12)


class Asset(StrEnum):
    # Stands in for the ledger's TextChoices: a str subclass whose members equal the asset codes.
    USD = "USD"
    AGR = "AGR"


def test_constants() -> None:
    assert USD_CENTS_PER_DOLLAR == 100
    assert AGR_DECIMALS == 18
    assert AGR_BASE_UNITS_PER_AGR == 10**AGR_DECIMALS == 1_000_000_000_000_000_000
    assert MICRO_USD_PER_CENT == 10_000


def test_agr() -> None:
    assert agr(1) == 10**18
    assert agr(0) == 0
    assert agr(1_000_000_000) == 10**27  # the whole supply
    assert agr(-2) == -2 * 10**18


@pytest.mark.parametrize("bad", NOT_INTS)
def test_agr_rejects_non_ints(bad: object) -> None:
    with pytest.raises(TypeError, match="whole must be an int"):
        agr(bad)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- USD <-> AGR


@pytest.mark.parametrize(
    ("cents", "price", "base_units"),
    [
        (100, 500_000, 2 * 10**18),  # $1 at $0.50/AGR: exactly 2 AGR
        (100, 3_000_000, 333_333_333_333_333_334),  # $1 at $3/AGR: 1/3 AGR, rounded up
        (1, 1_000_000, 10**16),  # one cent at $1/AGR
        (0, 1_000_000, 0),
        (1, 10**12, 10**10),  # one cent at $1M/AGR: exactly 10^-8 AGR
        (1, 3 * 10**12, 3_333_333_334),  # one cent at $3M/AGR: 3,333,333,333.33 rounds up
    ],
)
def test_usd_cents_to_agr_rounds_up(cents: int, price: int, base_units: int) -> None:
    assert usd_cents_to_agr_base_units(cents=cents, agr_price_micro_usd=price) == base_units


@pytest.mark.parametrize(
    ("base_units", "price", "cents"),
    [
        (2 * 10**18, 500_000, 100),
        (333_333_333_333_333_334, 3_000_000, 100),
        (333_333_333_333_333_333, 3_000_000, 99),  # one base unit short of a dollar's worth
        (10**16 - 1, 1_000_000, 0),
        (0, 1_000_000, 0),
    ],
)
def test_agr_to_usd_cents_rounds_down(base_units: int, price: int, cents: int) -> None:
    assert agr_base_units_to_usd_cents(base_units=base_units, agr_price_micro_usd=price) == cents


@given(cents=amounts, price=agr_prices)
def test_agr_due_is_the_least_amount_worth_the_price(cents: int, price: int) -> None:
    due = usd_cents_to_agr_base_units(cents=cents, agr_price_micro_usd=price)
    # Worth at least the price, so the platform never receives less ...
    assert due * price >= cents * MICRO_USD_PER_CENT * AGR_BASE_UNITS_PER_AGR
    assert agr_base_units_to_usd_cents(base_units=due, agr_price_micro_usd=price) >= cents
    # ... and one base unit less would not be: the buyer pays no more than the ceiling.
    if cents:
        assert (due - 1) * price < cents * MICRO_USD_PER_CENT * AGR_BASE_UNITS_PER_AGR
        assert agr_base_units_to_usd_cents(base_units=due - 1, agr_price_micro_usd=price) < cents


@given(base_units=amounts, price=agr_prices)
def test_agr_value_in_cents_is_the_floor(base_units: int, price: int) -> None:
    cents = agr_base_units_to_usd_cents(base_units=base_units, agr_price_micro_usd=price)
    scale = AGR_BASE_UNITS_PER_AGR * MICRO_USD_PER_CENT
    assert cents * scale <= base_units * price < (cents + 1) * scale


@pytest.mark.parametrize(
    ("func", "kwargs", "error"),
    [
        (usd_cents_to_agr_base_units, {"cents": -1, "agr_price_micro_usd": 1}, ValueError),
        (usd_cents_to_agr_base_units, {"cents": 1, "agr_price_micro_usd": 0}, ValueError),
        (usd_cents_to_agr_base_units, {"cents": 1.0, "agr_price_micro_usd": 1}, TypeError),
        (usd_cents_to_agr_base_units, {"cents": 1, "agr_price_micro_usd": True}, TypeError),
        (agr_base_units_to_usd_cents, {"base_units": -1, "agr_price_micro_usd": 1}, ValueError),
        (agr_base_units_to_usd_cents, {"base_units": 1, "agr_price_micro_usd": -5}, ValueError),
        (agr_base_units_to_usd_cents, {"base_units": Decimal(1), "agr_price_micro_usd": 1}, TypeError),
    ],
)
def test_conversions_reject_bad_input(func: Any, kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        func(**kwargs)


# --------------------------------------------------------------------------- micro-USD -> cents


@pytest.mark.parametrize(
    ("micro_usd", "floor", "ceil"),
    [
        (0, 0, 0),
        (1, 0, 1),
        (9_999, 0, 1),
        (10_000, 1, 1),
        (10_001, 1, 2),
        (-1, -1, 0),  # toward negative and positive infinity respectively
        (-10_000, -1, -1),
    ],
)
def test_micro_usd_to_cents(micro_usd: int, floor: int, ceil: int) -> None:
    assert micro_usd_to_cents_floor(micro_usd=micro_usd) == floor
    assert micro_usd_to_cents_ceil(micro_usd=micro_usd) == ceil


@given(micro_usd=signed_amounts)
def test_micro_usd_to_cents_brackets_the_exact_value(micro_usd: int) -> None:
    floor = micro_usd_to_cents_floor(micro_usd=micro_usd)
    ceil = micro_usd_to_cents_ceil(micro_usd=micro_usd)
    assert floor * MICRO_USD_PER_CENT <= micro_usd <= ceil * MICRO_USD_PER_CENT
    assert ceil - floor == (0 if micro_usd % MICRO_USD_PER_CENT == 0 else 1)


@pytest.mark.parametrize("bad", NOT_INTS)
def test_micro_usd_to_cents_rejects_non_ints(bad: object) -> None:
    with pytest.raises(TypeError, match="micro_usd must be an int"):
        micro_usd_to_cents_floor(micro_usd=bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="micro_usd must be an int"):
        micro_usd_to_cents_ceil(micro_usd=bad)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- display


@pytest.mark.parametrize(
    ("amount", "asset", "text"),
    [
        (123_456, "USD", "$1,234.56"),
        (-5, "USD", "-$0.05"),
        (0, "USD", "$0.00"),
        (100, "USD", "$1.00"),
        (-123_456_789, "USD", "-$1,234,567.89"),
        (10**20, "USD", "$1,000,000,000,000,000,000.00"),
        (1234 * 10**18 + 5 * 10**17, "AGR", "1,234.5 AGR"),
        (10**18, "AGR", "1 AGR"),
        (0, "AGR", "0 AGR"),
        (1, "AGR", "0.000000000000000001 AGR"),
        (-(10**18) // 2, "AGR", "-0.5 AGR"),
        (10**27 + 10**18 - 1, "AGR", "1,000,000,000.999999999999999999 AGR"),
        (1_050_000_000_000_000_000, "AGR", "1.05 AGR"),
        (123_456, Asset.USD, "$1,234.56"),
    ],
)
def test_format_amount(amount: int, asset: str, text: str) -> None:
    assert format_amount(amount=amount, asset=asset) == text


def parse_usd(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    dollars, cents = text.lstrip("-").removeprefix("$").replace(",", "").split(".")
    assert len(cents) == 2
    return sign * (int(dollars) * 100 + int(cents))


def parse_agr(text: str) -> int:
    number = text.removesuffix(" AGR")
    sign = -1 if number.startswith("-") else 1
    whole, _, decimals = number.lstrip("-").replace(",", "").partition(".")
    assert len(decimals) <= 18
    assert not decimals.endswith("0")
    return sign * (int(whole) * 10**18 + int(decimals.ljust(18, "0")))


@given(amount=signed_amounts)
def test_format_amount_is_exact(amount: int) -> None:
    assert parse_usd(format_amount(amount=amount, asset="USD")) == amount
    assert parse_agr(format_amount(amount=amount, asset="AGR")) == amount


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"amount": 1, "asset": "EUR"}, ValueError),
        ({"amount": 1, "asset": "usd"}, ValueError),
        ({"amount": 1, "asset": None}, ValueError),
        ({"amount": 1.5, "asset": "USD"}, TypeError),
        ({"amount": True, "asset": "AGR"}, TypeError),
    ],
)
def test_format_amount_rejects_bad_input(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        format_amount(**kwargs)


# --------------------------------------------------------------------------- API money objects


def test_money_json() -> None:
    assert money_json(amount=12, asset="USD") == {"amount": "12", "asset": "USD"}
    assert money_json(amount=-5, asset="USD") == {"amount": "-5", "asset": "USD"}
    assert money_json(amount=agr(10**9), asset="AGR") == {"amount": "1" + "0" * 27, "asset": "AGR"}


def test_money_json_asset_is_a_plain_string() -> None:
    body = money_json(amount=1, asset=Asset.AGR)
    assert type(body["asset"]) is str
    assert json.dumps(body) == '{"amount": "1", "asset": "AGR"}'


@given(amount=signed_amounts)
def test_money_json_amount_round_trips(amount: int) -> None:
    assert int(money_json(amount=amount, asset="AGR")["amount"]) == amount


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"amount": 1.0, "asset": "USD"}, TypeError),
        ({"amount": False, "asset": "USD"}, TypeError),
        ({"amount": "12", "asset": "USD"}, TypeError),
        ({"amount": 12, "asset": "BTC"}, ValueError),
    ],
)
def test_money_json_rejects_bad_input(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        money_json(**kwargs)


@pytest.mark.parametrize(
    ("amount", "asset", "shown", "exact"),
    [
        (1_561_240_034_722_222_222_222, "AGR", "1,561.24 AGR", False),
        (-1_561_240_034_722_222_222_222, "AGR", "-1,561.24 AGR", False),
        (agr(90), "AGR", "90 AGR", True),
        (agr(1) // 2, "AGR", "0.5 AGR", True),
        (1_234_567_890_123_456, "AGR", "0.001235 AGR", False),  # four significant digits below 1 AGR
        (9_999_990_000_000_000_000, "AGR", "10 AGR", False),  # rounding carries into the whole part
        (1, "AGR", "0.000000000000000001 AGR", True),
        (0, "AGR", "0 AGR", True),
        (123_456, "USD", "$1,234.56", True),
    ],
)
def test_format_amount_short(amount: int, asset: str, shown: str, exact: bool) -> None:
    assert format_amount_short(amount=amount, asset=asset) == (shown, exact)


@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_format_amount_short_is_within_half_a_step(amount: int) -> None:
    text, exact = format_amount_short(amount=amount, asset="AGR")
    shown = Decimal(text.removesuffix(" AGR").replace(",", "")) * AGR_BASE_UNITS_PER_AGR
    assert exact == (shown == amount)
    # Two decimals from 1 AGR up; four significant digits below: never off by more than half of that.
    step = (
        Decimal(10) ** (AGR_DECIMALS - 2)
        if abs(amount) >= AGR_BASE_UNITS_PER_AGR
        else abs(Decimal(amount)) / 1000
    )
    assert abs(shown - amount) <= step / 2
