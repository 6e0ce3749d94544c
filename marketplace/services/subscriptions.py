"""Subscriptions: cancel (now with a pro-rated refund, or at period end), renew, lapse.

Each period is paid by an order whose money is held in escrow until the period ends; cancelling
now refunds the unused part of the period exactly (tokenomics.splits.prorated_refund, rounded down)
and releases the used part to the creator, in one escrow resolution.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from marketplace.errors import InvalidState, NotFound
from marketplace.models import Order, OrderStatus, PlanKind, Subscription, SubscriptionStatus
from marketplace.selectors.orders import period_refund, subscription_card_billing
from marketplace.services.notifications import (
    order_refunded_notify,
    subscription_lapsed_notify,
    subscription_renewal_failed_notify,
)
from marketplace.services.orders import order_fulfil, order_record
from marketplace.services.pricing import quote
from marketplace.services.refunds import rail_refund
from tokenomics.errors import InsufficientFunds, TokenomicsError
from tokenomics.models import Rail, StripeSubscription
from tokenomics.models.ledger import AccountKind
from tokenomics.services.escrow import escrow_refund, escrow_release
from tokenomics.services.ledger_accounts import user_account_get_or_create
from tokenomics.services.stripe_subscriptions import (
    stripe_renewal_handlers_register,
    stripe_subscription_cancel,
)

logger = logging.getLogger(__name__)


def subscription_cancel(
    *,
    buyer: User,
    subscription_id: int,
    at_period_end: bool = False,
    now: datetime | None = None,
    at: datetime | None = None,
) -> Subscription:
    """Cancel a subscription. Now (default): access ends now and the unused part of the period is
    refunded pro rata through the rail that paid. `at_period_end`: no renewal, access until the
    period ends, no refund. `now`: the moment the unused part is counted from and access ends;
    `at`: when this happens (default now; demo history passes a past moment), the refund's or
    release's posting date and `now`'s default. Raises NotFound, InvalidState (not active, or its
    period is disputed)."""
    now = now or at or timezone.now()
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
            _stop_card_billing_on_commit(sub.pk, now=False)
            return sub
        if order is not None and order.status == OrderStatus.DISPUTED:
            raise InvalidState("This subscription's current period is under dispute; staff will resolve it.")
        if order is not None and order.status == OrderStatus.IN_ESCROW and order.escrow is not None:
            refund = period_refund(order=order, now=now)
            # The escrow hook settles the order with its escrow.
            if refund:
                escrow_refund(escrow_id=order.escrow.pk, amount=refund, at=at)
            else:
                escrow_release(escrow_id=order.escrow.pk, at=at)
            order.refresh_from_db()
        sub.status = SubscriptionStatus.CANCELED
        sub.canceled_at = now
        sub.current_period_end = now
        sub.auto_renew = False
        sub.save(update_fields=["status", "canceled_at", "current_period_end", "auto_renew", "updated_at"])
    if refund and order is not None:
        went = rail_refund(order=order, amount=refund, reason="Subscription canceled: unused days")
        order_refunded_notify(order=order, amount=refund, destination=went, why="unused_days")
    _stop_card_billing(sub.pk, now=True)
    return sub


def _stop_card_billing(subscription_id: int, *, now: bool) -> None:
    """Tell Stripe to stop billing a card subscription: at once (canceled now, or lapsed) or after
    the paid period. Calls Stripe, after the commit; a failure is logged (an invoice Stripe still
    collects lands in the buyer's wallet as credit, see _card_renewal_paid)."""
    billing = subscription_card_billing(subscription=Subscription(pk=subscription_id))
    if billing is None or billing.status in ("canceled", "incomplete_expired"):
        return
    try:
        stripe_subscription_cancel(subscription=billing, at_period_end=not now)
    except TokenomicsError as exc:
        logger.warning("Stripe billing of subscription %s not stopped: %s", subscription_id, exc)


def _stop_card_billing_on_commit(subscription_id: int, *, now: bool) -> None:
    def stop_card_billing() -> None:  # named: Django logs a robust hook's __qualname__
        _stop_card_billing(subscription_id, now=now)

    transaction.on_commit(stop_card_billing, robust=True)


# Stripe retries a declined renewal for some days (its Smart Retries); access stays until then.
CARD_RENEWAL_GRACE = timedelta(days=3)


def _billed_subscription(billing: StripeSubscription, *, lock: bool) -> Subscription | None:
    """The active storefront subscription a Stripe billing row bills (its reference is
    subscription_billing_reference's), or None: another app's reference, or no longer active."""
    prefix, _, number = billing.reference.partition(":")
    if prefix != "subscription" or not number.isdigit():
        return None
    subs = Subscription.objects.select_for_update(of=("self",)) if lock else Subscription.objects
    return (
        subs.select_related("plan", "listing", "buyer")
        .filter(pk=int(number), buyer_id=billing.user_id, status=SubscriptionStatus.ACTIVE)
        .first()
    )


def _card_renewal_paid(billing: StripeSubscription, amount: int) -> None:
    """tokenomics calls this inside the transaction that credited a paid renewal invoice (`amount`
    US cents, now in the buyer's wallet): the next period, paid from the wallet into escrow, as a
    balance renewal is. A subscription canceled meanwhile keeps the money as credit."""
    sub = _billed_subscription(billing, lock=True)
    if sub is None:  # ended meanwhile, or not one of the storefront's plans
        logger.warning("Renewal of %s paid after it ended: kept as the buyer's credit", billing.reference)
        return
    # Stripe charged the price fixed when billing began; the order records what was charged.
    priced = replace(quote(plan=sub.plan, rail=Rail.CARD, buyer=sub.buyer), list_amount=amount, total=amount)
    order = order_record(buyer=sub.buyer, plan=sub.plan, priced=priced, subscription=sub)
    wallet = user_account_get_or_create(user=sub.buyer, kind=AccountKind.WALLET, asset=priced.asset)
    order_fulfil(order=order, source=wallet, now=sub.current_period_end)


def _card_renewal_failed(billing: StripeSubscription, message: str) -> None:
    """tokenomics calls this once when a renewal invoice is first declined: tell the buyer (Stripe
    retries; the banner in the library says the same)."""
    sub = _billed_subscription(billing, lock=False)
    if sub is not None:
        reason = message or "Your card was declined."
        subscription_renewal_failed_notify(subscription=sub, reason=reason, retrying=True)


def register_card_renewal_handlers() -> None:
    """Called from MarketplaceConfig.ready()."""
    stripe_renewal_handlers_register(paid=_card_renewal_paid, failed=_card_renewal_failed)


RENEWED, LAPSED, WAITING = "renewed", "lapsed", "waiting"


def _renew(subscription_id: int, now: datetime) -> str:
    """Renew one due subscription from the buyer's prepaid balance, or let it lapse; one Stripe
    bills waits for its invoice. Returns RENEWED, LAPSED, or WAITING (nothing changed)."""
    with transaction.atomic(durable=True):
        sub = (
            Subscription.objects.select_for_update(of=("self",))
            .select_related("plan", "listing", "buyer")
            .filter(pk=subscription_id, status=SubscriptionStatus.ACTIVE, current_period_end__lte=now)
            .first()
        )
        if sub is None:
            return WAITING  # renewed, canceled or lapsed since it was listed
        plan = sub.plan
        billing = subscription_card_billing(subscription=sub) if sub.rail == Rail.CARD else None
        if billing is not None and billing.status not in ("canceled", "incomplete_expired"):
            # Stripe bills this one: wait for its invoice, through its retries, before lapsing.
            if (
                sub.auto_renew
                and sub.current_period_end is not None
                and now < sub.current_period_end + CARD_RENEWAL_GRACE
            ):
                return WAITING
            sub.status = SubscriptionStatus.EXPIRED
            sub.save(update_fields=["status", "updated_at"])
            _stop_card_billing_on_commit(sub.pk, now=True)
            if sub.auto_renew:  # Stripe's retries ran out: the last word on the declined renewal
                reason = "No renewal payment went through before the retries ended."
                subscription_renewal_failed_notify(subscription=sub, reason=reason, retrying=False)
            else:
                subscription_lapsed_notify(subscription=sub)
            return LAPSED
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
                    return RENEWED
                except InsufficientFunds:
                    pass  # spent between the check and the posting: lapse below
        sub.status = SubscriptionStatus.EXPIRED
        sub.save(update_fields=["status", "updated_at"])
        subscription_lapsed_notify(subscription=sub)
        return LAPSED


def subscriptions_renew_due(*, now: datetime | None = None, limit: int = 500) -> tuple[int, int]:
    """Renew (from prepaid balance, when auto-renew is on and the balance covers it) or lapse every
    active subscription whose period has ended; those Stripe bills by card wait for its invoice
    through the grace period. Each in its own transaction. Returns (renewed, lapsed)."""
    now = now or timezone.now()
    due = list(
        Subscription.objects.filter(status=SubscriptionStatus.ACTIVE, current_period_end__lte=now)
        .order_by("current_period_end", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    outcomes = [_renew(pk, now) for pk in due]
    return outcomes.count(RENEWED), outcomes.count(LAPSED)
