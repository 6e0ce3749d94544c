"""The `money` template filters: exact, integer-only formatting of amounts and registry values."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from tokenomics.models import Parameter
from tokenomics.money import agr
from tokenomics.templatetags.money import bps, money, param_value, signed_money, unit_value


@pytest.mark.parametrize(
    ("amount", "asset", "shown"),
    [
        (123_456, "USD", "$1,234.56"),
        (-5, "USD", "-$0.05"),
        (0, "USD", "$0.00"),
        (agr(1_234) + agr(1) // 2, "AGR", "1,234.5 AGR"),
        (1, "AGR", "0.000000000000000001 AGR"),
        # Past 2**53 a float would print ...000; every digit must survive.
        (2**70 + 1, "AGR", "1,180.591620717411303425 AGR"),
    ],
)
def test_money(amount, asset, shown):
    assert money(amount, asset) == shown


def test_money_refuses_non_integers_quietly():
    assert money(None, "USD") == "—"
    assert money(1.5, "USD") == "—"
    assert money(True, "USD") == "—"


def test_signed_money_marks_credits():
    assert signed_money(1_000, "USD") == "+$10.00"
    assert signed_money(-1_000, "USD") == "-$10.00"
    assert signed_money(agr(2), "AGR") == "+2 AGR"


@pytest.mark.parametrize(
    ("value", "shown"), [(8000, "80.00%"), (5, "0.05%"), (10_000, "100.00%"), (-150, "-1.50%")]
)
def test_bps(value, shown):
    assert bps(value) == shown


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (200, "bps", "2.00%"),
        (100_000, "usd_cents", "$1,000.00"),
        (agr(10_000), "agr_base_units", "10,000 AGR"),
        (7 * 86_400, "seconds", "7 days"),
        (2 * 86_400, "seconds", "48 hours"),
        (86_400, "seconds", "24 hours"),
        (3_600, "seconds", "1 hour"),
        (90, "seconds", "90 seconds"),
        (120, "seconds", "2 minutes"),
        (100, "micro_usd", "$0.0001"),
        (100_000, "micro_usd", "$0.10"),
        (1_234_567, "micro_usd", "$1.234567"),
        (10**12, "micro_usd", "$1,000,000.00"),
        (100, "milliseconds", "100 ms"),
        (1_000_000, "count", "1,000,000"),
        (1000, "score", "1,000"),
    ],
)
def test_unit_value(value, unit, shown):
    assert unit_value(value, unit) == shown


def test_param_value_and_template_use():
    parameter = Parameter(key="k", category="c", value=8000, unit="bps", min_value=0, max_value=10_000)
    assert param_value(parameter) == "80.00%"
    rendered = Template(
        '{% load money %}{{ p|param_value }} {{ a|money:"USD" }} {{ a|signed_money:"USD" }}'
    ).render(Context({"p": parameter, "a": 250}))
    assert rendered == "80.00% $2.50 +$2.50"
