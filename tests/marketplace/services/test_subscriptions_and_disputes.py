"""Subscriptions (pro-rated cancellation, renewal, lapse) and disputes (held money, staff
resolution, clawback after release), on localstripe and the ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from marketplace.errors import InvalidState, PermissionDenied, ValidationFailed
from marketplace.models import DisputeStatus, OrderStatus, PlanKind, Subscription, SubscriptionStatus
from marketplace.selectors.orders import subscription_cancel_preview
from marketplace.services.licenses import license_download
from marketplace.services.orders import order_create, orders_release_due
from marketplace.services.refunds import dispute_resolve, order_dispute_open, order_refund
from marketplace.services.subscriptions import subscription_cancel, subscriptions_renew_due
from tests.accounts.factories import UserFactory, staff_with
from tests.marketplace.commerce import card_order, credit_arrival, on_sale
from tests.tokenomics.factories import funded_wallet
from tests.tokenomics.stripe.conftest import LocalStripe
from tokenomics.models import Escrow
from tokenomics.models.escrow import EscrowState
from tokenomics.selectors.ledger import user_balances

pytestmark = pytest.mark.django_db


def balance(user, kind: str = "wallet", asset: str = "USD") -> int:
    row = next((b for b in user_balances(user=user) if b.asset == asset), None)
    return getattr(row, kind, 0) if row else 0


def test_cancelling_refunds_the_unused_days_to_the_cent(
    user, localstripe: LocalStripe, since: int, client: Client, django_capture_on_commit_callbacks
) -> None:
    plan = on_sale(kind=PlanKind.SUBSCRIPTION, price_cents=3_000, monthly_quota=10_000)
    order = card_order(user, plan, localstripe, client, since, django_capture_on_commit_callbacks)
    sub = Subscription.objects.get(pk=order.subscription_id)
    assert (sub.status, sub.monthly_quota) == (SubscriptionStatus.ACTIVE, 10_000)
    assert order.period_end - order.period_start == timedelta(days=30)
    assert Escrow.objects.get(pk=order.escrow_id).release_after == order.period_end

    with time_machine.travel(order.period_start + timedelta(days=10), tick=False):
        assert subscription_cancel_preview(subscription=sub) == 2_000
        canceled = subscription_cancel(buyer=user, subscription_id=sub.pk)
    # 20 of 30 days unused: exactly $20.00 back to the card; $10.00 released to the split.
    assert canceled.status == SubscriptionStatus.CANCELED
    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == (OrderStatus.RELEASED, 2_000)
    escrow = Escrow.objects.get(pk=order.escrow_id)
    assert (escrow.state, escrow.refunded_amount) == (EscrowState.PARTIALLY_REFUNDED, 2_000)
    refunds = localstripe.refunds_for(order.payment.stripe_payment_intent_id)
    assert [r["amount"] for r in refunds] == [2_000]
    assert balance(plan.listing.creator, "creator_payable") == 800  # 80% of $10.00
    assert balance(user) == 0
    with pytest.raises(InvalidState):
        subscription_cancel(buyer=user, subscription_id=sub.pk)


def test_an_odd_fraction_rounds_down_for_the_buyer(user, localstripe: LocalStripe) -> None:
    plan = on_sale(kind=PlanKind.SUBSCRIPTION, price_cents=999)
    order = credit_arrival(order_create(buyer=user, plan_id=plan.pk, rail="card").order)
    with time_machine.travel(order.period_start + timedelta(days=7, hours=5), tick=False):
        subscription_cancel(buyer=user, subscription_id=order.subscription_id)
    order.refresh_from_db()
    unused = timedelta(days=22, hours=19).total_seconds()
    assert order.refunded_amount == int(999 * unused // (30 * 86_400))  # 757 cents, floored


def test_cancel_at_period_end_keeps_access_then_lapses(user, localstripe: LocalStripe) -> None:
    plan = on_sale(kind=PlanKind.SUBSCRIPTION, price_cents=1_500)
    order = credit_arrival(order_create(buyer=user, plan_id=plan.pk, rail="card").order)
    sub = subscription_cancel(buyer=user, subscription_id=order.subscription_id, at_period_end=True)
    assert (sub.status, sub.auto_renew) == (SubscriptionStatus.ACTIVE, False)
    funded_wallet(user=user, amount=5_000)  # enough to renew, but renewal is off
    with time_machine.travel(order.period_end + timedelta(seconds=1)):
        assert subscriptions_renew_due() == (0, 1)
        assert orders_release_due() == 1
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.EXPIRED
    assert balance(plan.listing.creator, "creator_payable") == 1_200
    assert balance(user) == 5_000


def test_a_due_subscription_renews_from_the_prepaid_balance(user, localstripe: LocalStripe) -> None:
    plan = on_sale(kind=PlanKind.SUBSCRIPTION, price_cents=1_500)
    first = credit_arrival(order_create(buyer=user, plan_id=plan.pk, rail="card").order)
    funded_wallet(user=user, amount=2_000)
    with time_machine.travel(first.period_end + timedelta(minutes=1)):
        assert subscriptions_renew_due() == (1, 0)
    sub = Subscription.objects.get(pk=first.subscription_id)
    renewal = sub.orders.exclude(pk=first.pk).get()
    assert (renewal.status, renewal.total, renewal.period_start) == (
        OrderStatus.IN_ESCROW,
        1_500,
        first.period_end,
    )
    assert sub.current_period_end == first.period_end + timedelta(days=30)
    assert balance(user) == 500
    with time_machine.travel(sub.current_period_end + timedelta(minutes=1)):
        assert subscriptions_renew_due() == (0, 1)  # $5.00 left does not cover another month


def test_a_dispute_holds_the_money_until_staff_resolve_it(user, localstripe: LocalStripe) -> None:
    plan = on_sale(price_cents=4_900)
    order = credit_arrival(order_create(buyer=user, plan_id=plan.pk, rail="card").order)
    with pytest.raises(ValidationFailed):
        order_dispute_open(buyer=user, order_id=order.pk, reason=" ", evidence="")
    dispute = order_dispute_open(
        buyer=user, order_id=order.pk, reason="Broken weights", evidence="Logs attached"
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.DISPUTED
    assert Escrow.objects.get(pk=order.escrow_id).frozen
    with pytest.raises(InvalidState):
        order_refund(buyer=user, order_id=order.pk)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert orders_release_due() == 0  # held past the window while disputed
    with pytest.raises(PermissionDenied):
        dispute_resolve(staff_user=user, dispute_id=dispute.pk, outcome="refunded")
    with pytest.raises(PermissionDenied):  # staff status alone opens the admin, nothing more
        dispute_resolve(staff_user=UserFactory(is_staff=True), dispute_id=dispute.pk, outcome="refunded")
    staff = staff_with("marketplace.resolve_dispute")
    with pytest.raises(ValidationFailed):
        dispute_resolve(
            staff_user=staff, dispute_id=dispute.pk, outcome="partial_refund", refund_amount=4_900
        )
    resolved = dispute_resolve(
        staff_user=staff,
        dispute_id=dispute.pk,
        outcome="partial_refund",
        refund_amount=1_000,
        note="Half broken",
    )
    assert (resolved.status, resolved.refund_amount, resolved.resolved_by) == (
        DisputeStatus.PARTIAL_REFUND,
        1_000,
        staff,
    )
    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == (OrderStatus.RELEASED, 1_000)
    assert balance(plan.listing.creator, "creator_payable") == 3_120  # 80% of $39.00
    with pytest.raises(InvalidState):
        dispute_resolve(staff_user=staff, dispute_id=dispute.pk, outcome="released")


def test_an_upheld_dispute_after_release_is_clawed_back_from_the_creator(
    user, localstripe: LocalStripe
) -> None:
    plan = on_sale(price_cents=4_900)
    order = credit_arrival(order_create(buyer=user, plan_id=plan.pk, rail="card").order)
    license_download(buyer=user, license_id=order.license.pk)  # released to the creator
    assert balance(plan.listing.creator, "creator_payable") == 3_920
    dispute = order_dispute_open(buyer=user, order_id=order.pk, reason="Not as described", evidence="Screens")
    staff = staff_with("marketplace.resolve_dispute")
    dispute_resolve(staff_user=staff, dispute_id=dispute.pk, outcome="partial_refund", refund_amount=2_000)
    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == (OrderStatus.RELEASED, 2_000)
    assert balance(plan.listing.creator, "creator_payable") == 1_920
    # The card was never charged at localstripe here (credited directly), so the Stripe refund is
    # refused and the money stays with the buyer as wallet credit.
    assert balance(user) == 2_000
    order.license.refresh_from_db()
    assert order.license.revoked_at is None  # a partial refund keeps the license
