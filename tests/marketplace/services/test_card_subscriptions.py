"""Card subscriptions renew through Stripe Subscriptions, on localstripe: the first period is the
order's PaymentIntent, then Stripe bills the same card. localstripe has no billing clock, so these
tests play it: they create and pay the renewal invoice through localstripe's own API, as Stripe
does at the period's end, and deliver the events it emits. A declined renewal's
`invoice.payment_failed` is the one event localstripe never sends (its invoice payment swallows the
decline), so that event is built around localstripe's real invoice. The ledger is verified after
every test (conftest)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client

from marketplace.models import Order, OrderStatus, PlanKind, Subscription, SubscriptionStatus
from marketplace.selectors.orders import subscription_billing_reference, subscription_card_billing
from marketplace.services.subscriptions import (
    CARD_RENEWAL_GRACE,
    subscription_cancel,
    subscriptions_renew_due,
)
from tests.marketplace.commerce import card_order, on_sale
from tests.tokenomics.stripe.conftest import CARD_DECLINED, LocalStripe, deliver, make_event
from tokenomics.models import LedgerTransaction, StripeCustomer, StripeSubscription
from tokenomics.selectors.ledger import user_balances

pytestmark = pytest.mark.django_db

PRICE = 3_000


def wallet(user) -> int:
    return next((b.wallet for b in user_balances(user=user) if b.asset == "USD"), 0)


def subscribed(user, localstripe, since, client, capture) -> tuple[Subscription, StripeSubscription]:
    plan = on_sale(kind=PlanKind.SUBSCRIPTION, price_cents=PRICE, monthly_quota=1_000)
    order = card_order(user, plan, localstripe, client, since, capture)
    sub = Subscription.objects.get(pk=order.subscription_id)
    billing = StripeSubscription.objects.get(reference=subscription_billing_reference(sub.pk))
    return sub, billing


def renew_at_stripe(localstripe: LocalStripe, user, billing: StripeSubscription) -> dict[str, Any]:
    """What Stripe does when the paid period ends: invoice the subscription and charge the card."""
    customer = StripeCustomer.objects.get(user=user).stripe_customer_id
    invoice = localstripe.client.v1.invoices.create(
        params={"customer": customer, "subscription": str(billing.stripe_subscription_id)}
    )
    return dict(localstripe.client.v1.invoices.pay(invoice.id).to_dict())


def deliver_events(localstripe, client, capture, object_id: str, since: int, event_type: str) -> None:
    events = [e for e in localstripe.events_for(object_id, since) if e["type"] == event_type]
    assert events, f"localstripe sent no {event_type} for {object_id}"
    with capture(execute=True):
        assert deliver(client, events[0]).status_code == 200


def test_the_first_card_period_sets_up_stripe_billing_of_the_next(
    user, localstripe: LocalStripe, since: int, client: Client, django_capture_on_commit_callbacks
) -> None:
    sub, billing = subscribed(user, localstripe, since, client, django_capture_on_commit_callbacks)

    remote = localstripe.client.v1.subscriptions.retrieve(str(billing.stripe_subscription_id)).to_dict()
    assert remote["trial_end"] == int(sub.current_period_end.timestamp())  # first invoice: period end
    assert remote["items"]["data"][0]["plan"]["amount"] == PRICE
    customer = localstripe.client.v1.customers.retrieve(remote["customer"]).to_dict()
    assert customer["invoice_settings"]["default_payment_method"]  # the card that paid
    assert (billing.user, billing.amount, billing.interval) == (user, PRICE, "month")
    assert subscription_card_billing(subscription=sub) == billing


def test_a_paid_renewal_invoice_opens_the_next_period_in_escrow_once(
    user, localstripe: LocalStripe, since: int, client: Client, django_capture_on_commit_callbacks
) -> None:
    sub, billing = subscribed(user, localstripe, since, client, django_capture_on_commit_callbacks)
    first_end = sub.current_period_end

    invoice = renew_at_stripe(localstripe, user, billing)
    assert invoice["status"] == "paid"
    for _ in range(2):  # a repeated delivery changes nothing
        deliver_events(
            localstripe,
            client,
            django_capture_on_commit_callbacks,
            invoice["id"],
            since,
            "invoice.payment_succeeded",
        )

    sub.refresh_from_db()
    # The buyer is told, once, that the card paid the next period.
    renewed = [m for m in mail.outbox if "Renewed:" in m.subject]
    assert len(renewed) == 1
    assert "your card" in renewed[0].body
    renewal = Order.objects.filter(subscription=sub).order_by("-pk").first()
    assert Order.objects.filter(subscription=sub).count() == 2
    assert (renewal.status, renewal.total, renewal.payment_id) == (OrderStatus.IN_ESCROW, PRICE, None)
    assert renewal.period_start == first_end
    assert sub.current_period_end == renewal.period_end == first_end + timedelta(days=30)
    assert LedgerTransaction.objects.filter(idempotency_key=f"stripe:in:{invoice['id']}").count() == 1
    assert wallet(user) == 0  # the invoice's money went straight on into escrow
    billing.refresh_from_db()
    assert billing.status == "active"


def test_a_declined_renewal_marks_the_subscription_past_due_and_then_it_lapses(
    user, localstripe: LocalStripe, since: int, client: Client, django_capture_on_commit_callbacks
) -> None:
    sub, billing = subscribed(user, localstripe, since, client, django_capture_on_commit_callbacks)
    customer = StripeCustomer.objects.get(user=user).stripe_customer_id
    declined = localstripe.card(CARD_DECLINED)
    localstripe.client.v1.payment_methods.attach(declined, params={"customer": customer})
    localstripe.client.v1.customers.update(
        customer, params={"invoice_settings": {"default_payment_method": declined}}
    )

    invoice = renew_at_stripe(localstripe, user, billing)
    assert invoice["status"] == "open"  # the charge was declined
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, make_event("evt_renewal_declined", "invoice.payment_failed", invoice))
    assert response.status_code == 200

    billing.refresh_from_db()
    assert billing.status == "past_due"
    assert Order.objects.filter(subscription=sub).count() == 1
    failed = [m for m in mail.outbox if "Payment failed:" in m.subject]
    assert [m.to for m in failed] == [[user.email]]
    # The buyer sees it at the top of the library, with the way out.
    client.force_login(user)
    html = client.get("/library/").content.decode()
    assert f'id="past-due-{sub.pk}"' in html
    assert "Your card was declined</strong> for the renewal of" in html
    assert f'href="/subscriptions/{sub.pk}/cancel/"' in html
    # Stripe retries through the grace period: no lapse, no renewal from the balance meanwhile.
    with time_machine.travel(sub.current_period_end + timedelta(hours=1), tick=False):
        assert subscriptions_renew_due() == (0, 0)
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.ACTIVE
    # Past the grace period it lapses, and Stripe stops billing.
    with (
        time_machine.travel(sub.current_period_end + CARD_RENEWAL_GRACE, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert subscriptions_renew_due() == (0, 1)
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.EXPIRED
    remote = localstripe.client.v1.subscriptions.retrieve(str(billing.stripe_subscription_id)).to_dict()
    assert remote["status"] == "canceled"


def test_cancel_at_period_end_stops_stripe_renewing(
    user, localstripe: LocalStripe, since: int, client: Client, django_capture_on_commit_callbacks
) -> None:
    sub, billing = subscribed(user, localstripe, since, client, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        subscription_cancel(buyer=user, subscription_id=sub.pk, at_period_end=True)
    remote = localstripe.client.v1.subscriptions.retrieve(str(billing.stripe_subscription_id)).to_dict()
    assert remote["cancel_at_period_end"] is True


def test_cancel_now_cancels_at_stripe_and_refunds_the_unused_days(
    user, localstripe: LocalStripe, since: int, client: Client, django_capture_on_commit_callbacks
) -> None:
    sub, billing = subscribed(user, localstripe, since, client, django_capture_on_commit_callbacks)
    first = Order.objects.get(subscription=sub)
    with time_machine.travel(first.period_start + timedelta(days=10), tick=False):
        subscription_cancel(buyer=user, subscription_id=sub.pk)
    remote = localstripe.client.v1.subscriptions.retrieve(str(billing.stripe_subscription_id)).to_dict()
    assert remote["status"] == "canceled"
    refunds = localstripe.refunds_for(str(first.payment.stripe_payment_intent_id))
    assert [r["amount"] for r in refunds] == [2_000]  # 20 of 30 days, back to the card
