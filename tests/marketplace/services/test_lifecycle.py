"""The order lifecycle (issue 16, item 1): every (status, event) pair, the escrow hook that keeps an
order with its escrow, and "you already own this" when the payment arrives. Real rails: localstripe
charges and refunds, the ledger verified after every test (conftest)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from marketplace.errors import InvalidState
from marketplace.models import License, Order, OrderStatus, PlanKind
from marketplace.selectors.orders import order_escrow_agrees
from marketplace.services.lifecycle import ORDER_TRANSITIONS, OrderEvent, order_transition
from marketplace.services.orders import order_cancel, order_create, order_release
from marketplace.services.refunds import RESOLVE_DISPUTE_PERMISSION, dispute_resolve, order_dispute_open
from marketplace.services.subscriptions import subscription_cancel
from tests.accounts.factories import staff_with
from tests.marketplace.commerce import credit_arrival, on_sale, pay_by_card
from tests.tokenomics.stripe.conftest import LocalStripe
from tokenomics.models import Escrow, LedgerTransaction
from tokenomics.models.escrow import EscrowState
from tokenomics.models.ledger import TransactionKind
from tokenomics.selectors.ledger import user_balances
from tokenomics.services.escrow import escrow_refund, escrow_release, escrows_release_due

pytestmark = pytest.mark.django_db

PRICE = 4_000


def _wallet(user) -> int:
    return next((b.wallet for b in user_balances(user=user) if b.asset == "USD"), 0)


def _awaiting(buyer, kind: str = PlanKind.ONE_TIME) -> Order:
    plan = on_sale(kind=kind, price_cents=PRICE)
    credit = PRICE if kind == PlanKind.PER_INFERENCE else None  # credit: the buyer picks how much
    return order_create(buyer=buyer, plan_id=plan.pk, rail="card", credit_cents=credit).order


def _paid_into_escrow(buyer) -> Order:
    return credit_arrival(_awaiting(buyer))


def _dispute(order: Order) -> Order:
    order_dispute_open(buyer=order.buyer, order_id=order.pk, reason="Broken", evidence="It crashes on load.")
    order.refresh_from_db()
    return order


def _escrow(order: Order) -> Escrow:
    return Escrow.objects.get(pk=order.escrow_id)


# Each status, reached through the services as a buyer gets there (`event` picks the plan kind an
# awaiting order needs: credit for "pay", a license otherwise).
def _in_status(status: OrderStatus, buyer, event: OrderEvent) -> Order:
    if status == OrderStatus.AWAITING_PAYMENT:
        return _awaiting(buyer, PlanKind.PER_INFERENCE if event == OrderEvent.PAY else PlanKind.ONE_TIME)
    if status == OrderStatus.PAID:
        return credit_arrival(_awaiting(buyer, PlanKind.PER_INFERENCE))
    if status == OrderStatus.CANCELED:
        order = _awaiting(buyer)
        return order_cancel(buyer=buyer, order_id=order.pk)
    order = _paid_into_escrow(buyer)
    if status == OrderStatus.RELEASED:
        return order_release(order_id=order.pk)
    if status == OrderStatus.REFUNDED:
        escrow_refund(escrow_id=order.escrow_id)
    if status == OrderStatus.DISPUTED:
        return _dispute(order)
    order.refresh_from_db()
    return order


# The real action behind each event: the rail's arrival, the buyer's click, or the ledger resolving
# the escrow (the hook moves the order, whoever resolves it).
def _drive(order: Order, event: OrderEvent) -> None:
    if event in (OrderEvent.PAY, OrderEvent.HOLD, OrderEvent.DUPLICATE):
        if event == OrderEvent.DUPLICATE:
            # Another order of the same license, opened before this one was paid, was fulfilled.
            first = order_create(buyer=order.buyer, plan_id=order.plan_id, rail="card").order
            credit_arrival(first)
        credit_arrival(order)
    elif event == OrderEvent.CANCEL:
        order_cancel(buyer=order.buyer, order_id=order.pk)
    elif event == OrderEvent.RELEASE:
        escrow_release(escrow_id=order.escrow_id)
    elif event == OrderEvent.REFUND:
        escrow_refund(escrow_id=order.escrow_id)
    elif event == OrderEvent.PARTIAL_REFUND:
        escrow_refund(escrow_id=order.escrow_id, amount=PRICE // 4)
    elif event == OrderEvent.DISPUTE:
        _dispute(order)


PAIRS = [(status, event) for status in OrderStatus for event in OrderEvent]


def test_the_table_names_only_real_statuses_and_events() -> None:
    assert len(PAIRS) == len(OrderStatus) * len(OrderEvent) == 56
    assert len(ORDER_TRANSITIONS) == 12
    assert set(ORDER_TRANSITIONS.values()) <= set(OrderStatus)


@pytest.mark.parametrize(("status", "event"), PAIRS, ids=[f"{s.value}-{e.value}" for s, e in PAIRS])
def test_every_status_event_pair(
    user, localstripe: LocalStripe, status: OrderStatus, event: OrderEvent
) -> None:
    order = _in_status(status, user, event)
    assert order.status == status
    assert order_escrow_agrees(order), (order.status, order.escrow_id and _escrow(order).state)
    target = ORDER_TRANSITIONS.get((status, event))

    if target is not None:
        _drive(order, event)
        order.refresh_from_db()
        assert order.status == target
        assert order_escrow_agrees(order), (order.status, _escrow(order).state if order.escrow_id else None)
        if event == OrderEvent.PARTIAL_REFUND:
            assert (order.refunded_amount, _escrow(order).refunded_amount) == (PRICE // 4, PRICE // 4)
        if target == OrderStatus.REFUNDED:
            assert order.refunded_amount == order.total
        return

    before = Order.objects.filter(pk=order.pk).values().get()
    escrow_before = Escrow.objects.filter(pk=order.escrow_id).values().first()
    with pytest.raises(InvalidState) as refused, transaction.atomic():
        order_transition(order=Order.objects.select_for_update().get(pk=order.pk), event=event)
    assert refused.value.code == "invalid_state"
    assert refused.value.detail == {"status": status.value, "event": event.value}
    assert Order.objects.filter(pk=order.pk).values().get() == before
    assert Escrow.objects.filter(pk=order.escrow_id).values().first() == escrow_before
    order.refresh_from_db()
    assert order_escrow_agrees(order)


def test_the_due_release_moves_the_order_with_its_escrow_and_counts_only_its_own(user, localstripe) -> None:
    due = _paid_into_escrow(user)
    by_buyer = _paid_into_escrow(user)
    later = timezone.now() + timedelta(days=3650)
    order_release(order_id=by_buyer.pk)  # released by its first download before the batch ran

    assert escrows_release_due(now=later) == 1  # only what this batch released itself
    assert escrows_release_due(now=later) == 0
    for order in (due, by_buyer):
        order.refresh_from_db()
        assert order.status == OrderStatus.RELEASED
        assert order.released_at is not None
        assert order_escrow_agrees(order)


def test_an_order_refusing_its_escrow_move_rolls_the_move_back(user, localstripe) -> None:
    order = _paid_into_escrow(user)
    # A canceled order holding an escrow cannot exist through the services; force it to see that
    # the hook refuses (invalid_state) and the escrow stays held, not released under it.
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.CANCELED)
    with pytest.raises(InvalidState):
        escrow_release(escrow_id=order.escrow_id)
    assert _escrow(order).state == EscrowState.HELD
    assert not LedgerTransaction.objects.filter(reference=order.reference, kind=TransactionKind.SALE).exists()
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.IN_ESCROW)  # the ledger check after


def _twenty_checkouts(user) -> tuple[list[Order], int]:
    plan = on_sale(price_cents=PRICE)
    return [order_create(buyer=user, plan_id=plan.pk, rail="card").order for _ in range(20)], plan.pk


def test_twenty_card_checkouts_of_one_license_paid_fulfil_one_and_refund_nineteen_to_the_card(
    user,
    localstripe: LocalStripe,
    since: int,
    client: Client,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    orders, _ = _twenty_checkouts(user)
    assert all(o.status == OrderStatus.AWAITING_PAYMENT for o in orders)

    paid = [pay_by_card(o, localstripe, client, since, django_capture_on_commit_callbacks) for o in orders]

    assert [o.status for o in paid] == [OrderStatus.IN_ESCROW] + [OrderStatus.REFUNDED] * 19
    assert License.objects.filter(buyer=user).count() == 1
    assert License.objects.get(buyer=user).order_id == paid[0].pk
    for order in paid[1:]:
        assert (order.refunded_amount, order.escrow_id, order.paid_at is not None) == (PRICE, None, True)
        refunds = localstripe.refunds_for(order.payment.stripe_payment_intent_id)
        assert [(r["amount"], r["status"]) for r in refunds] == [(PRICE, "succeeded")]
        assert order_escrow_agrees(order)
    assert localstripe.refunds_for(paid[0].payment.stripe_payment_intent_id) == []
    assert _escrow(paid[0]).amount == PRICE
    assert _wallet(user) == 0  # the nineteen went back to the card, not left in the wallet
    paid[0].listing.refresh_from_db()
    assert paid[0].listing.sales_count == 1


def test_a_dispute_settled_after_a_partial_refund_keeps_what_went_back_before(user, localstripe) -> None:
    # A subscription canceled mid-period refunded the unused days and released the rest; a dispute
    # on it then released to the creator: the order still records the refund it had.
    order = credit_arrival(_awaiting(user, PlanKind.SUBSCRIPTION))
    later = timezone.now() + timedelta(days=10)
    subscription_cancel(buyer=user, subscription_id=order.subscription_id, now=later)
    order.refresh_from_db()
    assert order.status == OrderStatus.RELEASED
    refunded = int(order.refunded_amount)
    assert 0 < refunded < PRICE
    dispute = _dispute(order).dispute

    dispute_resolve(
        staff_user=staff_with(RESOLVE_DISPUTE_PERMISSION), dispute_id=dispute.pk, outcome="released"
    )

    order.refresh_from_db()
    assert (order.status, int(order.refunded_amount)) == (OrderStatus.RELEASED, refunded)
    assert order_escrow_agrees(order)
