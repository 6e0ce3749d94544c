"""The order page: paying (card through localstripe, AGR on the in-process EVM), the live status,
then the license (key shown once, downloads streamed and counted), refunds, disputes and
subscriptions, and every route's 404 for another user's objects.

Nothing is mocked: orders are made by the real services (card orders create their PaymentIntent at
a real localstripe), money arrives the way the rails deliver it, and the ledger must verify at the
end of every money scenario."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import User
from marketplace.artefacts import encrypt_to_storage
from marketplace.models import (
    Dispute,
    License,
    ListingVersion,
    Order,
    OrderStatus,
    Plan,
    PlanKind,
    Subscription,
    SubscriptionStatus,
)
from marketplace.services.orders import order_create
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import ListingFactory, PlanFactory, VersionFactory
from tests.tokenomics.chain.conftest import chain, link, new_key, pay, use_tester_chain  # noqa: F401
from tests.tokenomics.stripe.conftest import _stripe_is_localstripe, localstripe  # noqa: F401
from tokenomics.models import ChainTransfer, Payment
from tokenomics.models.rails import PaymentRefund
from tokenomics.selectors.ledger import ledger_verify
from tokenomics.services.payments import payment_credit
from tokenomics.services.stripe_events import stripe_reconcile

pytestmark = pytest.mark.django_db

ARTEFACT = bytes(range(256)) * 20 + b"the end"  # 5,127 bytes: several chunks of CHUNK below
CHUNK = 1024


# ----------------------------------------------------------------------------- helpers


def assert_ledger_balances() -> None:
    report = ledger_verify()
    assert report.ok, f"ledger invariants broken: {report}"


def version_with_artefact(
    *, listing: Any = None, data: bytes = ARTEFACT, name: str = "model.onnx"
) -> ListingVersion:
    """A version whose artefact is encrypted at rest exactly as an upload stores it."""
    version = VersionFactory(**({"listing": listing} if listing is not None else {}))
    sealed = encrypt_to_storage(source=ContentFile(data, name=name), name=name, chunk_size=CHUNK)
    version.artefact.name = sealed.path
    version.wrapped_key = sealed.wrapped_key
    version.artefact_name = sealed.name
    version.artefact_size = sealed.size
    version.checksum_sha256 = sealed.sha256
    version.save()
    return version


def one_time_plan(**extra: Any) -> Plan:
    """A $49.00 one-time plan, 5 downloads, on a listing with a downloadable version."""
    plan = PlanFactory(download_limit=5, **extra)
    version_with_artefact(listing=plan.listing)
    return plan


def subscription_plan(price_cents: int = 3_000, quota: int | None = 1_000) -> Plan:
    plan = PlanFactory(
        kind=PlanKind.SUBSCRIPTION, name="Pro", price_cents=price_cents, interval="month", monthly_quota=quota
    )
    version_with_artefact(listing=plan.listing)
    return plan


def card_order(buyer: User, plan: Plan, **extra: Any) -> Order:
    """A card order awaiting payment (its PaymentIntent exists at localstripe)."""
    return order_create(buyer=buyer, plan_id=plan.pk, rail="card", **extra).order


def credit_arrival(order: Order) -> Order:
    """Make the order paid without the network: payment_credit is exactly what a rail calls when the
    money arrives (Stripe's webhook / reconciliation, or a verified AGR transfer)."""
    assert order.payment_id is not None
    payment_credit(payment_id=order.payment_id, amount=int(order.total), idempotency_key=f"test-{order.pk}")
    order.refresh_from_db()
    return order


def card_paid(localstripe: Any, order: Order) -> Order:  # noqa: F811
    """The buyer pays with the test card at localstripe; reconciliation tells Agora (as the webhook
    would)."""
    payment = Payment.objects.get(pk=order.payment_id)
    assert localstripe.pay(payment.stripe_payment_intent_id)["status"] == "succeeded"
    stripe_reconcile()
    order.refresh_from_db()
    return order


def order_url(order: Order, suffix: str = "") -> str:
    return f"/orders/{order.pk}/{suffix}"


def page(response: Any) -> str:
    return response.content.decode()


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def buyer(client: Any) -> User:
    user = UserFactory()
    client.force_login(user)
    return user


# ----------------------------------------------------------------------------- paying


def test_anonymous_is_sent_to_log_in(client):
    response = client.get("/orders/1/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_card_order_page_shows_the_amounts_and_the_card_form(client, buyer, localstripe, settings):  # noqa: F811
    settings.STRIPE_JS_URL = f"{localstripe.url}/js.stripe.com/v3/"
    order = card_order(buyer, one_time_plan())
    html = page(client.get(order_url(order)))
    html = page(client.get(order_url(order)))  # reload-safe: the same intent, not a second one
    payment = Payment.objects.get(pk=order.payment_id)
    intents = localstripe.intents_for(payment.reference)
    assert len(intents) == 1
    # The card form saves and charges through our endpoints; the page carries no secret.
    assert f'data-confirm-url="/payments/{payment.pk}/card/confirm/"' in html
    assert "_secret_" not in html
    assert f'<script src="{localstripe.url}/js.stripe.com/v3/"></script>' in html
    assert '<dd id="order-list">$49.00</dd>' in html
    assert "<strong>$49.00</strong> by card" in html
    assert "Pay $49.00" in html
    assert 'hx-trigger="every 2s"' in html
    assert f'action="/orders/{order.pk}/cancel/"' in html
    assert_ledger_balances()


def test_reading_the_order_pages_calls_no_stripe_api(client, buyer, localstripe, settings):  # noqa: F811
    """A GET answers from the database alone: with Stripe unreachable the order page, its status
    partial and the library still render the pay step, and no second PaymentIntent is made."""
    order = card_order(buyer, one_time_plan())
    payment = Payment.objects.get(pk=order.payment_id)
    pages = (order_url(order), order_url(order, "status/"), "/library/")
    for url in pages:  # Stripe reachable: a GET that created an intent would leave a second one
        assert client.get(url).status_code == 200, url
    assert len(localstripe.intents_for(payment.reference)) == 1
    real_base = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # discard port: a call to Stripe would fail
    for url in pages:
        assert client.get(url).status_code == 200, url
    assert f'data-confirm-url="/payments/{payment.pk}/card/confirm/"' in page(client.get(order_url(order)))
    settings.STRIPE_API_BASE = real_base
    assert len(localstripe.intents_for(payment.reference)) == 1
    assert Payment.objects.count() == 1


def test_status_stops_polling_once_paid(client, buyer, localstripe):  # noqa: F811
    order = card_order(buyer, one_time_plan())
    status = order_url(order, "status/")
    html = page(client.get(status))
    assert 'hx-trigger="every 2s"' in html
    assert "Waiting for your payment." in html

    credit_arrival(order)  # what the card rail does on arrival (see credit_arrival)
    response = client.get(status, HTTP_HX_REQUEST="true")
    assert "hx-trigger" not in page(response)
    assert 'id="order-paid"' in page(response)
    # The poll that sees the payment reloads the page, which then shows what was bought.
    assert response["HX-Refresh"] == "true"
    html = page(client.get(order_url(order)))
    assert "hx-trigger" not in html
    assert 'id="license-panel"' in html
    assert "card-element" not in html
    assert_ledger_balances()


def test_paying_at_localstripe_shows_paid(client, buyer, localstripe):  # noqa: F811
    order = card_paid(localstripe, card_order(buyer, one_time_plan()))
    assert order.status == OrderStatus.IN_ESCROW
    html = page(client.get(order_url(order, "status/")))
    assert "hx-trigger" not in html
    assert "Paid" in html
    assert_ledger_balances()


def test_cancel_while_awaiting(client, buyer, localstripe):  # noqa: F811
    order = card_order(buyer, one_time_plan())
    response = client.post(order_url(order, "cancel/"))
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELED
    html = page(client.get(order_url(order)))
    assert "The order is canceled; nothing was charged." in html
    assert "card-element" not in html
    # A paid order cannot be canceled.
    paid = credit_arrival(card_order(buyer, one_time_plan()))
    client.post(order_url(paid, "cancel/"))
    paid.refresh_from_db()
    assert paid.status == OrderStatus.IN_ESCROW
    assert "Only an order awaiting payment can be canceled." in page(client.get(order_url(paid)))
    assert_ledger_balances()


def test_agr_order_paid_from_a_linked_wallet(client, buyer, chain, new_key, settings):  # noqa: F811
    use_tester_chain(settings, chain.token)
    key = new_key()
    link(buyer, key)
    plan = one_time_plan()
    response = client.post(f"/checkout/{plan.pk}/confirm/", {"rail": "agr"})
    order = Order.objects.get()
    assert response["Location"] == order_url(order)
    html = page(client.get(order_url(order)))
    assert chain.deposit in html
    assert order.reference in html
    assert 'id="pay-agr"' in html
    assert f'action="/orders/{order.pk}/agr-payment/"' in html

    # A hash that is not one: refused next to the form, nothing credited.
    response = client.post(order_url(order, "agr-payment/"), {"tx_hash": "0x1234"})
    assert response.status_code == 400
    assert "That is not a transaction hash." in page(response)

    tx = pay(chain, key, int(order.total))
    response = client.post(order_url(order, "agr-payment/"), {"tx_hash": tx}, HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == order_url(order)
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_ESCROW
    html = page(client.get(order_url(order)))
    assert "Your AGR transfer is verified and credited." in html
    assert 'id="license-panel"' in html
    assert_ledger_balances()


def test_agr_transfer_from_an_unlinked_wallet_is_explained(client, buyer, chain, new_key, settings):  # noqa: F811
    use_tester_chain(settings, chain.token)
    client.post(f"/checkout/{one_time_plan().pk}/confirm/", {"rail": "agr"})
    order = Order.objects.get()
    tx = pay(chain, new_key(), int(order.total))  # not linked to the buyer
    response = client.post(order_url(order, "agr-payment/"), {"tx_hash": tx}, HTTP_HX_REQUEST="true")
    html = page(response)
    assert 'data-reason="sender_not_linked"' in html
    assert "The transfer was sent from a wallet not linked to the buyer&#x27;s account." in html
    assert "Reason: the AGR came from a wallet that is not linked to your account." in html
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert_ledger_balances()
    # Both beside the hash field (it is the hash that does not pay the order), nothing at the top.
    beside = re.search(r'<ul class="errorlist" id="id_tx_hash_error">(.*?)</ul>', html, re.S)
    assert beside
    assert "The transfer was sent from a wallet not linked to the buyer&#x27;s account." in beside.group(1)
    assert "Reason: the AGR came from a wallet that is not linked to your account." in beside.group(1)
    assert 'class="form-errors"' not in html


def test_a_hash_for_an_order_not_paid_in_agr_is_refused_at_the_top_of_the_form(client, buyer, localstripe):  # noqa: F811
    order = card_order(buyer, one_time_plan())
    response = client.post(
        order_url(order, "agr-payment/"), {"tx_hash": "0x" + "ab" * 32}, HTTP_HX_REQUEST="true"
    )
    html = page(response)
    top = re.search(
        r'<div class="form-errors"[^>]*><ul class="errorlist nonfield">(.*?)</ul></div>', html, re.S
    )
    assert top
    assert "This order is not paid in AGR." in top.group(1)
    assert 'id="agr-error"' not in html
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert not ChainTransfer.objects.exists()


# ----------------------------------------------------------------------------- licenses


def test_license_key_is_shown_once_and_stored_hashed(client, buyer, localstripe):  # noqa: F811
    order = credit_arrival(card_order(buyer, one_time_plan()))
    lic = License.objects.get(order=order)
    html = page(client.get(order_url(order)))
    assert "Reveal license key" in html

    response = client.post(f"/licenses/{lic.pk}/key/", HTTP_HX_REQUEST="true")
    assert response["Cache-Control"] == "no-store"
    html = page(response)
    assert "<html" not in html  # the license panel only
    key = re.search(r'<code id="license-key-value">(agl_[^<]+)</code>', html).group(1)
    assert "It is shown only this once" in html
    assert 'data-copy="#license-key-value"' in html

    lic.refresh_from_db()
    assert lic.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert lic.key_prefix == key[:12]
    assert not License.objects.filter(key_prefix=key).exists()
    # Shown once: the page now knows only the prefix.
    html = page(client.get(order_url(order)))
    assert key not in html
    assert f"{lic.key_prefix}…" in html
    assert "Make a new key" in html
    # A plain post (no JavaScript) shows a fresh key on the order page.
    response = client.post(f"/licenses/{lic.pk}/key/")
    second = re.search(r'<code id="license-key-value">(agl_[^<]+)</code>', page(response)).group(1)
    assert second != key
    assert_ledger_balances()


def test_download_streams_the_exact_bytes_and_counts(client, buyer, localstripe):  # noqa: F811
    order = credit_arrival(card_order(buyer, one_time_plan()))
    lic = License.objects.get(order=order)
    for used in range(1, 6):
        response = client.post(f"/licenses/{lic.pk}/download/")
        assert response.status_code == 200
        assert response.streaming
        assert b"".join(response.streaming_content) == ARTEFACT
        assert response["Content-Length"] == str(len(ARTEFACT))
        assert response["Content-Disposition"] == 'attachment; filename="model.onnx"'
        lic.refresh_from_db()
        assert lic.downloads_used == used
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Checksum-SHA256"] == hashlib.sha256(ARTEFACT).hexdigest()
    order.refresh_from_db()
    assert order.status == OrderStatus.RELEASED  # the first download released the escrow

    response = client.post(f"/licenses/{lic.pk}/download/")  # the 6th of 5
    assert response.status_code == 403
    assert "This license has used all 5 of its downloads." in page(response)
    lic.refresh_from_db()
    assert lic.downloads_used == 5
    assert "Downloads left: <strong>0</strong> of 5" in page(client.get(order_url(order)))
    assert_ledger_balances()


# ----------------------------------------------------------------------------- refunds


def test_refund_inside_the_window_goes_back_to_the_card(client, buyer, localstripe):  # noqa: F811
    order = card_paid(localstripe, card_order(buyer, one_time_plan()))
    html = page(client.get(order_url(order)))
    assert 'id="refund-deadline"' in html
    confirm = page(client.get(order_url(order, "refund/")))
    deadline = timezone.localtime(order.escrow.release_after).strftime("%-d %b %Y, %H:%M")
    assert deadline in confirm
    assert "Refund $49.00" in confirm
    assert order.status == OrderStatus.IN_ESCROW

    response = client.post(order_url(order, "refund/"), {"reason": "Changed my mind"})
    assert response["Location"] == order_url(order)
    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == (OrderStatus.REFUNDED, 4_900)
    assert License.objects.get(order=order).revoked_at is not None
    payment = Payment.objects.get(pk=order.payment_id)
    refunds = PaymentRefund.objects.filter(payment=payment)
    assert [r.amount for r in refunds] == [4_900]
    assert [r["amount"] for r in localstripe.refunds_for(payment.stripe_payment_intent_id)] == [4_900]
    html = page(client.get(order_url(order)))
    assert "Refunded." in html
    assert "This license was revoked" in html
    assert_ledger_balances()


def test_refund_after_the_window_is_refused(client, buyer, localstripe):  # noqa: F811
    order = card_paid(localstripe, card_order(buyer, one_time_plan()))
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert 'id="refund-deadline"' not in page(client.get(order_url(order)))
        assert "cannot be refunded by you any more" in page(client.get(order_url(order, "refund/")))
        response = client.post(order_url(order, "refund/"))
        assert response.status_code == 409
        assert "The refund window of this order has closed." in page(response)
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_ESCROW
    assert_ledger_balances()


def test_an_unreadable_artefact_is_an_error_page_not_a_broken_download(client, buyer, localstripe):  # noqa: F811
    order = credit_arrival(card_order(buyer, one_time_plan()))
    lic = License.objects.get(order=order)
    other_key = encrypt_to_storage(source=ContentFile(b"x", name="x"), name="x").wrapped_key
    ListingVersion.objects.filter(listing=order.listing).update(wrapped_key=other_key)
    response = client.post(f"/licenses/{lic.pk}/download/")
    assert response.status_code == 500
    assert not response.streaming
    assert "Content-Disposition" not in response
    assert "failed verification" in page(response)


def test_refund_after_a_download_is_refused(client, buyer, localstripe):  # noqa: F811
    order = card_paid(localstripe, card_order(buyer, one_time_plan()))
    lic = License.objects.get(order=order)
    b"".join(client.post(f"/licenses/{lic.pk}/download/").streaming_content)
    response = client.post(order_url(order, "refund/"))
    assert response.status_code == 409
    assert "You downloaded this model, so it can no longer be refunded." in page(response)
    # htmx gets the confirmation block with the message.
    response = client.post(order_url(order, "refund/"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'id="refund-error"' in page(response)
    order.refresh_from_db()
    assert order.status == OrderStatus.RELEASED
    assert_ledger_balances()


# ----------------------------------------------------------------------------- disputes


def test_dispute_with_evidence_and_a_file(client, buyer, localstripe):  # noqa: F811
    order = credit_arrival(card_order(buyer, one_time_plan()))
    assert "Open a dispute" in page(client.get(order_url(order)))

    response = client.post(order_url(order, "dispute/"), {"reason": "", "evidence": ""})
    assert response.status_code == 400
    html = page(response)
    assert "Say in a line what went wrong." in html
    assert "Describe your evidence." in html

    upload = SimpleUploadedFile("log.txt", b"wrong output at 12:00", content_type="text/plain")
    response = client.post(
        order_url(order, "dispute/"),
        {"reason": "Outputs are garbage", "evidence": "Every call returns zeros.", "evidence_file": upload},
    )
    assert response["Location"] == order_url(order)
    dispute = Dispute.objects.get(order=order)
    assert (dispute.reason, dispute.evidence) == ("Outputs are garbage", "Every call returns zeros.")
    assert dispute.evidence_file.read() == b"wrong output at 12:00"
    order.refresh_from_db()
    assert order.status == OrderStatus.DISPUTED
    html = page(client.get(order_url(order)))
    assert "Your dispute is open." in html
    assert 'id="dispute-panel"' in html
    # One dispute per order.
    response = client.post(order_url(order, "dispute/"), {"reason": "Again", "evidence": "Again."})
    assert response.status_code == 409
    assert_ledger_balances()


def test_evidence_over_the_size_limit_is_refused_next_to_the_field(client, buyer, localstripe, settings):  # noqa: F811
    settings.DISPUTE_EVIDENCE_MAX_BYTES = 1024**2
    order = credit_arrival(card_order(buyer, one_time_plan()))
    upload = SimpleUploadedFile("log.txt", b"x" * (1024**2 + 1), content_type="text/plain")
    response = client.post(
        order_url(order, "dispute/"), {"reason": "Broken", "evidence": "Zeros.", "evidence_file": upload}
    )
    assert response.status_code == 400
    assert "The file is larger than 1 MB." in page(response)
    assert not Dispute.objects.exists()


def test_an_unpaid_order_cannot_be_disputed(client, buyer, localstripe):  # noqa: F811
    order = card_order(buyer, one_time_plan())
    assert "Open a dispute" not in page(client.get(order_url(order)))
    response = client.post(order_url(order, "dispute/"), {"reason": "x", "evidence": "y"})
    assert response.status_code == 409
    assert "Only a paid purchase or subscription can be disputed." in page(response)
    assert not Dispute.objects.exists()


# ----------------------------------------------------------------------------- subscriptions


def test_subscription_cancel_now_refunds_the_unused_days(client, buyer, localstripe):  # noqa: F811
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        order = card_paid(localstripe, card_order(buyer, subscription_plan(price_cents=3_000)))
    sub = Subscription.objects.get()
    assert sub.status == SubscriptionStatus.ACTIVE
    html = page(client.get(order_url(order)))
    assert 'id="subscription-panel"' in html
    assert "0 of 1000 used this period" in html

    with time_machine.travel(start + timedelta(days=10), tick=False):
        confirm = page(client.get(f"/subscriptions/{sub.pk}/cancel/"))
        assert "<strong>$20.00</strong> for the unused days" in confirm  # 20 of 30 days of $30.00
        response = client.post(f"/subscriptions/{sub.pk}/cancel/", {"when": "now"})
    assert response["Location"] == order_url(order)
    sub.refresh_from_db()
    order.refresh_from_db()
    assert sub.status == SubscriptionStatus.CANCELED
    assert (order.status, order.refunded_amount) == (OrderStatus.RELEASED, 2_000)
    payment = Payment.objects.get(pk=order.payment_id)
    assert [r["amount"] for r in localstripe.refunds_for(payment.stripe_payment_intent_id)] == [2_000]
    assert "Your subscription is canceled" in page(client.get(order_url(order)))
    assert_ledger_balances()


def test_subscription_cancel_at_period_end_and_download(client, buyer, localstripe):  # noqa: F811
    order = credit_arrival(card_order(buyer, subscription_plan(quota=None)))
    sub = Subscription.objects.get()
    assert "Unlimited (0 used)" in page(client.get(order_url(order)))

    response = client.post(f"/subscriptions/{sub.pk}/download/")
    assert b"".join(response.streaming_content) == ARTEFACT

    response = client.post(f"/subscriptions/{sub.pk}/cancel/", {"when": "period_end", "next": "/library/"})
    assert response["Location"] == "/library/"
    sub.refresh_from_db()
    assert (sub.status, sub.auto_renew) == (SubscriptionStatus.ACTIVE, False)
    # Off-site `next` is ignored.
    response = client.post(
        f"/subscriptions/{sub.pk}/cancel/", {"when": "bogus", "next": "https://evil.test/"}
    )
    assert response.status_code == 400
    assert "Choose now or period end." in page(response)
    assert_ledger_balances()


def test_subscription_download_after_it_ended_is_refused(client, buyer, localstripe):  # noqa: F811
    order = credit_arrival(card_order(buyer, subscription_plan()))
    sub = Subscription.objects.get()
    client.post(f"/subscriptions/{sub.pk}/cancel/", {"when": "now"})
    response = client.post(f"/subscriptions/{sub.pk}/download/")
    assert response.status_code == 403
    assert "Downloads come with an active subscription." in page(response)
    assert order.pk
    assert_ledger_balances()


# ----------------------------------------------------------------------------- other people's objects


def test_another_users_objects_are_not_found_everywhere(client, localstripe):  # noqa: F811
    owner = UserFactory()
    one_time = credit_arrival(card_order(owner, one_time_plan()))
    lic = License.objects.get(order=one_time)
    sub_order = credit_arrival(card_order(owner, subscription_plan()))
    sub = Subscription.objects.get(buyer=owner)
    client.force_login(UserFactory())
    gets = [
        order_url(one_time),
        order_url(one_time, "status/"),
        order_url(one_time, "refund/"),
        order_url(sub_order),
        f"/subscriptions/{sub.pk}/cancel/",
    ]
    posts = [
        (order_url(one_time, "agr-payment/"), {"tx_hash": "0x" + "ab" * 32}),
        (order_url(one_time, "cancel/"), {}),
        (order_url(one_time, "refund/"), {}),
        (order_url(one_time, "dispute/"), {"reason": "x", "evidence": "y"}),
        (f"/licenses/{lic.pk}/key/", {}),
        (f"/licenses/{lic.pk}/download/", {}),
        (f"/subscriptions/{sub.pk}/cancel/", {"when": "now"}),
        (f"/subscriptions/{sub.pk}/download/", {}),
    ]
    for url in gets:
        assert client.get(url).status_code == 404, url
    for url, data in posts:
        assert client.post(url, data).status_code == 404, url
    lic.refresh_from_db()
    one_time.refresh_from_db()
    sub.refresh_from_db()
    assert (lic.downloads_used, lic.key_prefix, one_time.status) == (0, "", OrderStatus.IN_ESCROW)
    assert sub.status == SubscriptionStatus.ACTIVE
    assert not Dispute.objects.exists()
    assert_ledger_balances()


def test_per_inference_credit_order_shows_the_credit(client, buyer, localstripe):  # noqa: F811
    plan = PlanFactory(kind=PlanKind.PER_INFERENCE, name="Metered", price_cents=200, listing=ListingFactory())
    order = credit_arrival(card_order(buyer, plan, credit_cents=2_500))
    assert order.status == OrderStatus.PAID
    html = page(client.get(order_url(order)))
    assert '<dd id="order-credit">$27.50</dd>' in html
    assert "$27.50 was added to your" in html
    assert "Open a dispute" not in html
    assert_ledger_balances()
