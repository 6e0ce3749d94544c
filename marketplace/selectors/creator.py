"""Reads for creators managing their own listings: drafts, versions and plans included.

Someone else's listing is only ever revealed when it is public: a published listing of another
creator is PermissionDenied (it exists and anyone can see it, but not change it); anything else
is NotFound, so a draft's slug leaks nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet

from accounts.models import User
from marketplace.errors import NotFound, PermissionDenied
from marketplace.models import Listing, ListingStatus, Plan, PlanKind, Tag
from marketplace.selectors.catalog import versions_newest_first
from tokenomics.money import micro_usd_to_cents_ceil
from tokenomics.selectors.rates import inference_compute_fee_micro


def creator_listing_list(*, creator: User) -> QuerySet[Listing]:
    """The creator's listings, newest first, with plans (active first), versions and counts."""
    return (
        Listing.objects.filter(creator=creator)
        .select_related("category")
        .prefetch_related(
            Prefetch("plans", queryset=Plan.objects.order_by("-is_active", "position", "price_cents", "pk")),
            Prefetch("versions", queryset=versions_newest_first()),
        )
        .annotate(
            active_plan_count=Count("plans", filter=Q(plans__is_active=True), distinct=True),
            version_count=Count("versions", distinct=True),
        )
        .order_by("-created_at", "-pk")
    )


def listing_creator_check(*, listing: Listing, user: User) -> Listing:
    """`listing` when `user` created it. Raises PermissionDenied (another creator's published
    listing) or NotFound (another creator's listing in any other state)."""
    if listing.creator_id == user.pk:
        return listing
    if listing.status == ListingStatus.PUBLISHED:
        raise PermissionDenied("Only the listing's creator can manage it.")
    raise NotFound("No such listing.")


def creator_listing_get(*, slug: str, user: User) -> Listing:
    """The listing `slug` for its creator to manage, with category, tags, plans and versions.

    Raises NotFound (no such listing, or another creator's unpublished one) and PermissionDenied
    (another creator's published listing)."""
    listing = (
        Listing.objects.select_related("category", "creator")
        .prefetch_related(
            Prefetch("tags", queryset=Tag.objects.order_by("name")),
            Prefetch("plans", queryset=Plan.objects.order_by("-is_active", "position", "price_cents", "pk")),
            Prefetch("versions", queryset=versions_newest_first()),
        )
        .filter(slug=slug)
        .first()
    )
    if listing is None:
        raise NotFound("No such listing.")
    return listing_creator_check(listing=listing, user=user)


def creator_plan_get(*, plan_id: int, user: User) -> Plan:
    """Plan `plan_id` for the creator of its listing. Raises NotFound and PermissionDenied as
    creator_listing_get does for the plan's listing."""
    plan = Plan.objects.select_related("listing").filter(pk=plan_id).first()
    if plan is None:
        raise NotFound("No such plan.")
    listing_creator_check(listing=plan.listing, user=user)
    return plan


@dataclass(frozen=True)
class ComputeFeeWarning:
    """A subscription plan whose calls could cost more in compute fees than it earns: the fees
    are paid out of the period's payment before the creator's split (SPEC §4)."""

    plan_id: int
    plan_name: str
    price_cents: int
    quota: int | None  # None: unlimited calls
    fees_cents: int | None  # quota x the current per-call compute fee (rounded up); None if unlimited


def subscription_compute_fee_warnings(*, listing: Listing) -> list[ComputeFeeWarning]:
    """Active subscription plans whose monthly quota x the current compute fee exceeds their price
    (and unlimited ones, where nothing bounds the fees). USD prices only."""
    fee_micro = inference_compute_fee_micro(size=listing.size)
    warnings = []
    for plan in listing.plans.filter(kind=PlanKind.SUBSCRIPTION, is_active=True).order_by("position", "pk"):
        if plan.monthly_quota is None:
            if fee_micro > 0:
                warnings.append(ComputeFeeWarning(plan.pk, plan.name, int(plan.price_cents), None, None))
            continue
        fees = micro_usd_to_cents_ceil(micro_usd=plan.monthly_quota * fee_micro)
        if fees > plan.price_cents:
            warnings.append(
                ComputeFeeWarning(plan.pk, plan.name, int(plan.price_cents), plan.monthly_quota, fees)
            )
    return warnings
