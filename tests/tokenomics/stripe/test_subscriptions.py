"""Subscriptions against localstripe: Product + Plan + Subscription created once per row, status and
period end kept in step by events (renewal invoices move the period end; nothing is credited yet),
cancel, and a late stale event that does not bring a canceled subscription back."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import Client

from tests.tokenomics.stripe.conftest import LocalStripe, deliver, make_event
from tokenomics.errors import AmountInvalid, IdempotencyConflict, InvalidState
from tokenomics.models import LedgerTransaction, StripeEvent, StripeSubscription
from tokenomics.selectors.ledger import user_balances
from tokenomics.services.stripe_subscriptions import stripe_subscription_cancel, stripe_subscription_start

pytestmark = pytest.mark.django_db


def _reference() -> str:
    return f"subscription:{uuid.uuid4().hex}"


def test_subscribe_then_cancel(
    user, localstripe: LocalStripe, since: int, client: Client, django_capture_on_commit_callbacks
) -> None:
    reference = _reference()
    card = localstripe.card()  # collected by Stripe.js
    sub = stripe_subscription_start(
        user=user, reference=reference, amount=1_900, name="Pro plan", payment_method_id=card
    )
    assert sub.status == "active"
    assert sub.stripe_subscription_id
    assert sub.stripe_plan_id
    assert sub.current_period_end is not None
    remote = localstripe.client.v1.subscriptions.retrieve(sub.stripe_subscription_id).to_dict()
    assert remote["metadata"] == {"agora_subscription": reference, "agora_user": str(user.pk)}
    assert remote["plan"]["amount"] == 1_900
    assert remote["plan"]["interval"] == "month"

    # Calling again with the same reference continues (here: finds it done), creating nothing.
    again = stripe_subscription_start(user=user, reference=reference, amount=1_900, name="Pro plan")
    assert again.pk == sub.pk
    customer = remote["customer"]
    listed = localstripe.client.v1.subscriptions.list(params={"customer": customer, "status": "all"})
    assert len(listed.data) == 1

    # Its events (created; the first invoice paid) are applied: same state, and the first
    # invoice's payment is credited to the subscriber's wallet once (no storefront plan spends it).
    def ours(event: dict) -> bool:
        obj = event["data"]["object"]
        return sub.stripe_subscription_id in (obj.get("id"), obj.get("subscription"))

    events = [e for e in localstripe.events(since) if ours(e)]
    assert {e["type"] for e in events} >= {"customer.subscription.created", "invoice.payment_succeeded"}
    for event in events:
        with django_capture_on_commit_callbacks(execute=True):
            assert deliver(client, event).status_code == 200
    sub.refresh_from_db()
    assert sub.status == "active"
    paid = [e["data"]["object"]["id"] for e in events if e["type"] == "invoice.payment_succeeded"]
    credits = LedgerTransaction.objects.filter(idempotency_key__startswith="stripe:in:")
    assert list(credits.values_list("idempotency_key", flat=True)) == [f"stripe:in:{paid[0]}"]
    assert LedgerTransaction.objects.count() == 1
    assert next(b.wallet for b in user_balances(user=user) if b.asset == "USD") == 1_900

    canceled = stripe_subscription_cancel(subscription=sub)
    assert canceled.status == "canceled"
    deleted = [
        e for e in localstripe.events(since) if ours(e) and e["type"] == "customer.subscription.deleted"
    ]
    assert len(deleted) == 1
    # The deletion event, then a late copy of the creation event (stale: it said active).
    for event in [deleted[0], *events]:
        with django_capture_on_commit_callbacks(execute=True):
            assert deliver(client, event).status_code == 200
    sub.refresh_from_db()
    assert sub.status == "canceled"
    assert StripeEvent.objects.filter(status="failed").count() == 0


def test_a_renewal_moves_the_period_end_forward_only(
    user, localstripe: LocalStripe, client: Client, django_capture_on_commit_callbacks
) -> None:
    sub = stripe_subscription_start(
        user=user, reference=_reference(), amount=500, name="Basic", payment_method_id=localstripe.card()
    )
    first_end = sub.current_period_end
    # localstripe cannot renew; the subscription object is re-fetched from it either way, so an
    # older period end recorded here moves forward to Stripe's, and never back.
    StripeSubscription.objects.filter(pk=sub.pk).update(current_period_end=first_end - timedelta(days=30))
    # A real (unpaid, so uncredited) invoice of the subscription, as Stripe would send.
    remote = localstripe.client.v1.invoices.create(
        params={
            "customer": sub.user.stripe_customer.stripe_customer_id,
            "subscription": sub.stripe_subscription_id,
        }
    )
    invoice = {"id": remote.id, "object": "invoice", "subscription": sub.stripe_subscription_id}
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, make_event("evt_invoice_paid_1", "invoice.paid", invoice))
    sub.refresh_from_db()
    assert sub.current_period_end == first_end
    later = first_end + timedelta(days=31)
    StripeSubscription.objects.filter(pk=sub.pk).update(current_period_end=later)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, make_event("evt_invoice_paid_2", "invoice.paid", invoice))
    sub.refresh_from_db()
    assert sub.current_period_end == later  # a stale answer does not move it back
    assert StripeEvent.objects.get(event_id="evt_invoice_paid_2").status == "processed"


def test_subscription_rules(user, other_user) -> None:
    reference = _reference()
    with pytest.raises(AmountInvalid):
        stripe_subscription_start(user=user, reference=reference, amount=0, name="x")
    with pytest.raises(AmountInvalid):
        stripe_subscription_start(user=user, reference=reference, amount=100, name="x", interval="fortnight")
    row = StripeSubscription.objects.create(user=user, reference=reference, amount=100)
    with pytest.raises(IdempotencyConflict):
        stripe_subscription_start(user=other_user, reference=reference, amount=100, name="x")
    with pytest.raises(InvalidState):
        stripe_subscription_cancel(subscription=row)
