"""Reads of orders, licenses and subscriptions, always scoped to their owner."""

from __future__ import annotations

from accounts.models import User
from marketplace.models import Listing, Order, OrderStatus

# Orders that count as a purchase: paid, and not refunded in full.
PURCHASED_STATUSES = (OrderStatus.PAID, OrderStatus.IN_ESCROW, OrderStatus.RELEASED, OrderStatus.DISPUTED)


def buyer_has_purchased(*, buyer: User, listing: Listing) -> bool:
    """Whether `buyer` is a verified buyer of `listing` (a paid order not refunded in full)."""
    return Order.objects.filter(buyer=buyer, listing=listing, status__in=PURCHASED_STATUSES).exists()
