"""Topping up prepaid credit in Chromium, by card and in AGR, through to the wallet balance.

Card: the page loads Stripe.js exactly as shipped (localstripe's stand-in, nothing injected or
rewritten) and the buyer types the test card the page names into its element. pay.js saves the card
(confirmCardSetup), the server charges it, and a card that asks for 3-D Secure is authenticated in
the stand-in's own dialog. localstripe also signs and delivers `payment_intent.succeeded` to the
live server's webhook (registered with `POST /_config/webhooks/<name>`); the pay step has already
applied the outcome, so the webhook is processed and credits nothing twice.

AGR: an injected EIP-1193 wallet whose `eth_sendTransaction` is forwarded to Python, which signs the
exact transaction the page asked for with the buyer's key and sends it to the in-process EVM (a
browser cannot reach that chain itself). The page then submits the hash to the real API.
"""

from __future__ import annotations

import contextlib
import re
import time

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from tests.accounts.factories import UserFactory
from tests.tokenomics.chain.conftest import DEV_CHAIN_ID, chain, link, new_key, use_tester_chain  # noqa: F401
from tests.tokenomics.stripe.conftest import (  # noqa: F401
    SECRET_NEW,
    WEBHOOK_PATH,
    _stripe_is_localstripe,
    localstripe,
)
from tokenomics.chain_client import address_of
from tokenomics.models import LedgerTransaction, Payment, StripeEvent
from tokenomics.money import agr

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

PASSWORD = "correct-horse-battery-staple-42"
WEBHOOK_NAME = "agora-e2e-top-up"
POLL_TIMEOUT = 30_000  # ms: localstripe waits 1s before a delivery, the page polls every 2s

PROVIDER_JS = """
window.ethereum = {
  request: async ({ method, params }) => {
    const answer = await window.__wallet(method, params || []);
    if (answer && answer.error) { const e = new Error(answer.error); e.code = 4001; throw e; }
    return answer.result;
  },
};
"""


def _log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("link", name="API keys")).to_be_visible()


def _choose(page: Page, base: str, rail_label: str, amount: str) -> None:
    page.goto(f"{base}/wallet/")
    page.get_by_role("link", name="Top up", exact=True).click()
    page.get_by_label(rail_label).check()
    page.get_by_label("Amount").fill(amount)
    page.get_by_role("button", name="Review top-up").click()


@contextlib.contextmanager
def _webhooks_to(localstripe, url: str):  # noqa: F811
    localstripe.register_webhook(
        WEBHOOK_NAME, url, SECRET_NEW, events=["payment_intent.succeeded", "payment_intent.payment_failed"]
    )
    try:
        yield
    finally:
        # localstripe cannot delete a webhook: narrow this one to an event that never happens, so
        # later tests in the session are not delivered to this live server.
        localstripe.register_webhook(WEBHOOK_NAME, url, SECRET_NEW, events=["agora.test.never"])


TEST_CARD = {
    "number": "4242424242424242",
    "exp_month": "12",
    "exp_year": "34",
    "cvc": "123",
    "postal_code": "10001",
}
DECLINED_CARD = "4000000000000341"  # saved, then the charge is declined
AUTHENTICATED_CARD = "4000002500003155"  # 3-D Secure when saved and when charged


def fill_card(page: Page, number: str = TEST_CARD["number"]) -> None:
    """Type a card into the stand-in's element, field by field, as a person would."""
    card = page.locator("#card-element")
    for field, value in (TEST_CARD | {"number": number}).items():
        card.locator(f'input[placeholder="{field}"]').fill(value)


def wait_for_event(event_type: str, object_id: str) -> StripeEvent:
    """localstripe delivers a second or so after the charge; wait (bounded) for it to be processed."""
    deadline = time.monotonic() + POLL_TIMEOUT / 1000
    while True:
        event = StripeEvent.objects.filter(type=event_type, object_id=object_id).first()
        if event is not None and event.status != StripeEvent.Status.RECEIVED:
            return event
        assert time.monotonic() < deadline, f"no {event_type} for {object_id} arrived"
        time.sleep(0.2)


