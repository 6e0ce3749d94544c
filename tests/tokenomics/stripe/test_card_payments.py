"""Card payments end to end against localstripe: customer once per user, a PaymentIntent created
after the payment row with its derived key, confirmed in the "browser", credited once by its event."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.tokenomics.stripe.conftest import CARD_DECLINED, LocalStripe, deliver
from tokenomics.models import LedgerTransaction, Payment, StripeCustomer, StripeEvent
from tokenomics.models.rails import PaymentStatus
from tokenomics.selectors.ledger import user_balances
from tokenomics.services.stripe_rail import (
    card_payment_intent_ensure,
    card_payment_start,
    stripe_customer_get_or_create,
)

pytestmark = pytest.mark.django_db


def usd_wallet(user) -> int:
    return next((b.wallet for b in user_balances(user=user) if b.asset == "USD"), 0)


def test_a_customer_is_created_once_per_user(user, localstripe: LocalStripe) -> None:
    first = stripe_customer_get_or_create(user=user)
    again = stripe_customer_get_or_create(user=user)
    card_payment_start(user=user, purpose="test_purchase", amount=500)
    assert first.pk == again.pk
    assert StripeCustomer.objects.filter(user=user).count() == 1
    customers = localstripe.customers_with(user.email)
    assert [c["id"] for c in customers] == [first.stripe_customer_id]
    assert customers[0]["metadata"] == {"agora_user": str(user.pk)}


def test_starting_a_card_payment_creates_one_intent_for_the_row(user, localstripe: LocalStripe) -> None:
    started = card_payment_start(user=user, purpose="test_purchase", amount=1_250)
    payment = Payment.objects.get(pk=started.payment.pk)
    intent = localstripe.intent(payment.stripe_payment_intent_id)
    assert started.client_secret == intent["client_secret"]
    assert (intent["amount"], intent["currency"], intent["status"]) == (
        1_250,
        "usd",
        "requires_payment_method",
    )
    assert intent["metadata"] == {"agora_payment": str(payment.pk), "agora_reference": payment.reference}
    assert intent["customer"] == StripeCustomer.objects.get(user=user).stripe_customer_id
    # Asking again (the page reloaded) gives the same intent, not a second one.
    assert card_payment_intent_ensure(payment=payment) == started.client_secret
    assert len(localstripe.intents_for(payment.reference)) == 1
    assert payment.status == PaymentStatus.AWAITING
    assert not LedgerTransaction.objects.exists()


def test_the_succeeded_event_credits_the_wallet_once(
    user, localstripe: LocalStripe, since: int, client: Client, django_capture_on_commit_callbacks
) -> None:
    started = card_payment_start(user=user, purpose="credit_top_up", amount=5_000)
    intent_id = started.payment.stripe_payment_intent_id
    assert localstripe.pay(intent_id)["status"] == "succeeded"
    [event] = localstripe.events_for(intent_id, since)
    assert event["type"] == "payment_intent.succeeded"

    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, event)
    assert response.status_code == 200
    assert response.json() == {"received": True, "event": event["id"], "duplicate": False}

    payment = Payment.objects.get(pk=started.payment.pk)
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.received_amount == 5_000
    assert usd_wallet(user) == 5_500  # the prepaid bonus of a top-up
    stored = StripeEvent.objects.get(event_id=event["id"])
    assert (stored.status, stored.object_id, stored.attempts) == ("processed", intent_id, 1)
    assert LedgerTransaction.objects.filter(idempotency_key=f"stripe:pi:{intent_id}").count() == 1


def test_a_declined_card_marks_the_payment_failed_and_credits_nothing(
    user, localstripe: LocalStripe, since: int, client: Client, django_capture_on_commit_callbacks
) -> None:
    started = card_payment_start(user=user, purpose="test_purchase", amount=700)
    intent_id = started.payment.stripe_payment_intent_id
    assert localstripe.pay(intent_id, card=CARD_DECLINED)["last_payment_error"]["code"] == "card_declined"
    [event] = localstripe.events_for(intent_id, since)
    assert event["type"] == "payment_intent.payment_failed"
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(client, event).status_code == 200
    assert Payment.objects.get(pk=started.payment.pk).status == PaymentStatus.FAILED
    assert not LedgerTransaction.objects.exists()
    assert StripeEvent.objects.get(event_id=event["id"]).status == "processed"
