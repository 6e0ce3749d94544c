"""Paying at checkout from prepaid balance: priced as the rail of the same asset, paid at once from
the wallet into the same escrow, refunded back to the balance; too little balance creates nothing.
The ledger is verified after every test (conftest)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail

from marketplace.errors import ValidationFailed
from marketplace.models import Order, OrderStatus, PlanKind, Subscription, SubscriptionStatus
from marketplace.services.notifications import subscriptions_remind_renewal
from marketplace.services.orders import order_create
from marketplace.services.pricing import quote
from marketplace.services.refunds import order_refund
from marketplace.services.subscriptions import subscription_cancel
from tests.marketplace.commerce import on_sale
from tokenomics.errors import InsufficientFunds
from tokenomics.models import Escrow, Payment
from tokenomics.models.escrow import EscrowState
from tokenomics.models.ledger import AccountKind
from tokenomics.money import agr
from tokenomics.selectors.ledger import user_balances
from tokenomics.services.wallet import deposit_post

pytestmark = pytest.mark.django_db


def fund(user, amount: int, asset: str = "USD") -> None:
    source = AccountKind.EXTERNAL_STRIPE if asset == "USD" else AccountKind.EXTERNAL_CHAIN
    deposit_post(
        user=user,
        asset=asset,
        amount=amount,
        source_kind=source,
        idempotency_key=f"test-fund:{user.pk}:{asset}:{amount}",
        memo="Test credit",
        prepaid_bonus_applies=False,
    )


def wallet(user, asset: str = "USD") -> int:
    return next((b.wallet for b in user_balances(user=user) if b.asset == asset), 0)


def test_a_license_bought_from_balance_is_in_escrow_at_once(user) -> None:
    fund(user, 5_000)
    plan = on_sale(price_cents=4_900)

    started = order_create(buyer=user, plan_id=plan.pk, rail="balance")

    order = Order.objects.get(pk=started.order.pk)
    assert started.client_secret is None
    assert (order.status, order.rail, order.asset, order.total) == (
        OrderStatus.IN_ESCROW,
        "card",
        "USD",
        4_900,
    )
    assert order.payment_id is None  # no rail payment: the wallet paid
    assert not Payment.objects.exists()
    escrow = Escrow.objects.get(pk=order.escrow_id)
    assert (escrow.amount, escrow.state) == (4_900, EscrowState.HELD)
    assert wallet(user) == 100


def test_a_refund_of_a_balance_purchase_goes_back_to_the_balance(user) -> None:
    fund(user, 4_900)
    plan = on_sale(price_cents=4_900)
    order = order_create(buyer=user, plan_id=plan.pk, rail="balance").order
    assert wallet(user) == 0

    refunded = order_refund(buyer=user, order_id=order.pk)

    assert refunded.status == OrderStatus.REFUNDED
    assert wallet(user) == 4_900


def test_too_little_balance_creates_nothing(user) -> None:
    fund(user, 4_899)
    plan = on_sale(price_cents=4_900)

    with pytest.raises(InsufficientFunds):
        order_create(buyer=user, plan_id=plan.pk, rail="balance")

    assert not Order.objects.exists()
    assert wallet(user) == 4_899


def test_agr_balance_is_priced_with_the_agr_discount(user) -> None:
    plan = on_sale(price_cents=1_000)
    priced = quote(plan=plan, rail="agr_balance", buyer=user)
    as_agr = quote(plan=plan, rail="agr", buyer=user)
    assert (priced.rail, priced.asset, priced.total, priced.agr_discount) == (
        "agr",
        "AGR",
        as_agr.total,
        as_agr.agr_discount,
    )
    assert priced.from_balance
    assert not as_agr.from_balance
    fund(user, priced.total, asset="AGR")

    order = order_create(buyer=user, plan_id=plan.pk, rail="agr_balance").order

    assert (order.status, order.asset, order.total) == (OrderStatus.IN_ESCROW, "AGR", priced.total)
    assert wallet(user, "AGR") == 0


def test_a_subscription_from_balance_is_active_and_cancels_pro_rata_to_the_balance(user) -> None:
    fund(user, 3_000)
    plan = on_sale(kind=PlanKind.SUBSCRIPTION, price_cents=3_000)

    order = order_create(buyer=user, plan_id=plan.pk, rail="balance").order

    sub = Subscription.objects.get(pk=order.subscription_id)
    assert sub.status == SubscriptionStatus.ACTIVE
    assert sub.rail == "card"  # renewals draw on the same US dollar balance
    subscription_cancel(buyer=user, subscription_id=sub.pk)
    assert 0 < wallet(user) <= 3_000  # the unused days, back in the balance


def test_prepaid_balance_cannot_buy_more_credit(user) -> None:
    fund(user, agr(1))
    plan = on_sale(kind=PlanKind.PER_INFERENCE, price_cents=400)
    with pytest.raises(ValidationFailed, match="cannot buy more credit"):
        quote(plan=plan, rail="balance", buyer=user, credit_cents=2_500)


def test_an_unknown_way_to_pay_is_refused(user) -> None:
    plan = on_sale()
    with pytest.raises(ValidationFailed) as refused:
        quote(plan=plan, rail="cash", buyer=user)
    assert "balance" in str(refused.value.detail["rail"])


def test_a_subscription_paid_from_balance_is_reminded_before_it_renews_from_it(
    user, django_capture_on_commit_callbacks
) -> None:
    fund(user, 3_000)
    plan = on_sale(kind=PlanKind.SUBSCRIPTION, price_cents=3_000)
    order = order_create(buyer=user, plan_id=plan.pk, rail="balance").order
    sub = Subscription.objects.get(pk=order.subscription_id)
    assert sub.rail == "card"  # priced as card, yet no card: Stripe does not bill it
    with django_capture_on_commit_callbacks(execute=True):
        assert subscriptions_remind_renewal(now=sub.current_period_end - timedelta(days=1)) == 1
    reminders = [m for m in mail.outbox if m.to == [user.email] and "renew" in m.subject.lower()]
    assert len(reminders) == 1
