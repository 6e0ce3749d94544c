"""Refunds and disputes of orders (SPEC §4).

A refund first moves the money back from escrow (or, after release, from the creator's payable
balance through an upheld dispute) into the buyer's wallet, in one durable transaction with the
order's new status; then, after the commit, it goes back out through the rail that paid: a Stripe
refund for a card, an AGR transfer to the paying address for AGR. A rail that fails leaves the
money in the buyer's wallet (Stripe refunds stay pending and are retried by reconciliation).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from marketplace.errors import InvalidState, NotFound, PermissionDenied, RefundWindowClosed, ValidationFailed
from marketplace.models import (
    Dispute,
    DisputeStatus,
    License,
    Order,
    OrderStatus,
    PlanKind,
    Subscription,
    SubscriptionStatus,
)
from marketplace.services.lifecycle import OrderEvent, order_transition, settlement_event
from marketplace.services.notifications import (
    dispute_opened_notify,
    dispute_resolved_notify,
    order_refunded_notify,
)
from tokenomics.errors import TokenomicsError
from tokenomics.models import ChainTransfer, Rail
from tokenomics.models.escrow import EscrowState
from tokenomics.models.ledger import AccountKind
from tokenomics.services.chain_payouts import chain_payout_create
from tokenomics.services.escrow import escrow_refund, escrow_release, escrow_set_frozen, sale_clawback
from tokenomics.services.stripe_refunds import payment_refund

logger = logging.getLogger(__name__)


def rail_refund(*, order: Order, amount: int, reason: str) -> str:
    """Send `amount` (already back in the buyer's wallet) out through the rail that paid the order.
    Returns where it went: "card", "agr" (a payout queued for the chain task) or "wallet" (kept as
    credit: a renewal paid from the wallet, or the rail refused). Calls Stripe; no transaction open."""
    payment = order.payment
    if payment is None or amount <= 0:
        return "wallet"
    try:
        if payment.rail == Rail.CARD:
            payment_refund(payment=payment, amount=amount, reason=reason)
            return "card"
        sender = ChainTransfer.objects.filter(payment=payment).values_list("from_address", flat=True).first()
        if sender is None:
            return "wallet"
        chain_payout_create(
            user=order.buyer,
            to_address=sender,
            amount=amount,
            reference=f"refund:{order.reference}",
            account_kind=AccountKind.WALLET,
        )
        return "agr"
    except TokenomicsError as exc:
        # The money is in the buyer's wallet already; a pending Stripe refund is retried by
        # reconciliation, anything else stays there as credit.
        logger.warning("Rail refund of %s (%s) did not go out: %s", order.reference, amount, exc)
        return "wallet"


def order_duplicate_refund_send(*, order_id: int) -> str:
    """Send a duplicate license order's money (refunded on arrival, now in the buyer's wallet) back
    out: a card payment to the card through the refund path; AGR stays in the wallet as credit.
    Idempotent: a card payment already refunded is not refunded again. Returns where it went."""
    order = Order.objects.select_related("payment", "buyer", "listing").get(pk=order_id)
    if order.status != OrderStatus.REFUNDED or order.escrow_id is not None or order.payment is None:
        return "wallet"
    went = "wallet"
    if order.payment.rail == Rail.CARD:
        if order.payment.refunds.exists():
            return "card"
        went = rail_refund(order=order, amount=int(order.total), reason="Duplicate purchase: already owned")
    order_refunded_notify(order=order, amount=int(order.total), destination=went, why="duplicate")
    return went


def order_refund(*, buyer: User, order_id: int, reason: str = "", at: datetime | None = None) -> Order:
    """Refund a one-time order in full, no questions asked, inside the refund window if nothing
    was downloaded; the license is revoked and the money goes back through the rail that paid.
    `at`: when the buyer asks (default now; demo history passes a past moment), checked against
    the window and dating the refund.
    Raises NotFound, RefundWindowClosed (downloaded, window over, or released), InvalidState."""
    now = at or timezone.now()
    with transaction.atomic(durable=True):
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("escrow")
            .filter(pk=order_id, buyer=buyer)
            .first()
        )
        if order is None:
            raise NotFound("No such order.")
        if order.kind == PlanKind.SUBSCRIPTION:
            raise InvalidState(
                "Cancel the subscription to get the unused days back.",
                detail={"subscription": order.subscription_id},
            )
        if order.kind == PlanKind.PER_INFERENCE:
            raise InvalidState("Prepaid credit stays in your wallet for calls; it is not refunded.")
        if order.status == OrderStatus.DISPUTED:
            raise InvalidState("This order is under dispute; staff will resolve it.")
        if order.status in (OrderStatus.AWAITING_PAYMENT, OrderStatus.CANCELED):
            raise InvalidState("Nothing was paid for this order.", detail={"status": order.status})
        if order.status == OrderStatus.REFUNDED:
            raise InvalidState("This order was already refunded.")
        lic = License.objects.select_for_update().filter(order=order).first()
        if lic is not None and lic.downloads_used > 0:
            raise RefundWindowClosed("You downloaded this model, so it can no longer be refunded.")
        escrow = order.escrow
        if order.status != OrderStatus.IN_ESCROW or escrow is None or escrow.release_after <= now:
            closes = escrow.release_after if escrow is not None else None
            raise RefundWindowClosed(
                "The refund window of this order has closed.",
                detail={"window_closed_at": closes.isoformat() if closes else None},
            )
        escrow_refund(escrow_id=escrow.pk, at=at)  # the escrow hook marks the order refunded
        order.refresh_from_db()
    went = rail_refund(order=order, amount=int(order.total), reason=reason or "Refund within the window")
    order_refunded_notify(order=order, amount=int(order.total), destination=went, why="window")
    return order


def order_dispute_open(
    *,
    buyer: User,
    order_id: int,
    reason: str,
    evidence: str,
    evidence_file: File[Any] | None = None,
) -> Dispute:
    """Open a dispute on a paid order; money still in escrow stays held (frozen) until staff
    resolve it. Raises NotFound, InvalidState (not paid, refunded, or already disputed),
    ValidationFailed."""
    if not reason.strip() or not evidence.strip():
        raise ValidationFailed(
            "Say what went wrong and give your evidence.",
            detail={
                field: ["This field is required."]
                for field, value in (("reason", reason), ("evidence", evidence))
                if not value.strip()
            },
        )
    with transaction.atomic(durable=True):
        order = Order.objects.select_for_update().filter(pk=order_id, buyer=buyer).first()
        if order is None:
            raise NotFound("No such order.")
        if Dispute.objects.filter(order=order).exists():
            raise InvalidState("This order already has a dispute.")
        if order.kind == PlanKind.PER_INFERENCE or order.status not in (
            OrderStatus.IN_ESCROW,
            OrderStatus.RELEASED,
        ):
            raise InvalidState(
                "Only a paid purchase or subscription can be disputed.", detail={"status": order.status}
            )
        if order.status == OrderStatus.IN_ESCROW and order.escrow_id is not None:
            escrow_set_frozen(escrow_id=order.escrow_id, frozen=True)
        order_transition(order=order, event=OrderEvent.DISPUTE)
        dispute = Dispute.objects.create(
            order=order, buyer=buyer, reason=reason.strip()[:200], evidence=evidence.strip()
        )
        if evidence_file is not None:
            dispute.evidence_file.save(evidence_file.name or "evidence", evidence_file, save=True)
        dispute_opened_notify(dispute=dispute)
        return dispute


RESOLVE_DISPUTE_PERMISSION = "marketplace.resolve_dispute"


def dispute_resolve(
    *, staff_user: User, dispute_id: int, outcome: str, refund_amount: int | None = None, note: str = ""
) -> Dispute:
    """Staff resolve a dispute: "released" (the creator keeps it), "partial_refund" of
    `refund_amount`, or "refunded" in full. Money still held comes out of escrow; money already
    released is clawed back from the creator's payable balance. The refund then goes out through
    the rail. Raises PermissionDenied (no marketplace.resolve_dispute), NotFound, InvalidState,
    ValidationFailed, InsufficientFunds. The resolving staff member and the time are recorded."""
    # Being staff only opens the admin; moving the escrow needs the explicit permission.
    if not (staff_user.is_active and staff_user.has_perm(RESOLVE_DISPUTE_PERMISSION)):
        raise PermissionDenied(f"Resolving a dispute needs the {RESOLVE_DISPUTE_PERMISSION} permission.")
    if outcome not in (DisputeStatus.RELEASED, DisputeStatus.PARTIAL_REFUND, DisputeStatus.REFUNDED):
        raise ValidationFailed("Choose released, partial_refund or refunded.", detail={"outcome": [outcome]})
    now = timezone.now()
    with transaction.atomic(durable=True):
        dispute = Dispute.objects.filter(pk=dispute_id).first()
        if dispute is None:
            raise NotFound("No such dispute.")
        order = (
            Order.objects.select_for_update(of=("self",)).select_related("escrow").get(pk=dispute.order_id)
        )
        dispute = Dispute.objects.select_for_update().get(pk=dispute_id)
        if dispute.status != DisputeStatus.OPEN:
            raise InvalidState("This dispute is already resolved.", detail={"status": dispute.status})
        escrow = order.escrow
        assert escrow is not None
        amount = {
            DisputeStatus.RELEASED: 0,
            DisputeStatus.REFUNDED: int(order.total),
            DisputeStatus.PARTIAL_REFUND: refund_amount,
        }[DisputeStatus(outcome)]
        if (
            type(amount) is not int
            or not 0 <= amount <= order.total
            or (outcome == DisputeStatus.PARTIAL_REFUND and not 0 < amount < order.total)
        ):
            raise ValidationFailed(
                "A partial refund is more than nothing and less than the order total.",
                detail={"refund_amount": [f"Enter 1 to {int(order.total) - 1}."]},
            )
        if escrow.state == EscrowState.HELD:
            # The escrow hook settles the order with its escrow.
            if amount == 0:
                escrow_release(escrow_id=escrow.pk)
            else:
                escrow_refund(escrow_id=escrow.pk, amount=amount)
            order.refresh_from_db()
        else:
            if amount:
                sale_clawback(
                    escrow_id=escrow.pk, amount=amount, reason=f"Upheld dispute {dispute.pk}: {note}"[:255]
                )
            # After release: what went back before (unused subscription days) plus this clawback.
            back = int(order.refunded_amount) + amount
            order_transition(
                order=order,
                event=settlement_event(refunded=back, total=int(order.total)),
                refunded=back,
                now=now,
            )
        if order.status == OrderStatus.REFUNDED and order.subscription_id is not None:
            Subscription.objects.filter(pk=order.subscription_id).update(
                status=SubscriptionStatus.CANCELED,
                canceled_at=now,
                current_period_end=now,
                updated_at=now,
            )
        dispute.status = outcome
        dispute.refund_amount = amount
        dispute.resolution_note = note
        dispute.resolved_by = staff_user
        dispute.resolved_at = now
        dispute.save(
            update_fields=[
                "status",
                "refund_amount",
                "resolution_note",
                "resolved_by",
                "resolved_at",
                "updated_at",
            ]
        )
    went = rail_refund(order=order, amount=amount, reason=f"Dispute {dispute.pk} upheld") if amount else None
    dispute_resolved_notify(dispute=dispute, destination=went)
    return dispute
