"""Buying a model in Chromium: checkout (htmx review), the order page's card form or browser
wallet, the live status, and the license key once paid.

The parts outside Agora are played exactly as in tests/e2e/test_top_up.py (whose helpers this
reuses): localstripe's Stripe.js stand-in as shipped, with the test card typed into its element,
localstripe's own signed webhook delivery to the live server, and an injected EIP-1193 wallet that
signs what the page asks for and sends it to the in-process EVM (a browser cannot reach that chain)."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from marketplace.models import License, Order, OrderStatus
from tests.accounts.factories import UserFactory
from tests.e2e.conftest import _allow_orm_beside_playwright, browser, page  # noqa: F401
from tests.e2e.test_top_up import PASSWORD, POLL_TIMEOUT, _install_wallet, _log_in, _webhooks_to, fill_card
from tests.marketplace.views.test_buyer_order import _media, one_time_plan  # noqa: F401
from tests.tokenomics.chain.conftest import DEV_CHAIN_ID, chain, link, new_key, use_tester_chain  # noqa: F401
from tests.tokenomics.stripe.conftest import WEBHOOK_PATH, _stripe_is_localstripe, localstripe  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def _review(page: Page, base: str, plan_id: int, rail_label: str) -> None:  # noqa: F811
    page.goto(f"{base}/checkout/{plan_id}/")
    page.get_by_label(rail_label).check()
    page.get_by_role("button", name="Review the charge").click()


# localstripe's stand-in, as shipped, hides the DOM's `Element` from htmx, so pay.js follows the
# payment itself until the paid page (which loads no Stripe.js) replaces it.
def test_buy_by_card_then_reveal_the_key(page: Page, live_server, localstripe, settings):  # noqa: F811
    settings.STRIPE_JS_URL = f"{localstripe.url}/js.stripe.com/v3/"
    plan = one_time_plan()
    user = UserFactory(password=PASSWORD)

    with _webhooks_to(localstripe, live_server.url + WEBHOOK_PATH):
        _log_in(page, live_server.url, user.email)
        _review(page, live_server.url, plan.pk, "Card (US dollars)")
        expect(page.locator("#quote-total")).to_have_text("$49.00 by card")
        assert "/review/" not in page.url  # swapped in by htmx
        assert not Order.objects.exists()
        page.get_by_role("button", name="Confirm and pay $49.00").click()

        order = Order.objects.get()
        expect(page).to_have_url(f"{live_server.url}/orders/{order.pk}/")
        fill_card(page)
        page.get_by_role("button", name="Pay $49.00").click()
        # Paid: the status poll reloads the page, which shows the license instead of the card form.
        expect(page.locator("#license-panel")).to_be_visible(timeout=POLL_TIMEOUT)
        expect(page.locator("#card-element")).to_have_count(0)

    order.refresh_from_db()
    assert order.status == OrderStatus.IN_ESCROW
    page.get_by_role("button", name="Reveal license key").click()
    key = page.locator("#license-key-value")
    expect(key).to_have_text(re.compile(r"^agl_"))
    expect(page.locator("#key-warning")).to_contain_text("It is shown only this once")
    assert License.objects.get(order=order).key_prefix == key.text_content()[:12]
    page.reload()
    expect(page.locator("#license-key-value")).to_have_count(0)
    expect(page.locator("#license-key-prefix")).to_be_visible()
    call_command("ledger_check")


def test_buy_in_agr_from_a_linked_wallet(page: Page, live_server, chain, new_key, settings):  # noqa: F811
    use_tester_chain(settings, chain.token)
    plan = one_time_plan()
    user = UserFactory(password=PASSWORD)
    key = new_key()
    link(user, key)
    sent: list[dict[str, str]] = []
    _install_wallet(page, key, DEV_CHAIN_ID, chain.client, sent)

    _log_in(page, live_server.url, user.email)
    _review(page, live_server.url, plan.pk, "AGR token (from your linked wallet)")
    expect(page.locator("#quote-agr-discount")).to_contain_text("(paying in AGR)")
    page.get_by_role("button", name=re.compile("^Confirm and pay")).click()
    order = Order.objects.get()
    expect(page).to_have_url(f"{live_server.url}/orders/{order.pk}/")
    page.get_by_role("button", name="Pay with wallet").click()
    expect(page.locator("#license-panel")).to_be_visible(timeout=POLL_TIMEOUT)
    expect(page.locator("#messages")).to_contain_text("Your AGR transfer is verified and credited.")

    assert [tx["to"].lower() for tx in sent] == [chain.token.lower()]
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_ESCROW
    call_command("ledger_check")
