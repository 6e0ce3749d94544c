"""Reads of the request log: a buyer's usage, and calls per provider and per integration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from accounts.models import User
from compute.models_gateway import InferenceRequest, Outcome
from compute.selectors.quota import subscription_quota_left
from marketplace.models import Listing, Subscription


@dataclass(frozen=True)
class ListingUsage:
    listing_id: int
    listing_slug: str
    listing_title: str
    calls: int  # served calls in the period
    failed: int  # failed calls in the period (never charged)
    spend_micro: int  # micro-USD charged in the period (settled or not)
    quota_left: int | None  # the open subscription's calls left this period, if any
    quota: int | None  # its monthly quota (None: unlimited or no subscription)


@dataclass(frozen=True)
class UsageSummary:
    start: datetime
    end: datetime
    calls: int
    spend_micro: int
    listings: list[ListingUsage]


def _month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def usage_summary(*, user: User, start: datetime | None = None, end: datetime | None = None) -> UsageSummary:
    """The buyer's calls and spend per listing in [start, end) (default: this calendar month, UTC),
    with each open subscription's quota left. Reads the request log (drained from the stream by
    the settlement task; the usage API drains first, so a call just made is counted)."""
    end = end or timezone.now()
    start = start or _month_start(end)
    rows = (
        InferenceRequest.objects.filter(user=user, created_at__gte=start, created_at__lt=end)
        .values("listing_id")
        .annotate(
            calls=Count("pk", filter=Q(outcome=Outcome.OK)),
            failed=Count("pk", filter=Q(outcome=Outcome.FAILED)),
            creator=Sum("creator_price_micro"),
            compute=Sum("compute_fee_micro"),
        )
        .order_by()
    )
    by_listing: dict[int, dict[str, Any]] = {row["listing_id"]: dict(row) for row in rows}
    subscriptions = {
        sub.listing_id: sub
        for sub in Subscription.objects.filter(buyer=user, status=Subscription.Status.ACTIVE).select_related(
            "plan"
        )
    }
    ids = set(by_listing) | set(subscriptions)
    listings = {
        listing.pk: listing for listing in Listing.objects.filter(pk__in=ids).only("pk", "slug", "title")
    }
    result: list[ListingUsage] = []
    for listing_id in sorted(ids, key=lambda pk: listings[pk].slug):
        row: dict[str, Any] = by_listing.get(listing_id, {})
        sub = subscriptions.get(listing_id)
        result.append(
            ListingUsage(
                listing_id=listing_id,
                listing_slug=listings[listing_id].slug,
                listing_title=listings[listing_id].title,
                calls=int(row.get("calls") or 0),
                failed=int(row.get("failed") or 0),
                spend_micro=int(row.get("creator") or 0) + int(row.get("compute") or 0),
                quota_left=subscription_quota_left(subscription=sub) if sub is not None else None,
                quota=sub.monthly_quota if sub is not None else None,
            )
        )
    return UsageSummary(
        start=start,
        end=end,
        calls=sum(item.calls for item in result),
        spend_micro=sum(item.spend_micro for item in result),
        listings=result,
    )


def calls_by_provider(start: datetime, end: datetime) -> dict[int, int]:
    """Served calls per provider (user id) in [start, end): the revenue epochs' volume weight."""

    rows = (
        InferenceRequest.objects.filter(
            outcome=Outcome.OK, provider__isnull=False, created_at__gte=start, created_at__lt=end
        )
        .values("provider_id")
        .annotate(calls=Count("pk"))
        .order_by()
    )
    return {int(row["provider_id"]): int(row["calls"]) for row in rows}


def calls_by_integration(start: datetime, end: datetime) -> dict[str, int]:
    """Served calls per `Agora-Integration` id in [start, end) (calls without one are left out)."""

    rows = (
        InferenceRequest.objects.filter(outcome=Outcome.OK, created_at__gte=start, created_at__lt=end)
        .exclude(integration_id="")
        .values("integration_id")
        .annotate(calls=Count("pk"))
        .order_by()
    )
    return {str(row["integration_id"]): int(row["calls"]) for row in rows}
