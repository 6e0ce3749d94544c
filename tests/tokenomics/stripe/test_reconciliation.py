"""S6 and the rest of "a webhook outage loses nothing": events that never reached the endpoint are
found by reconciliation (List Events from localstripe) and applied once: 0 missed, 0 doubled, even
when Stripe's own late retries then arrive too. Also: a stored event whose processing was never
queued, and one that failed while Stripe itself was away, are finished by the next reconciliation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from tests.tokenomics.stripe.conftest import CARD_DECLINED, LocalStripe, deliver
from tokenomics.models import LedgerTransaction, Payment, StripeEvent
from tokenomics.models.rails import PaymentStatus
from tokenomics.services.stripe_events import stripe_event_ingest, stripe_reconcile
from tokenomics.services.stripe_rail import UNAVAILABLE_PREFIX, card_payment_start
from tokenomics.services.stripe_refunds import payment_refund
from tokenomics.stripe_client import event_from_payload
from tokenomics.tasks.stripe import reconcile_stripe

pytestmark = pytest.mark.django_db


def _ours(localstripe: LocalStripe, since: int, intents: list[str]) -> list[dict[str, Any]]:
    return [e for e in localstripe.events(since) if e["data"]["object"].get("id") in intents]


def _credits(payment: Payment) -> int:
    return LedgerTransaction.objects.filter(reference=payment.reference, kind="deposit").count()


def test_an_outage_is_backfilled_with_none_missed_and_none_doubled(
    user, other_user, localstripe: LocalStripe, since: int, client: Client, django_capture_on_commit_callbacks
) -> None:
    # While the endpoint is down, payments go on at Stripe: four succeed and one card is declined.
    payments = [
        card_payment_start(user=u, purpose="test_purchase", amount=a).payment
        for u, a in ((user, 1_000), (user, 2_000), (other_user, 3_000), (other_user, 4_000), (user, 500))
    ]
    intents = [p.stripe_payment_intent_id for p in payments]
    for intent in intents[:4]:
        localstripe.pay(intent)
    localstripe.pay(intents[4], card=CARD_DECLINED)
    ours = _ours(localstripe, since, intents)
    assert len(ours) == 5
    # One delivery made it before the outage began.
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, ours[0])
    assert StripeEvent.objects.count() == 1

    report = stripe_reconcile(since=datetime.fromtimestamp(since, tz=UTC))
    assert report.events_stored >= 4  # (events of other tests in the window are stored too)
    for event in ours:  # 0 missed, 0 doubled
        assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1
        assert StripeEvent.objects.get(event_id=event["id"]).status == "processed"
    for payment in payments[:4]:
        payment.refresh_from_db()
        assert (payment.status, _credits(payment)) == (PaymentStatus.SUCCEEDED, 1)
    payments[4].refresh_from_db()
    assert payments[4].status == PaymentStatus.FAILED
    ledger_rows = LedgerTransaction.objects.count()
    stored = StripeEvent.objects.count()

    # Reconciling again, and Stripe's own retries arriving after the outage, change nothing.
    again = stripe_reconcile(since=datetime.fromtimestamp(since, tz=UTC))
    assert again.events_stored == 0
    for event in ours:
        with django_capture_on_commit_callbacks(execute=True):
            response = deliver(client, event)
        assert response.json()["duplicate"] is True
    assert (LedgerTransaction.objects.count(), StripeEvent.objects.count()) == (ledger_rows, stored)


def test_a_stored_event_whose_processing_was_never_queued_is_finished(
    user, localstripe: LocalStripe, since: int
) -> None:
    payment = card_payment_start(user=user, purpose="test_purchase", amount=1_200).payment
    localstripe.pay(payment.stripe_payment_intent_id)
    [event] = _ours(localstripe, since, [payment.stripe_payment_intent_id])
    # Stored by the webhook, but the commit hook never ran (the test transaction never commits:
    # as if the broker had lost the task).
    stripe_event_ingest(event=event_from_payload(event))
    assert StripeEvent.objects.get(event_id=event["id"]).status == "received"
    reconcile_stripe()  # the beat task, with the default look-back
    assert StripeEvent.objects.get(event_id=event["id"]).status == "processed"
    payment.refresh_from_db()
    assert (payment.status, _credits(payment)) == (PaymentStatus.SUCCEEDED, 1)


def test_an_event_that_failed_while_stripe_was_away_is_retried(
    user, localstripe: LocalStripe, since: int, settings, client: Client, django_capture_on_commit_callbacks
) -> None:
    payment = card_payment_start(user=user, purpose="test_purchase", amount=900).payment
    localstripe.pay(payment.stripe_payment_intent_id)
    [event] = _ours(localstripe, since, [payment.stripe_payment_intent_id])

    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there: Stripe is away
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, event)
    assert response.status_code == 200  # stored: Stripe will not need to send it again
    stored = StripeEvent.objects.get(event_id=event["id"])
    assert stored.status == "failed"
    assert stored.error.startswith(UNAVAILABLE_PREFIX)
    assert stored.attempts >= 1  # (an eager task does not run its retries: it raised Retry, logged)
    assert _credits(payment) == 0

    settings.STRIPE_API_BASE = localstripe.url  # Stripe is back
    reconcile_stripe()
    stored.refresh_from_db()
    assert stored.status == "processed"
    payment.refresh_from_db()
    assert (payment.status, _credits(payment)) == (PaymentStatus.SUCCEEDED, 1)


def test_a_refund_left_pending_by_an_outage_is_sent_once_by_reconciliation(
    user, localstripe: LocalStripe, since: int, settings, client: Client, django_capture_on_commit_callbacks
) -> None:
    payment = card_payment_start(user=user, purpose="test_purchase", amount=1_000).payment
    localstripe.pay(payment.stripe_payment_intent_id)
    for event in _ours(localstripe, since, [payment.stripe_payment_intent_id]):
        with django_capture_on_commit_callbacks(execute=True):
            deliver(client, event)
    payment.refresh_from_db()
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    with pytest.raises(Exception, match="payment provider did not answer"):
        payment_refund(payment=payment, amount=400)
    refund = payment.refunds.get()
    assert refund.status == "pending"
    settings.STRIPE_API_BASE = localstripe.url
    stripe_reconcile(since=datetime.fromtimestamp(since, tz=UTC))
    stripe_reconcile(since=datetime.fromtimestamp(since, tz=UTC))
    refund.refresh_from_db()
    assert refund.status == "succeeded"
    assert [r["amount"] for r in localstripe.refunds_for(payment.stripe_payment_intent_id)] == [400]
