"""The payouts panel: it renders on its own from `{% payouts_panel request.user %}`, its form
quotes amount, fee and net before anything moves, and Confirm pays once and swaps in the updated
panel (balances and history)."""

from __future__ import annotations

import re

import pytest
from django.template import engines
from django.test import RequestFactory

from tests.accounts.factories import UserFactory
from tests.tokenomics.payout_factories import balance_of, funded_payable
from tokenomics.models import Payout
from tokenomics.models.ledger import AccountKind
from tokenomics.services.staking import kyc_verify

pytestmark = pytest.mark.django_db

QUOTE_URL = "/payouts/quote/"
CREATE_URL = "/payouts/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def _render_include(user) -> str:
    request = RequestFactory().get("/creator/")
    request.user = user
    template = engines["django"].from_string('{% include "tokenomics/_payouts.html" %}')
    return template.render({"request": request}, request)


def _confirm_values(client, amount: str, **extra: str) -> dict[str, str]:
    """The hidden fields of the Confirm button after quoting `amount` US dollars."""
    html = client.post(QUOTE_URL, {"account": "creator", "asset": "USD", "amount": amount}, **extra)
    return _hidden(html.content.decode())


def _hidden(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', html))


def test_the_include_renders_standalone_with_balances_and_empty_history(user) -> None:
    funded_payable(user=user, amount=123_456)
    html = _render_include(user)
    assert 'id="payouts-panel"' in html
    assert '<dd data-payable="creator-USD">$1,234.56</dd>' in html
    assert 'hx-post="/payouts/quote/"' in html
    assert "No payouts yet." in html
    assert "1.5%" in html  # the instant-withdrawal fee, from the registry
    assert "$600.00" in html  # the review threshold


def test_the_include_is_empty_for_an_anonymous_visitor(db) -> None:
    from django.contrib.auth.models import AnonymousUser

    assert _render_include(AnonymousUser()).strip() == ""


def test_anonymous_cannot_quote_or_create(client) -> None:
    assert client.post(QUOTE_URL, {}).status_code == 302
    assert client.post(CREATE_URL, {}).status_code == 302


def test_quote_shows_amount_fee_and_net_and_moves_nothing(client, user) -> None:
    funded_payable(user=user, amount=50_000)
    client.force_login(user)
    response = client.post(QUOTE_URL, {"account": "creator", "asset": "USD", "amount": "200.01"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<dd id="quote-amount">$200.01</dd>' in html
    assert '<dd id="quote-fee">$3.00</dd>' in html  # 150 bps of 20,001 cents = 300.015 -> 300
    assert '<dd id="quote-net"><strong>$197.01</strong></dd>' in html
    assert 'hx-post="/payouts/"' in html
    hidden = _hidden(html)
    assert hidden["amount"] == "200.01"
    assert re.fullmatch(r"[0-9a-f]{32}", hidden["reference"])
    assert Payout.objects.count() == 0
    assert balance_of(user, AccountKind.CREATOR_PAYABLE) == 50_000


def test_quote_shows_the_rules_next_to_the_form(client, user) -> None:
    funded_payable(user=user, amount=5_000)
    client.force_login(user)
    below = client.post(QUOTE_URL, {"account": "creator", "asset": "USD", "amount": "9.99"}, **HTMX)
    assert below.status_code == 200  # htmx swaps only 2xx: the form comes back with its error
    assert "The smallest payout is $10.00." in below.content.decode()
    above = client.post(QUOTE_URL, {"account": "creator", "asset": "USD", "amount": "50.01"})
    assert above.status_code == 400
    assert "The payable balance is lower than this payout." in above.content.decode()
    typo = client.post(QUOTE_URL, {"account": "creator", "asset": "USD", "amount": "ten"}, **HTMX)
    assert "Enter a number of US dollars" in typo.content.decode()


def test_quote_above_the_threshold_says_staff_check_it(client, user) -> None:
    funded_payable(user=user, amount=100_000)
    kyc_verify(user=user, staff_user=UserFactory(is_staff=True))
    client.force_login(user)
    html = client.post(QUOTE_URL, {"account": "creator", "asset": "USD", "amount": "600.01"}, **HTMX)
    assert 'id="quote-review"' in html.content.decode()
    assert 'id="payout-confirm"' in html.content.decode()
    assert 'id="payout-kyc-required"' not in html.content.decode()


KYC_MESSAGE = (
    "Payouts above $600.00 are sent only once our staff have verified your identity, and yours is "
    "not verified yet."
)


def test_quote_above_the_threshold_without_kyc_explains_it_and_offers_no_confirm(client, user) -> None:
    funded_payable(user=user, amount=100_000)
    client.force_login(user)
    html = client.post(
        QUOTE_URL, {"account": "creator", "asset": "USD", "amount": "600.01"}, **HTMX
    ).content.decode()
    assert 'id="payout-kyc-required"' in html
    assert KYC_MESSAGE in html
    assert 'id="payout-confirm"' not in html
    assert 'id="quote-review"' not in html
    at_threshold = client.post(
        QUOTE_URL, {"account": "creator", "asset": "USD", "amount": "600.00"}, **HTMX
    ).content.decode()
    assert 'id="payout-kyc-required"' not in at_threshold  # not above: no check needed
    assert 'id="payout-confirm"' in at_threshold


def test_confirm_refused_with_kyc_required_shows_the_message_next_to_the_form(client, user) -> None:
    """Confirm pressed for a large payout without KYC (a stale quote, or a form posted by hand):
    refused by the service with kyc_required; the panel says why next to the form, not as a
    generic error, and nothing moves."""
    funded_payable(user=user, amount=100_000)
    client.force_login(user)
    confirm = {"account": "creator", "asset": "USD", "amount": "700", "to_address": "", "reference": "a" * 32}
    response = client.post(CREATE_URL, confirm, **HTMX)
    assert response.status_code == 200  # htmx swaps only 2xx
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="payouts-panel"')
    assert 'id="payout-kyc-required"' in html
    assert 'role="alert"' in html
    assert KYC_MESSAGE in html
    assert 'aria-describedby="payout-kyc-required"' in html  # the form points at it
    assert 'class="errorlist nonfield"' not in html  # not a generic form error
    assert Payout.objects.count() == 0
    assert balance_of(user, AccountKind.CREATOR_PAYABLE) == 100_000
    plain = client.post(CREATE_URL, confirm)  # without htmx: the API's status, 403
    assert plain.status_code == 403
    assert KYC_MESSAGE in plain.content.decode()

    # Once staff verify the person, the same Confirm is accepted (and held for review).
    kyc_verify(user=user, staff_user=UserFactory(is_staff=True))
    html = client.post(CREATE_URL, confirm, **HTMX).content.decode()
    assert 'id="payout-kyc-required"' not in html
    assert Payout.objects.get().status == Payout.Status.NEEDS_REVIEW


def test_confirm_pays_once_and_swaps_in_the_updated_panel(client, user) -> None:
    funded_payable(user=user, amount=50_000)
    client.force_login(user)
    quote = client.post(QUOTE_URL, {"account": "creator", "asset": "USD", "amount": "200"}, **HTMX)
    confirm = _hidden(quote.content.decode())
    response = client.post(CREATE_URL, confirm, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="payouts-panel"')
    assert 'id="payout-notice"' in html
    assert "$197.00 will be paid to you through Stripe" in html
    assert '<dd data-payable="creator-USD">$300.00</dd>' in html
    assert 'id="payout-table"' in html
    assert "Processing" in html
    payout = Payout.objects.get()
    assert (payout.amount, payout.fee, payout.net, payout.instant) == (20_000, 300, 19_700, True)
    # A second press of the same Confirm button is the same payout.
    client.post(CREATE_URL, confirm, **HTMX)
    assert Payout.objects.count() == 1
    assert balance_of(user, AccountKind.CREATOR_PAYABLE) == 30_000


def test_confirm_without_a_quote_or_with_a_changed_balance_shows_the_error(client, user) -> None:
    funded_payable(user=user, amount=5_000)
    client.force_login(user)
    unquoted = client.post(CREATE_URL, {"account": "creator", "asset": "USD", "amount": "50"}, **HTMX)
    assert "Review the payout first." in unquoted.content.decode()
    confirm = _hidden(
        client.post(
            QUOTE_URL, {"account": "creator", "asset": "USD", "amount": "50"}, **HTMX
        ).content.decode()
    )
    client.post(CREATE_URL, confirm | {"reference": "0" * 32}, **HTMX)  # another tab spends it
    html = client.post(CREATE_URL, confirm, **HTMX).content.decode()
    assert "The payable balance is lower than this payout." in html
    assert Payout.objects.count() == 1


def test_without_htmx_confirm_goes_back_to_the_page(client, user) -> None:
    funded_payable(user=user, amount=5_000)
    client.force_login(user)
    confirm = _hidden(
        client.post(QUOTE_URL, {"account": "creator", "asset": "USD", "amount": "20"}).content.decode()
    )
    response = client.post(CREATE_URL, confirm, HTTP_REFERER="http://testserver/creator/")
    assert response.status_code == 302
    assert response["Location"] == "http://testserver/creator/"
    elsewhere = client.post(
        CREATE_URL, confirm | {"reference": "1" * 32}, HTTP_REFERER="https://evil.example/"
    )
    assert elsewhere["Location"] == "/wallet/"


def test_change_brings_back_the_empty_form(client, user) -> None:
    client.force_login(user)
    html = client.get(QUOTE_URL, **HTMX).content.decode()
    assert html.lstrip().startswith('<div id="payout-form">')
    assert 'name="amount"' in html


def test_agr_quote_explains_a_foreign_address_and_a_cooling_wallet(client, user) -> None:
    """Issue 13 item 2 in the panel: the refusal is next to the address field, with the time the
    wallet becomes usable, and the panel lists the wallets that can receive payouts."""
    from datetime import timedelta

    from tests.tokenomics.payout_factories import payout_wallet
    from tokenomics.money import agr

    funded_payable(user=user, amount=agr(1_000), asset="AGR")
    client.force_login(user)
    stranger = "0x" + "ef" * 20
    body = {"account": "creator", "asset": "AGR", "amount": "200", "to_address": stranger}
    html = client.post(QUOTE_URL, body, **HTMX).content.decode()
    assert "AGR payouts go only to a wallet linked to your account." in html
    assert 'id="payout-confirm"' not in html

    wallet = payout_wallet(user=user, address="0x" + "ab" * 20, linked_ago=timedelta(hours=1))
    body["to_address"] = wallet.address
    html = client.post(QUOTE_URL, body, **HTMX).content.decode()
    usable_at = wallet.created_at + timedelta(days=2)
    assert f"can receive payouts from {usable_at:%Y-%m-%d %H:%M} UTC" in html
    assert 'id="payout-confirm"' not in html
    panel = _render_include(user)
    assert wallet.address in panel
    assert "receives payouts from" in panel

    wallet.created_at -= timedelta(days=2)
    wallet.save(update_fields=["created_at"])
    html = client.post(QUOTE_URL, body, **HTMX).content.decode()
    assert 'id="payout-confirm"' in html
    assert wallet.address in html
    assert Payout.objects.count() == 0