def _stripe_js(settings, localstripe) -> None:  # noqa: F811
    settings.STRIPE_JS_URL = f"{localstripe.url}/js.stripe.com/v3/"


def test_top_up_25_dollars_by_card(page: Page, live_server, localstripe, settings):  # noqa: F811
    _stripe_js(settings, localstripe)
    user = UserFactory(password=PASSWORD)

    with _webhooks_to(localstripe, live_server.url + WEBHOOK_PATH):
        _log_in(page, live_server.url, user.email)
        _choose(page, live_server.url, "Card (US dollars)", "25.00")
        expect(page.locator("#summary-amount")).to_have_text("$25.00 by card")
        expect(page.locator("#summary-total")).to_have_text("$27.50")
        assert not Payment.objects.exists()  # the review moves no money
        page.get_by_role("button", name="Continue to payment").click()

        # Test mode says which card to use; the stand-in's Stripe.js is what the page loaded.
        expect(page.locator("#card-test-mode")).to_contain_text("4242 4242 4242 4242")
        # Mounting the card element is asynchronous: wait for it rather than read it at once.
        expect(page.locator("#card-element")).to_have_text(re.compile(r"^localstripe"))
        fill_card(page)
        page.get_by_role("button", name="Pay $25.00").click()
        expect(page.locator("#pay-status")).to_have_text(
            "Payment accepted. Your wallet is credited as soon as Stripe confirms it."
        )
        expect(page.locator("#top-up-done")).to_contain_text(
            "your wallet was credited $27.50", timeout=POLL_TIMEOUT
        )
        payment = Payment.objects.get()
        # localstripe's signed webhook arrives after the pay step applied the charge: processed,
        # and the charge is credited once.
        event = wait_for_event("payment_intent.succeeded", str(payment.stripe_payment_intent_id))
        assert event.status == StripeEvent.Status.PROCESSED

    payment.refresh_from_db()
    assert (payment.status, payment.received_amount) == ("succeeded", 2500)
    assert LedgerTransaction.objects.filter(idempotency_key__startswith="stripe:pi:").count() == 1

    page.get_by_role("link", name="Back to your wallet", exact=True).click()
    expect(page.locator('.balance-amount[data-asset="USD"]')).to_have_text("$27.50")
    call_command("ledger_check")


def test_a_declined_card_says_why_and_another_card_pays(page: Page, live_server, localstripe, settings):  # noqa: F811
    _stripe_js(settings, localstripe)
    user = UserFactory(password=PASSWORD)
    _log_in(page, live_server.url, user.email)
    _choose(page, live_server.url, "Card (US dollars)", "10.00")
    page.get_by_role("button", name="Continue to payment").click()

    fill_card(page, DECLINED_CARD)
    page.get_by_role("button", name="Pay $10.00").click()
    expect(page.locator("#pay-status")).to_contain_text("Your card was declined")
    expect(page.locator("#pay-status")).to_have_class("alert alert-error")
    assert Payment.objects.get().received_amount == 0
    assert not LedgerTransaction.objects.filter(idempotency_key__startswith="stripe:pi:").exists()

    # The form stays usable: the test card pays the same top-up.
    fill_card(page)
    page.get_by_role("button", name="Pay $10.00").click()
    expect(page.locator("#top-up-done")).to_contain_text(
        "your wallet was credited $11.00", timeout=POLL_TIMEOUT
    )
    assert Payment.objects.get().received_amount == 1000
    call_command("ledger_check")


