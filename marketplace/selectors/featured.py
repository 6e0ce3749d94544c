"""Reads of featured placements a creator bought."""

from __future__ import annotations

from marketplace.models import FeaturedPlacement
from tokenomics.models import Payment


def featured_placement_for_payment(*, payment: Payment) -> FeaturedPlacement | None:
    """The placement a paid featured payment bought (None while it is unpaid)."""
    return (
        FeaturedPlacement.objects.filter(ledger_transaction__reference=payment.reference)
        .select_related("listing")
        .first()
    )
