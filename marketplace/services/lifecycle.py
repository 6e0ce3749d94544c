"""The order lifecycle: an order's status moves only through `order_transition`, by an event, along
the explicit table below (like tokenomics' payment_mark); anything else is refused with
invalid_state and changes nothing.

    awaiting_payment --pay--> paid                 (pay-per-inference credit, nothing held)
    awaiting_payment --hold--> in_escrow           (one-time or subscription period paid)
    awaiting_payment --duplicate--> refunded       (a license the buyer already owns arrived paid)
    awaiting_payment --cancel--> canceled
    in_escrow --release | partial_refund--> released
    in_escrow --refund--> refunded
    in_escrow | released --dispute--> disputed
    disputed --release | partial_refund--> released
    disputed --refund--> refunded

Escrow moves drive the order: tokenomics tells the storefront about every release or refund of an
order's escrow through the escrow owner hook (registered in orders.register_payment_handlers), in
the escrow's own transaction, so an order never lags its escrow whoever resolved it. Only a dispute
settled after release (a clawback, no escrow move) and the events before any escrow exists are
applied by the services directly.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum

from django.db import connection
from django.utils import timezone

from marketplace.errors import InvalidState
from marketplace.models import License, Order, OrderStatus
from tokenomics.models import Escrow
from tokenomics.models.escrow import EscrowState


class OrderEvent(StrEnum):
    PAY = "pay"
    HOLD = "hold"
    DUPLICATE = "duplicate"
    CANCEL = "cancel"
    RELEASE = "release"
    PARTIAL_REFUND = "partial_refund"
    REFUND = "refund"
    DISPUTE = "dispute"


S, E = OrderStatus, OrderEvent
ORDER_TRANSITIONS: dict[tuple[OrderStatus, OrderEvent], OrderStatus] = {
    (S.AWAITING_PAYMENT, E.PAY): S.PAID,
    (S.AWAITING_PAYMENT, E.HOLD): S.IN_ESCROW,
    (S.AWAITING_PAYMENT, E.DUPLICATE): S.REFUNDED,
    (S.AWAITING_PAYMENT, E.CANCEL): S.CANCELED,
    (S.IN_ESCROW, E.RELEASE): S.RELEASED,
    (S.IN_ESCROW, E.PARTIAL_REFUND): S.RELEASED,
    (S.IN_ESCROW, E.REFUND): S.REFUNDED,
    (S.IN_ESCROW, E.DISPUTE): S.DISPUTED,
    (S.RELEASED, E.DISPUTE): S.DISPUTED,
    (S.DISPUTED, E.RELEASE): S.RELEASED,
    (S.DISPUTED, E.PARTIAL_REFUND): S.RELEASED,
    (S.DISPUTED, E.REFUND): S.REFUNDED,
}
del S, E

# Events that record money paid, and those that record how much went back to the buyer.
_PAID_EVENTS = {OrderEvent.PAY, OrderEvent.HOLD, OrderEvent.DUPLICATE}
_SETTLING_EVENTS = {OrderEvent.RELEASE, OrderEvent.PARTIAL_REFUND, OrderEvent.REFUND, OrderEvent.DUPLICATE}


def order_transition(
    *, order: Order, event: OrderEvent, refunded: int = 0, now: datetime | None = None
) -> Order:
    """Move a locked order (the caller holds its row lock, inside its transaction) by `event`, and
    record what goes with it: paid_at when paid; released_at when (partly) released; refunded_amount
    and refunded_at when money went back (`refunded`: 1..total-1 for partial_refund, the total for
    refund and duplicate, 0 otherwise); a full refund revokes the order's license. Raises
    InvalidState for a pair outside ORDER_TRANSITIONS (nothing changes)."""
    current, event = OrderStatus(order.status), OrderEvent(event)
    target = ORDER_TRANSITIONS.get((current, event))
    if target is None:
        raise InvalidState(
            f"An order that is {current.label.lower()} cannot take “{event.value}”.",
            detail={"status": current.value, "event": event.value},
        )
    expected = {OrderEvent.REFUND: int(order.total), OrderEvent.DUPLICATE: int(order.total)}.get(event)
    if expected is not None:
        refunded = expected
    elif event == OrderEvent.PARTIAL_REFUND:
        if type(refunded) is not int or not 0 < refunded < order.total:
            raise InvalidState("A partial refund is more than nothing and less than the total.")
    else:
        refunded = 0
    now = now or timezone.now()
    order.status = target
    update = ["status", "updated_at"]
    if event in _PAID_EVENTS:
        order.paid_at = order.paid_at or now
        update.append("paid_at")
    if event in (OrderEvent.RELEASE, OrderEvent.PARTIAL_REFUND):
        order.released_at = order.released_at or now
        update.append("released_at")
    if event in _SETTLING_EVENTS:
        order.refunded_amount = refunded
        order.refunded_at = now if refunded else None
        update += ["refunded_amount", "refunded_at"]
    order.save(update_fields=update)
    if event == OrderEvent.REFUND:
        License.objects.filter(order=order, revoked_at__isnull=True).update(revoked_at=now, updated_at=now)
    return order


def settlement_event(*, refunded: int, total: int) -> OrderEvent:
    """The event that records a settlement returning `refunded` of `total` to the buyer."""
    if refunded == total:
        return OrderEvent.REFUND
    return OrderEvent.PARTIAL_REFUND if refunded else OrderEvent.RELEASE


# ------------------------------------------------------------------------- the escrow owner hook

_ESCROW_EVENTS = {
    EscrowState.RELEASED: OrderEvent.RELEASE,
    EscrowState.PARTIALLY_REFUNDED: OrderEvent.PARTIAL_REFUND,
    EscrowState.REFUNDED: OrderEvent.REFUND,
}


def escrow_order_lock(escrow_id: int) -> None:
    """tokenomics locks the order holding an escrow before the escrow itself (the lock order)."""
    list(Order.objects.select_for_update().filter(escrow_id=escrow_id).values_list("pk", flat=True))


def escrow_order_resolved(escrow: Escrow) -> None:
    """tokenomics calls this in the transaction that released or refunded an order's escrow."""
    order = Order.objects.select_for_update().filter(escrow_id=escrow.pk).first()
    if order is None:
        return  # held under an order reference by something else (tests of the ledger alone)
    # Dated as the escrow was resolved (now, or the past moment demo history resolved it at).
    order_transition(
        order=order,
        event=_ESCROW_EVENTS[EscrowState(escrow.state)],
        refunded=escrow.refunded_amount,
        now=escrow.resolved_at,
    )


def license_lock_owned(*, buyer_id: int, version_id: int) -> bool:
    """Serialise the arrivals of one buyer's licenses to one version (a transaction-scoped advisory
    lock on PostgreSQL; SQLite's IMMEDIATE transactions already serialise writers) and say whether
    the buyer already holds a valid license to it. Called inside the caller's transaction."""
    if connection.vendor == "postgresql":
        digest = hashlib.sha256(f"license:{buyer_id}:{version_id}".encode()).digest()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest[:8], "big", signed=True)]
            )
    return License.objects.filter(buyer_id=buyer_id, version_id=version_id, revoked_at__isnull=True).exists()
