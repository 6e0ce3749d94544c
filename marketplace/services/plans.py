"""Writes of a listing's plans by its creator: add, change, stop selling. Each write locks the
listing's row and ends by refreshing its pricing columns and search entry (listing_after_write)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.models import User
from marketplace.errors import InvalidState
from marketplace.models import Listing, ListingStatus, Plan
from marketplace.selectors.creator import listing_creator_check
from marketplace.services.listing_fields import (
    MAX_ACTIVE_PLANS,
    PLAN_EDITABLE_FIELDS,
    errors_raise,
    plan_fields_clean,
)
from marketplace.services.listings import listing_after_write, listing_lock, listing_not_taken_down


def plan_add(
    *,
    listing: Listing,
    actor: User,
    kind: str,
    name: str,
    price_cents: int,
    price_agr: int | None = None,
    interval: str = "",
    monthly_quota: int | None = None,
    rate_limit_per_minute: int = 60,
    download_limit: int | None = None,
    description: str = "",
) -> Plan:
    """Add a plan to the creator's listing. Prices: US cents, 1 to 99,999,999 (one-time: the price;
    subscription: per interval; per-inference: per 1,000 calls); the AGR price in base units.
    Side effects: refreshes the listing's pricing columns, re-indexes. Raises NotFound/
    PermissionDenied (not the creator), ValidationFailed, InvalidState (taken down; too many plans)."""
    listing_creator_check(listing=listing, user=actor)
    cleaned = plan_fields_clean(
        {
            "kind": kind,
            "name": name,
            "price_cents": price_cents,
            "price_agr": price_agr,
            "interval": interval,
            "monthly_quota": monthly_quota,
            "rate_limit_per_minute": rate_limit_per_minute,
            "download_limit": download_limit,
            "description": description,
        }
    )
    with transaction.atomic():
        locked = listing_lock(listing)
        listing_not_taken_down(locked)
        plans = Plan.objects.filter(listing=locked)
        if plans.filter(is_active=True).count() >= MAX_ACTIVE_PLANS:
            raise InvalidState(f"A listing can offer at most {MAX_ACTIVE_PLANS} active plans.")
        last = plans.order_by("-position").values_list("position", flat=True).first()
        cleaned["position"] = 0 if last is None else min(last + 1, 32_767)
        plan = Plan.objects.create(listing=locked, **cleaned)
        listing_after_write(locked.pk)
    return plan


def plan_update(*, plan: Plan, actor: User, **fields: Any) -> Plan:
    """Change the given fields of a plan (not its kind), checked together with the rest. Buyers
    who already paid keep what they bought. Side effects: refreshes the listing's pricing columns,
    re-indexes. Raises NotFound/PermissionDenied (not the creator), ValidationFailed, InvalidState."""
    listing_creator_check(listing=plan.listing, user=actor)
    unknown = sorted(set(fields) - PLAN_EDITABLE_FIELDS)
    errors_raise({field: ["This field cannot be changed."] for field in unknown})
    with transaction.atomic():
        locked_listing = listing_lock(plan.listing)
        listing_not_taken_down(locked_listing)
        locked = Plan.objects.select_for_update().get(pk=plan.pk)
        current = {field: getattr(locked, field) for field in PLAN_EDITABLE_FIELDS} | {"kind": locked.kind}
        cleaned = plan_fields_clean(current | fields)
        for field in PLAN_EDITABLE_FIELDS:
            setattr(locked, field, cleaned[field])
        locked.save()
        listing_after_write(locked_listing.pk)
    return locked


def plan_deactivate(*, plan: Plan, actor: User) -> Plan:
    """Stop selling a plan (existing licenses and subscriptions keep running; already inactive:
    no change). Side effects: refreshes the listing's pricing columns, re-indexes. Raises
    NotFound/PermissionDenied (not the creator) and InvalidState (the last active plan of a
    published listing: unpublish it first)."""
    listing_creator_check(listing=plan.listing, user=actor)
    with transaction.atomic():
        locked_listing = listing_lock(plan.listing)
        locked = Plan.objects.select_for_update().get(pk=plan.pk)
        if locked.is_active:
            others = Plan.objects.filter(listing=locked_listing, is_active=True).exclude(pk=locked.pk)
            if locked_listing.status == ListingStatus.PUBLISHED and not others.exists():
                raise InvalidState(
                    "This is the last plan of a published listing; unpublish the listing first, "
                    "or add another plan."
                )
            locked.is_active = False
            locked.save(update_fields=["is_active", "updated_at"])
        listing_after_write(locked_listing.pk)
    return locked
