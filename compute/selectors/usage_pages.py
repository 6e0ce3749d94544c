"""Reads of the request log for pages: a buyer's calls and spend per day (the usage chart) and a
creator's inference revenue per listing (the creator dashboard)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import User
from compute.models_gateway import Entitlement, InferenceRequest, Outcome
from marketplace.models import Listing
from tokenomics.models import Asset
from tokenomics.models.ledger import AccountKind, LedgerAccount


@dataclass(frozen=True)
class UsageDay:
    day: date
    calls: int  # served calls
    failed: int
    spend_micro: int  # what the served calls cost, micro-USD


def usage_daily(*, user: User, days: int = 30, now: datetime | None = None) -> list[UsageDay]:
    """`user`'s calls and spend per UTC day over the last `days` days, oldest first, every day
    present (zeros where there was no call)."""
    now = now or timezone.now()
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    rows = (
        InferenceRequest.objects.filter(user=user, created_at__gte=start)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day")
        .annotate(
            calls=Count("pk", filter=Q(outcome=Outcome.OK)),
            failed=Count("pk", filter=Q(outcome=Outcome.FAILED)),
            creator=Sum("creator_price_micro"),
            compute=Sum("compute_fee_micro"),
        )
        .order_by()
    )
    by_day: dict[date, dict[str, Any]] = {row["day"]: dict(row) for row in rows}
    result = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        row: dict[str, Any] = by_day.get(day, {})
        result.append(
            UsageDay(
                day=day,
                calls=int(row.get("calls") or 0),
                failed=int(row.get("failed") or 0),
                spend_micro=int(row.get("creator") or 0) + int(row.get("compute") or 0),
            )
        )
    return result


@dataclass(frozen=True)
class ListingInferenceRevenue:
    listing: Listing
    calls: int  # served calls, every entitlement
    prepaid_calls: int
    subscription_calls: int
    playground_calls: int
    gross_micro: int  # buyers' per-call prices (after their volume discounts), before the split
    settled_calls: int  # prepaid calls already billed into the split


def creator_inference_revenue(
    *, creator: User, days: int = 30, now: datetime | None = None
) -> list[ListingInferenceRevenue]:
    """Served calls and per-call revenue of each of `creator`'s listings over the last `days`
    days (the creator's share is credited by settlement, like a sale at their tier)."""
    now = now or timezone.now()
    start = now - timedelta(days=days)
    listings = {
        listing.pk: listing
        for listing in Listing.objects.filter(creator=creator).only("pk", "slug", "title", "status")
    }
    if not listings:
        return []
    ok = Q(outcome=Outcome.OK)
    rows = (
        InferenceRequest.objects.filter(listing_id__in=listings, created_at__gte=start, created_at__lt=now)
        .values("listing_id")
        .annotate(
            calls=Count("pk", filter=ok),
            prepaid=Count("pk", filter=ok & Q(entitlement=Entitlement.PREPAID)),
            subscription=Count("pk", filter=ok & Q(entitlement=Entitlement.SUBSCRIPTION)),
            playground=Count("pk", filter=ok & Q(entitlement=Entitlement.PLAYGROUND)),
            gross=Sum("creator_price_micro", filter=ok),
            settled=Count("pk", filter=ok & Q(settlement__isnull=False)),
        )
        .order_by()
    )
    result = [
        ListingInferenceRevenue(
            listing=listings[row["listing_id"]],
            calls=int(row["calls"]),
            prepaid_calls=int(row["prepaid"]),
            subscription_calls=int(row["subscription"]),
            playground_calls=int(row["playground"]),
            gross_micro=int(row["gross"] or 0),
            settled_calls=int(row["settled"]),
        )
        for row in rows
        if row["calls"]
    ]
    result.sort(key=lambda item: (-item.gross_micro, -item.calls, item.listing.slug))
    return result


@dataclass(frozen=True)
class PrepaidCredit:
    wallet_cents: int  # USD in the buyer's wallet (what per-inference calls reserve from)
    reserved_cents: int  # USD moved to the metering hold for calls, not yet consumed or returned


def prepaid_credit(*, user: User) -> PrepaidCredit:
    """The buyer's USD credit for per-inference calls: the wallet and what is reserved from it."""
    balances = dict(
        LedgerAccount.objects.filter(
            owner=user, asset=Asset.USD, kind__in=(AccountKind.WALLET, AccountKind.METERING_HOLD)
        ).values_list("kind", "balance")
    )
    return PrepaidCredit(
        wallet_cents=int(balances.get(AccountKind.WALLET, 0)),
        reserved_cents=int(balances.get(AccountKind.METERING_HOLD, 0)),
    )
