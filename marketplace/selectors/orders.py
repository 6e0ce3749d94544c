"""Reads of orders, licenses and subscriptions, always scoped to their owner (another user's
object is NotFound, so its existence is not revealed)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from marketplace.errors import NotFound
from marketplace.models import (
    Dispute,
    License,
    Listing,
    Order,
    OrderStatus,
    PlanKind,
    Subscription,
)
from tokenomics.models import Escrow, StripeSubscription
from tokenomics.models.escrow import EscrowState
from tokenomics.selectors.parameters import parameters_get
from tokenomics.splits import prorated_refund

# Orders that count as a purchase: paid, and not refunded in full.
PURCHASED_STATUSES = (OrderStatus.PAID, OrderStatus.IN_ESCROW, OrderStatus.RELEASED, OrderStatus.DISPUTED)


def buyer_has_purchased(*, buyer: User, listing: Listing) -> bool:
    """Whether `buyer` is a verified buyer of `listing` (a paid order not refunded in full)."""
    return Order.objects.filter(buyer=buyer, listing=listing, status__in=PURCHASED_STATUSES).exists()


def order_list_for_buyer(*, buyer: User) -> QuerySet[Order]:
    return Order.objects.filter(buyer=buyer).select_related("listing", "plan", "payment", "escrow")


def order_get_for_buyer(*, buyer: User, order_id: int) -> Order:
    order = order_list_for_buyer(buyer=buyer).filter(pk=order_id).first()
    if order is None:
        raise NotFound("No such order.")
    return order


def license_list_for_buyer(*, buyer: User) -> QuerySet[License]:
    return License.objects.filter(buyer=buyer).select_related("listing", "version", "order")


def license_get_for_buyer(*, buyer: User, license_id: int) -> License:
    lic = license_list_for_buyer(buyer=buyer).filter(pk=license_id).first()
    if lic is None:
        raise NotFound("No such license.")
    return lic


def subscription_list_for_buyer(*, buyer: User) -> QuerySet[Subscription]:
    return Subscription.objects.filter(buyer=buyer).select_related("listing", "plan")


def subscription_get_for_buyer(*, buyer: User, subscription_id: int) -> Subscription:
    sub = subscription_list_for_buyer(buyer=buyer).filter(pk=subscription_id).first()
    if sub is None:
        raise NotFound("No such subscription.")
    return sub


def dispute_list_for_buyer(*, buyer: User) -> QuerySet[Dispute]:
    return Dispute.objects.filter(buyer=buyer).select_related("order", "order__listing")


def buyer_terms() -> dict[str, int]:
    """The registry's terms the storefront states to buyers, in their units (show them with the
    `unit_value` filter): the AGR-payment discount in bps and the refund window in seconds."""
    values = parameters_get(["discount.agr_payment_bps", "escrow.refund_window_seconds"])
    return {
        "agr_discount_bps": values["discount.agr_payment_bps"],
        "refund_window_seconds": values["escrow.refund_window_seconds"],
    }


def order_refund_deadline(*, order: Order) -> datetime | None:
    """Until when a buyer may still refund this order themselves (None: not refundable now)."""
    if order.kind != PlanKind.ONE_TIME or order.status != OrderStatus.IN_ESCROW or order.escrow is None:
        return None
    lic = License.objects.filter(order=order).only("downloads_used").first()
    if lic is not None and lic.downloads_used > 0:
        return None
    deadline = order.escrow.release_after
    return deadline if deadline > timezone.now() else None


def period_refund(*, order: Order, now: datetime) -> int:
    """The unused part of a subscription period order at `now`, pro rata and rounded down."""
    assert order.period_start is not None
    assert order.period_end is not None
    period = int((order.period_end - order.period_start).total_seconds())
    unused = int((order.period_end - max(now, order.period_start)).total_seconds())
    return prorated_refund(amount=int(order.total), period_seconds=period, unused_seconds=unused)


def subscription_cancel_preview(*, subscription: Subscription, now: datetime | None = None) -> int:
    """What cancelling now would refund, in minor units of the period order's asset (0 if none)."""
    order = (
        subscription.orders.filter(status=OrderStatus.IN_ESCROW)
        .exclude(period_start=None)
        .order_by("-period_end", "-pk")
        .first()
    )
    return 0 if order is None else period_refund(order=order, now=now or timezone.now())


def subscription_billing_reference(subscription_id: int) -> str:
    """The reference of a subscription's Stripe billing (tokenomics' StripeSubscription)."""
    return f"subscription:{subscription_id}"


def subscription_card_billing(*, subscription: Subscription) -> StripeSubscription | None:
    """The Stripe Subscription that bills a card subscription's renewals, once it exists there;
    its status says whether the last renewal was declined ("past_due")."""
    return StripeSubscription.objects.filter(
        reference=subscription_billing_reference(subscription.pk), stripe_subscription_id__isnull=False
    ).first()


def subscriptions_past_due(*, buyer: User) -> list[Subscription]:
    """The buyer's active subscriptions whose card renewal was declined (Stripe is retrying)."""
    declined = StripeSubscription.objects.filter(user=buyer, status="past_due")
    references = set(declined.values_list("reference", flat=True))
    subs = Subscription.objects.filter(buyer=buyer, status="active").select_related("listing", "plan")
    return [sub for sub in subs if subscription_billing_reference(sub.pk) in references]


def dispute_get_for_party(*, user: User, dispute_id: int) -> Dispute:
    """A dispute as its buyer, the creator of the disputed listing, or staff allowed to see
    disputes (marketplace.view_dispute or resolve_dispute) may read it; NotFound for anyone else,
    so that its existence is not revealed either."""
    dispute = Dispute.objects.select_related("order__listing").filter(pk=dispute_id).first()
    if dispute is None or not (
        dispute.buyer_id == user.pk
        or dispute.order.listing.creator_id == user.pk
        or (
            user.is_active
            and user.is_staff
            and (user.has_perm("marketplace.view_dispute") or user.has_perm("marketplace.resolve_dispute"))
        )
    ):
        raise NotFound("No such dispute.")
    return dispute


def order_escrow_agrees(order: Order) -> bool:
    """Whether an order's status is what its escrow says (for checks and tests): no escrow before
    payment, for credit, or for a duplicate refunded on arrival; held and unfrozen while in escrow;
    held frozen or released while disputed; released (in part) once released; refunded, or clawed
    back after release, once refunded."""
    escrow = Escrow.objects.filter(pk=order.escrow_id).first() if order.escrow_id else None
    status = OrderStatus(order.status)
    if escrow is None:
        return status in (OrderStatus.AWAITING_PAYMENT, OrderStatus.CANCELED, OrderStatus.PAID) or (
            status == OrderStatus.REFUNDED and order.paid_at is not None
        )
    state = EscrowState(escrow.state)
    released = state in (EscrowState.RELEASED, EscrowState.PARTIALLY_REFUNDED)
    return {
        OrderStatus.IN_ESCROW: state == EscrowState.HELD and not escrow.frozen,
        OrderStatus.DISPUTED: (state == EscrowState.HELD and escrow.frozen) or released,
        OrderStatus.RELEASED: released and escrow.refunded_amount <= order.refunded_amount < order.total,
        OrderStatus.REFUNDED: state == EscrowState.REFUNDED
        or (released and order.refunded_amount == order.total),
    }.get(status, False)
