"""What the wallet history's "order:<id>" references are about: the model, the order page."""

from __future__ import annotations

from collections.abc import Sequence

from django.urls import reverse

from accounts.models import User
from marketplace.models import Order, PlanKind
from tokenomics.selectors.history import ReferenceInfo

ORDER_PREFIX = "order"
# What paying for each kind of plan is called in the history ("Purchase" is the default).
ORDER_NOUNS = {PlanKind.SUBSCRIPTION: "Subscription", PlanKind.PER_INFERENCE: "Pay-per-call credit"}


def order_reference_info(references: Sequence[str], viewer: User) -> dict[str, ReferenceInfo]:
    """For each "order:<id>" the viewer's ledger shows: the listing's title, and a link to the
    order (its buyer) or to the listing's management page (its creator, who sees the sale)."""
    ids = {}
    for reference in references:
        _, _, pk = reference.partition(":")
        if pk.isdigit():
            ids[int(pk)] = reference
    found: dict[str, ReferenceInfo] = {}
    for order in Order.objects.filter(pk__in=ids).select_related("listing"):
        if order.buyer_id == viewer.pk:
            url = reverse("marketplace:order", args=[order.pk])
        elif order.listing.creator_id == viewer.pk:
            url = reverse("marketplace:listing-manage", args=[order.listing.slug])
        else:  # never shown: the ledger lists only the viewer's own entries
            continue
        found[ids[order.pk]] = ReferenceInfo(
            subject=order.listing.title, url=url, noun=ORDER_NOUNS.get(PlanKind(order.kind), "")
        )
    return found
