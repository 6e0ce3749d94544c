"""The public parameters page: the whole registry by category, values in their units, history."""

from __future__ import annotations

import re

import pytest

from tokenomics.parameter_catalog import CATALOG
from tokenomics.services.parameters import parameter_set

pytestmark = pytest.mark.django_db

URL = "/parameters/"


def _row(html: str, key: str) -> str:
    match = re.search(rf'<tr id="parameter-{re.escape(key)}">(.*?)</tr>', html, re.S)
    assert match, key
    return match.group(1)


def test_public_page_lists_every_parameter_by_category(client):
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    for category in {spec.category for spec in CATALOG}:
        assert f'id="category-{category}"' in html
        assert f'href="#category-{category}"' in html
    assert html.count('<tr id="parameter-') == len(CATALOG)
    assert 'aria-current="page">Parameters</a>' in html


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("sale.network_fee_bps", "2.00%"),
        ("sale.creator_share.bronze_bps", "80.00%"),
        ("creator_tier.silver_threshold_cents", "$1,000.00"),
        ("staking.bronze_min", "10,000 AGR"),
        ("escrow.refund_window_seconds", "7 days"),
        ("governance.emergency_timelock_seconds", "48 hours"),
        ("compute.base_rate_micro_usd", "$0.0001"),
        ("token.agr_price_micro_usd", "$0.10"),
        ("reputation.fast_p50_ms", "100 ms"),
        ("license.download_limit", "5"),
        ("reputation.max_score", "1,000"),
        ("token.total_supply", "1,000,000,000 AGR"),
    ],
)
def test_values_are_shown_in_their_units(client, key, shown):
    row = _row(client.get(URL).content.decode(), key)
    assert f"<strong>{shown}</strong>" in row


def test_bounds_are_shown_in_the_unit(client):
    html = client.get(URL).content.decode()
    assert "50.00% \u2013 94.00%" in _row(html, "sale.creator_share.bronze_bps")
    assert "fixed" in _row(html, "token.total_supply")


def test_history_shows_each_change_with_who_and_why(client, user):
    user.display_name = "Ops Olga"
    user.save()
    parameter_set(key="payout.minimum_cents", value=1_100, changed_by=user, reason="Cheaper transfers")
    parameter_set(
        key="payout.minimum_cents", value=2_000, proposal_ref="proposal:7", reason="Fees rose", emergency=True
    )
    row = _row(client.get(URL).content.decode(), "payout.minimum_cents")
    assert "<summary>3 changes · last" in row
    assert "$11.00 → <strong>$20.00</strong>" in row
    # The proposal that made the change is linked to its governance page.
    assert 'by <a href="/governance/proposals/7/">proposal #7</a> — Fees rose' in row
    assert '<span class="badge badge-bad">Emergency</span>' in row
    assert "$10.00 → <strong>$11.00</strong>" in row
    assert "by Ops Olga — Cheaper transfers" in row
    assert "set to <strong>$10.00</strong>" in row
    assert row.count("Emergency") == 1
    untouched = _row(client.get(URL).content.decode(), "payout.instant_fee_bps")
    assert "<summary>1 change</summary>" in untouched
