"""Topping up prepaid credit in Chromium, by card and in AGR, through to the wallet balance.

Card: the page loads localstripe's stand-in for Stripe.js and its card element; the buyer types test
card 4242 4242 4242 4242. localstripe's stand-in `confirmCardPayment` only completes a 3-D Secure
step (it ignores the card element), so an init script gives it what real Stripe.js does at Stripe:
the card typed into the element is sent to the Python side, which creates the PaymentMethod at
localstripe, attaches it to the PaymentIntent (checked against the client secret) and confirms it,
exactly as the stripe tests' `LocalStripe.pay` plays the customer's browser. Everything after that
is real: localstripe signs and delivers `payment_intent.succeeded` to the live server's webhook
(registered with `POST /_config/webhooks/<name>`), the event is processed, the page's htmx status
block notices, and the wallet shows the credit with the 10% prepaid bonus.

AGR: an injected EIP-1193 wallet whose `eth_sendTransaction` is forwarded to Python, which signs the
exact transaction the page asked for with the buyer's key and sends it to the in-process EVM (a
browser cannot reach that chain itself). The page then submits the hash to the real API.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import pytest
import stripe
from django.core.management import call_command
from playwright.sync_api import Page, Route, expect

from tests.accounts.factories import UserFactory
from tests.tokenomics.chain.conftest import DEV_CHAIN_ID, chain, link, new_key, use_tester_chain  # noqa: F401
from tests.tokenomics.stripe.conftest import (  # noqa: F401
    SECRET_NEW,
    WEBHOOK_PATH,
    _stripe_is_localstripe,
    localstripe,
)
from tokenomics.chain_client import address_of
from tokenomics.models import Payment, StripeEvent
from tokenomics.money import agr

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

PASSWORD = "correct-horse-battery-staple-42"
WEBHOOK_NAME = "agora-e2e-top-up"
POLL_TIMEOUT = 30_000  # ms: localstripe waits 1s before a delivery, the page polls every 2s

# Wraps the stand-in's Stripe() as it is defined, so that confirmCardPayment sends the card typed
# into its element to window.__stripe_confirm (Python playing Stripe's servers).
STRIPE_CONFIRM_JS = """
(() => {
  let standIn;
  Object.defineProperty(window, "Stripe", {
    configurable: true,
    get() { return standIn && wrap; },
    set(value) { standIn = value; },
  });
  function wrap(key) {
    const stripe = standIn(key);
    const authenticate = stripe.confirmCardPayment;
    stripe.confirmCardPayment = async (clientSecret, data) => {
      const element = data && data.payment_method && data.payment_method.card;
      const card = (element && element.value && element.value.card) || {};
      const answer = await window.__stripe_confirm(clientSecret, card);
      if (answer.status === "requires_action") return authenticate(clientSecret, data);
      if (answer.error) return { error: answer.error };
      return { paymentIntent: answer.paymentIntent };
    };
    return stripe;
  }
})();
"""

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


def _stripe_side(localstripe) -> Any:  # noqa: F811
    def confirm(client_secret: str, card: dict[str, str]) -> dict[str, Any]:
        intent_id = client_secret.split("_secret_", 1)[0]
        if localstripe.intent(intent_id)["client_secret"] != client_secret:
            return {"error": {"message": "Unknown client secret."}}
        method = localstripe.client.v1.payment_methods.create(
            params={
                "type": "card",
                "card": {
                    "number": card.get("number", ""),
                    "exp_month": int(card.get("exp_month") or 0),
                    "exp_year": int(card.get("exp_year") or 0),
                    "cvc": card.get("cvc", ""),
                },
            }
        )
        localstripe.client.v1.payment_intents.update(intent_id, params={"payment_method": method.id})
        try:
            localstripe.client.v1.payment_intents.confirm(intent_id)
        except stripe.CardError as exc:
            return {"error": {"message": exc.user_message or "Your card was declined."}}
        intent = localstripe.intent(intent_id)
        return {"status": intent["status"], "paymentIntent": {"id": intent["id"], "status": intent["status"]}}

    return confirm


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


def _rename_stand_in_element(route: Route) -> None:
    response = route.fetch()
    body = re.sub(r"\b(class|new|instanceof) Element\b", r"\1 LocalstripeCardElement", response.text())
    route.fulfill(response=response, body=body)


# localstripe's stand-in declares a global `class Element`, which hides the DOM's Element from
# htmx, so htmx processes nothing on the pay page and pay.js polls the status itself. Real
# Stripe.js declares no such name: with the class renamed, htmx polls the status block.
@pytest.mark.parametrize("htmx_polls", [True, False], ids=["htmx-polls", "stand-in-as-shipped"])
def test_top_up_25_dollars_by_card(page: Page, live_server, localstripe, settings, htmx_polls):  # noqa: F811
    js_url = f"{localstripe.url}/js.stripe.com/v3/"
    settings.STRIPE_JS_URL = js_url
    user = UserFactory(password=PASSWORD)
    page.expose_function("__stripe_confirm", _stripe_side(localstripe))
    page.add_init_script(STRIPE_CONFIRM_JS)
    if htmx_polls:
        page.route(js_url, _rename_stand_in_element)

    with _webhooks_to(localstripe, live_server.url + WEBHOOK_PATH):
        _log_in(page, live_server.url, user.email)
        _choose(page, live_server.url, "Card (US dollars)", "25.00")
        expect(page.locator("#summary-amount")).to_have_text("$25.00 by card")
        expect(page.locator("#summary-total")).to_have_text("$27.50")
        assert not Payment.objects.exists()  # the review moves no money
        page.get_by_role("button", name="Continue to payment").click()

        card = page.locator("#card-element")
        card.locator('input[placeholder="number"]').fill("4242 4242 4242 4242".replace(" ", ""))
        card.locator('input[placeholder="exp_month"]').fill("12")
        card.locator('input[placeholder="exp_year"]').fill("34")
        card.locator('input[placeholder="cvc"]').fill("123")
        card.locator('input[placeholder="postal_code"]').fill("10001")
        assert page.evaluate("Element === window.Element") is htmx_polls
        assert page.evaluate("'htmx-internal-data' in document.getElementById('top-up-status')") is htmx_polls
        page.get_by_role("button", name="Pay $25.00").click()
        expect(page.locator("#pay-status")).to_have_text(
            "Payment accepted. Your wallet is credited as soon as Stripe confirms it."
        )
        expect(page.locator("#top-up-done")).to_contain_text(
            "your wallet was credited $27.50", timeout=POLL_TIMEOUT
        )

    payment = Payment.objects.get()
    assert (payment.status, payment.received_amount) == ("succeeded", 2500)
    # Credited by localstripe's signed webhook delivery, not by a reconciliation.
    event = StripeEvent.objects.get(
        type="payment_intent.succeeded", object_id=payment.stripe_payment_intent_id
    )
    assert event.status == StripeEvent.Status.PROCESSED

    page.get_by_role("link", name="Back to your wallet", exact=True).click()
    expect(page.locator('.balance-amount[data-asset="USD"]')).to_have_text("$27.50")
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
