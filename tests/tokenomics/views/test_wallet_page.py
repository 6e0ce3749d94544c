"""The wallet page: balances, creator tier, and the ledger history with htmx paging and filter."""

from __future__ import annotations

import re

import pytest

from tests.tokenomics.factories import funded_wallet
from tokenomics.money import agr
from tokenomics.services.escrow import escrow_hold, escrow_release

pytestmark = pytest.mark.django_db

URL = "/wallet/"
ROW = re.compile(r'<tr class="history-row"')


def _rows(html: str) -> int:
    return len(ROW.findall(html))


def _fund_many(user, count: int, *, first_cents: int = 101) -> None:
    for i in range(count):
        funded_wallet(user=user, amount=first_cents + i)


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/wallet/")


def test_shows_formatted_balances_per_asset(client, user):
    funded_wallet(user=user, amount=123_456)
    funded_wallet(user=user, amount=agr(1_234) + agr(1) // 2, asset="AGR")
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<p class="balance-amount" data-asset="USD">$1,234.56</p>' in html
    assert '<p class="balance-amount" data-asset="AGR">1,234.5 AGR</p>' in html
    assert "+$1,234.56" in html  # the deposit's entry in the history
    assert 'aria-current="page">Wallet</a>' in html


def test_empty_state_explains_how_money_arrives(client, user):
    client.force_login(user)
    html = client.get(URL).content.decode()
    assert "No transactions yet." in html
    assert "top up prepaid credit" in html
    assert 'id="history-table"' not in html
    assert '<p class="balance-amount" data-asset="USD">$0.00</p>' in html


def test_history_is_25_a_page_with_a_load_more_link(client, user):
    _fund_many(user, 30)
    client.force_login(user)
    html = client.get(URL).content.decode()
    assert _rows(html) == 25
    assert 'href="/wallet/?page=2"' in html
    assert 'hx-get="/wallet/?page=2"' in html
    assert "5 older transactions" in html
    # Newest first: the last top-up ($1.30) leads and the sixth ($1.06) ends page one.
    assert html.index("+$1.30") < html.index("+$1.06")
    assert "+$1.05" not in html


def test_next_page_via_htmx_is_only_the_rows(client, user):
    _fund_many(user, 30)
    client.force_login(user)
    response = client.get(URL, {"page": 2}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="history-more")
    assert response.status_code == 200
    html = response.content.decode()
    assert _rows(html) == 5
    assert "+$1.01" in html
    assert "+$1.05" in html
    assert "+$1.06" not in html
    assert "<html" not in html
    assert "<table" not in html
    assert "balance-amount" not in html
    assert "Load more" not in html  # the last page
    assert "HX-Request" in response["Vary"]


def test_next_page_without_javascript_is_a_full_page(client, user):
    _fund_many(user, 30)
    client.force_login(user)
    html = client.get(URL, {"page": 2}).content.decode()
    assert "<html" in html
    assert "balance-amount" in html
    assert _rows(html) == 5
    assert 'href="/wallet/?page=1"' in html  # "Newer transactions"


def test_asset_filter_via_htmx_swaps_the_history_section(client, user):
    funded_wallet(user=user, amount=4_321)
    funded_wallet(user=user, amount=agr(3), asset="AGR")
    client.force_login(user)
    response = client.get(URL, {"asset": "AGR"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="history")
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="history"')
    assert "+3 AGR" in html
    assert "$43.21" not in html
    assert _rows(html) == 1
    assert 'href="/wallet/?asset=AGR" hx-get="/wallet/?asset=AGR"' in html
    assert re.search(r'\?asset=AGR"[^>]*aria-current="true"', html)


def test_asset_filter_without_javascript_and_filtered_paging(client, user):
    funded_wallet(user=user, amount=agr(3), asset="AGR")
    _fund_many(user, 26)
    client.force_login(user)
    usd = client.get(URL, {"asset": "USD"}).content.decode()
    assert _rows(usd) == 25
    assert 'href="/wallet/?asset=USD&amp;page=2"' in usd
    assert "+3 AGR" not in usd
    agr_only = client.get(URL, {"asset": "AGR"}).content.decode()
    assert _rows(agr_only) == 1
    assert "Load more" not in agr_only
    everything = client.get(URL, {"asset": "bogus"}).content.decode()
    assert _rows(everything) == 25  # an unknown asset shows all, like "All"


def test_filtered_empty_state_names_the_asset(client, user):
    funded_wallet(user=user, amount=100)
    client.force_login(user)
    html = client.get(URL, {"asset": "AGR"}).content.decode()
    assert "No AGR transactions yet." in html


def test_another_users_entries_never_appear(client, user, other_user):
    funded_wallet(user=user, amount=1_111)
    funded_wallet(user=other_user, amount=987_654)
    funded_wallet(user=other_user, amount=agr(77), asset="AGR")
    client.force_login(user)
    for params in ({}, {"asset": "USD"}, {"asset": "AGR"}, {"page": 2}):
        html = client.get(URL, params).content.decode()
        assert "9,876.54" not in html
        assert "77 AGR" not in html
    assert _rows(client.get(URL).content.decode()) == 1


def test_creator_tier_progress_appears_with_sales(client, user, other_user):
    client.force_login(user)
    assert "Creator tier" not in client.get(URL).content.decode()
    wallet = funded_wallet(user=other_user, amount=25_000)
    escrow = escrow_hold(reference="order:9", creator=user, source_account=wallet, amount=25_000)
    escrow_release(escrow_id=escrow.pk)
    html = client.get(URL).content.decode()
    assert "Creator tier" in html
    assert "tier-bronze" in html
    assert "<strong>80%</strong>" in html
    assert 'aria-valuenow="25"' in html  # $250 of the $1,000.00 Silver threshold
    assert "$750.00 more in net sales reaches <strong>Silver</strong>" in html


def test_a_card_purchase_reads_as_one_row_naming_the_model_with_references_behind_details(client):
    from tests.marketplace.factories import ListingFactory, paid_order
    from tokenomics.models.ledger import AccountKind
    from tokenomics.services.ledger_accounts import user_account_get_or_create
    from tokenomics.services.wallet import deposit_post

    listing = ListingFactory(title="Sonnet Summariser")
    order = paid_order(listing=listing)
    buyer = order.buyer
    deposit_post(
        user=buyer,
        asset="USD",
        amount=4_900,
        source_kind=AccountKind.EXTERNAL_STRIPE,
        idempotency_key="stripe:pi:pi_abc",
        memo="Card payment order (pi_abc)",
        prepaid_bonus_applies=False,
        reference=order.reference,
    )
    wallet = user_account_get_or_create(user=buyer, kind=AccountKind.WALLET, asset="USD")
    escrow_hold(reference=order.reference, creator=listing.creator, source_account=wallet, amount=4_900)
    client.force_login(buyer)
    html = client.get(URL).content.decode()
    assert _rows(html) == 1
    assert f'<strong>Purchase</strong> · <a href="/orders/{order.pk}/">Sonnet Summariser</a>' in html
    assert "Paid by card: $49.00" in html
    # The Stripe id and the ledger reference are there, inside the row's details disclosure.
    details = html[
        html.index('<details class="history-details') : html.index(
            "</details>", html.index("history-details")
        )
    ]
    assert "pi_abc" in details
    assert order.reference in details
    assert html.count("pi_abc") == 1


def test_agr_amounts_are_rounded_for_reading_with_the_exact_amount_in_a_title(client, user):
    funded_wallet(user=user, amount=agr(1_561) + 240_034_722_222_222_222, asset="AGR")
    client.force_login(user)
    html = client.get(URL).content.decode()
    assert 'title="1,561.240034722222222222 AGR">1,561.24 AGR</span>' in html
    assert 'title="+1,561.240034722222222222 AGR">+1,561.24 AGR</span>' in html
