"""Subscriptions: cancel (now with a pro-rated refund, or at period end), renew, lapse.

Each period is paid by an order whose money is held in escrow until the period ends; cancelling
now refunds the unused part of the period exactly (tokenomics.splits.prorated_refund, rounded down)
and releases the used part to the creator, in one escrow resolution.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from marketplace.errors import InvalidState, NotFound
from marketplace.models import Order, OrderStatus, PlanKind, Subscription, SubscriptionStatus
from marketplace.selectors.orders import period_refund
from marketplace.services.notifications import order_refunded_notify, subscription_lapsed_notify
from marketplace.services.orders import order_fulfil, order_record
from marketplace.services.pricing import quote
from marketplace.services.refunds import order_settlement_record, rail_refund
from tokenomics.errors import InsufficientFunds
from tokenomics.models.ledger import AccountKind
from tokenomics.services.escrow import escrow_refund, escrow_release
from tokenomics.services.ledger import user_account_get_or_create


def subscription_cancel(
    *, buyer: User, subscription_id: int, at_period_end: bool = False, now: datetime | None = None
) -> Subscription:
    """Cancel a subscription. Now (default): access ends now and the unused part of the period is
    refunded pro rata through the rail that paid. `at_period_end`: no renewal, access until the
    period ends, no refund. Raises NotFound, InvalidState (not active, or its period is disputed)."""
    now = now or timezone.now()
    refund = 0
    order: Order | None = None
    with transaction.atomic(durable=True):
        sub = Subscription.objects.filter(pk=subscription_id, buyer=buyer).first()
        if sub is None:
            raise NotFound("No such subscription.")
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("escrow", "payment", "buyer")
            .filter(subscription=sub)
            .exclude(status__in=[OrderStatus.CANCELED, OrderStatus.AWAITING_PAYMENT])
            .order_by("-period_end", "-pk")
            .first()
        )
        sub = Subscription.objects.select_for_update().get(pk=subscription_id)
        if sub.status != SubscriptionStatus.ACTIVE:
            raise InvalidState("Only an active subscription can be canceled.", detail={"status": sub.status})
        if at_period_end:
            sub.auto_renew = False
            sub.save(update_fields=["auto_renew", "updated_at"])
            return sub
        if order is not None and order.status == OrderStatus.DISPUTED:
            raise InvalidState("This subscription's current period is under dispute; staff will resolve it.")
        if order is not None and order.status == OrderStatus.IN_ESCROW and order.escrow is not None:
            refund = period_refund(order=order, now=now)
            if refund:
                escrow_refund(escrow_id=order.escrow.pk, amount=refund)
            else:
                escrow_release(escrow_id=order.escrow.pk)
            order_settlement_record(order=order, refunded=refund, now=now)
        sub.status = SubscriptionStatus.CANCELED
        sub.canceled_at = now
        sub.current_period_end = now
        sub.auto_renew = False
        sub.save(update_fields=["status", "canceled_at", "current_period_end", "auto_renew", "updated_at"])
    if refund and order is not None:
        went = rail_refund(order=order, amount=refund, reason="Subscription canceled: unused days")
        order_refunded_notify(order=order, amount=refund, destination=went, why="unused_days")
    return sub


def _renew(subscription_id: int, now: datetime) -> bool:
    """Renew one due subscription from the buyer's prepaid balance, or let it lapse. Returns
    whether it renewed."""
    with transaction.atomic(durable=True):
        sub = (
            Subscription.objects.select_for_update(of=("self",))
            .select_related("plan", "listing", "buyer")
            .filter(pk=subscription_id, status=SubscriptionStatus.ACTIVE, current_period_end__lte=now)
            .first()
        )
        if sub is None:
            return False  # renewed, canceled or lapsed since it was listed
        plan = sub.plan
        if (
            sub.auto_renew
            and plan.is_active
            and sub.listing.is_published
            and plan.kind == PlanKind.SUBSCRIPTION
        ):
            priced = quote(plan=plan, rail=sub.rail, buyer=sub.buyer)
            wallet = user_account_get_or_create(user=sub.buyer, kind=AccountKind.WALLET, asset=priced.asset)
            if wallet.balance >= priced.total:
                try:
                    with transaction.atomic():
                        order = order_record(buyer=sub.buyer, plan=plan, priced=priced, subscription=sub)
                        # Paid from the wallet: no rail payment; a refund of it returns to the wallet.
                        order_fulfil(order=order, source=wallet, now=sub.current_period_end)
                    return True
                except InsufficientFunds:
                    pass  # spent between the check and the posting: lapse below
        sub.status = SubscriptionStatus.EXPIRED
        sub.save(update_fields=["status", "updated_at"])
        subscription_lapsed_notify(subscription=sub)
        return False


def subscriptions_renew_due(*, now: datetime | None = None, limit: int = 500) -> tuple[int, int]:
    """Renew (from prepaid balance, when auto-renew is on and the balance covers it) or lapse every
    active subscription whose period has ended; each in its own transaction. Returns (renewed,
    lapsed)."""
    now = now or timezone.now()
    due = list(
        Subscription.objects.filter(status=SubscriptionStatus.ACTIVE, current_period_end__lte=now)
        .order_by("current_period_end", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    renewed = sum(_renew(pk, now) for pk in due)
    return renewed, len(due) - renewed