def test_a_card_that_asks_for_3d_secure_is_authenticated_in_the_dialog(
    page: Page,
    live_server,
    localstripe,  # noqa: F811
    settings,
):
    _stripe_js(settings, localstripe)
    user = UserFactory(password=PASSWORD)
    _log_in(page, live_server.url, user.email)
    _choose(page, live_server.url, "Card (US dollars)", "10.00")
    page.get_by_role("button", name="Continue to payment").click()

    fill_card(page, AUTHENTICATED_CARD)
    with _webhooks_to(localstripe, live_server.url + WEBHOOK_PATH):
        page.get_by_role("button", name="Pay $10.00").click()
        # The stand-in's 3-D Secure dialog, once to save the card and once for the charge; the
        # charge completes at Stripe after the authentication, so its webhook tells Agora.
        page.get_by_role("button", name="Complete authentication").click()
        page.get_by_role("button", name="Complete authentication").click()
        expect(page.locator("#top-up-done")).to_contain_text(
            "your wallet was credited $11.00", timeout=POLL_TIMEOUT
        )
    call_command("ledger_check")


def _install_wallet(page: Page, key: str, chain_id: int, client, sent: list[dict[str, str]]) -> None:
    address = address_of(key)

    def wallet(method: str, params: list) -> dict:
        if method in ("eth_requestAccounts", "eth_accounts"):
            return {"result": [address.lower()]}
        if method == "eth_chainId":
            return {"result": hex(chain_id)}
        if method == "eth_sendTransaction":
            tx = params[0]
            if tx["from"].lower() != address.lower():
                return {"error": "unknown sender"}
            sent.append(tx)
            tx_hash = client.transact(
                private_key=key, to=tx["to"], data=tx["data"], value=int(tx["value"], 16)
            )
            client.receipt_wait(tx_hash)
            return {"result": tx_hash}
        return {"error": f"unsupported method {method}"}

    page.expose_function("__wallet", wallet)
    page.add_init_script(PROVIDER_JS)


def test_top_up_100_agr_from_a_linked_wallet(page: Page, live_server, chain, new_key, settings):  # noqa: F811
    use_tester_chain(settings, chain.token)
    user = UserFactory(password=PASSWORD)
    key = new_key(agr(1_000))
    link(user, key)
    sent: list[dict[str, str]] = []
    _install_wallet(page, key, DEV_CHAIN_ID, chain.client, sent)
    deposit_before = chain.client.erc20_balance(token=chain.token, address=chain.deposit)

    _log_in(page, live_server.url, user.email)
    _choose(page, live_server.url, "AGR token (from your linked wallet)", "100")
    expect(page.locator("#summary-total")).to_have_text("110 AGR")
    page.get_by_role("button", name="Continue to payment").click()
    expect(page.locator("#agr-amount")).to_have_text("100 AGR")
    page.get_by_role("button", name="Pay with wallet").click()
    expect(page.locator("#pay-status")).to_have_text("Payment received and verified on chain.")
    expect(page.locator("#top-up-done")).to_contain_text("your wallet was credited 110 AGR")

    assert [tx["to"].lower() for tx in sent] == [chain.token.lower()]
    assert chain.client.erc20_balance(token=chain.token, address=chain.deposit) - deposit_before == agr(100)
    page.get_by_role("link", name="Back to your wallet", exact=True).click()
    expect(page.locator('.balance-amount[data-asset="AGR"]')).to_have_text("110 AGR")
    call_command("ledger_check")


def test_wallet_on_the_wrong_chain_sends_nothing(page: Page, live_server, chain, new_key, settings):  # noqa: F811
    use_tester_chain(settings, chain.token)
    user = UserFactory(password=PASSWORD)
    key = new_key(agr(10))
    link(user, key)
    sent: list[dict[str, str]] = []
    _install_wallet(page, key, 1, chain.client, sent)

    _log_in(page, live_server.url, user.email)
    _choose(page, live_server.url, "AGR token (from your linked wallet)", "5")
    page.get_by_role("button", name="Continue to payment").click()
    page.get_by_role("button", name="Pay with wallet").click()
    expect(page.locator("#pay-status")).to_have_text(
        f"Your wallet is on chain 1. Switch it to chain {DEV_CHAIN_ID} and try again."
    )
    expect(page.locator("#pay-status")).to_have_class("alert alert-error")
    assert sent == []
    assert Payment.objects.get().status == "awaiting_payment"
