"""The `money` template filters: exact, integer-only formatting of amounts and registry values."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from tokenomics.models import Parameter
from tokenomics.money import agr
from tokenomics.templatetags.money import (
    bps,
    money,
    money_short,
    param_value,
    percent,
    signed_money,
    signed_money_short,
    unit_value,
)


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


def test_money_short_rounds_agr_and_keeps_the_exact_amount_in_a_title():
    html = money_short(1_561_240_034_722_222_222_222, "AGR")
    assert html == '<span class="amount-rounded" title="1,561.240034722222222222 AGR">1,561.24 AGR</span>'
    assert signed_money_short(1_561_240_034_722_222_222_222, "AGR").endswith(">+1,561.24 AGR</span>")
    assert signed_money_short(-agr(2), "AGR") == "-2 AGR"


def test_money_short_leaves_exact_amounts_plain():
    assert money_short(agr(90), "AGR") == "90 AGR"
    assert money_short(123_456, "USD") == "$1,234.56"
    assert signed_money_short(4_900, "USD") == "+$49.00"
    assert money_short(None, "USD") == "—"


def test_money_short_is_safe_html_in_a_template():
    rendered = Template('{% load money %}{{ amount|money_short:"AGR" }}').render(
        Context({"amount": agr(1) // 3})
    )
    assert rendered.startswith('<span class="amount-rounded" title="0.333333333333333333 AGR">0.3333 AGR')


@pytest.mark.parametrize(
    ("value", "shown"),
    [(1_500, "15%"), (1_250, "12.5%"), (5, "0.05%"), (0, "0%"), (8_000, "80%"), (-150, "-1.5%"), (None, "—")],
)
def test_percent_reads_without_needless_zeros(value, shown):
    assert percent(value) == shown
