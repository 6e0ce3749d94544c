"""Reads behind the creator dashboard: earnings over time (from the ledger), revenue and conversion
per listing (from orders and daily views), tier progress, and reviews. Every read is scoped to one
creator; amounts are integers in minor units of their asset (USD cents, AGR base units)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Sum
from django.utils import timezone

from accounts.models import User
from core.fields import WideSum
from marketplace.models import Listing, ListingDailyStat, Order, OrderStatus, Review
from marketplace.selectors.orders import PURCHASED_STATUSES
from tokenomics.models import Asset
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.selectors.ledger import account_daily_totals
from tokenomics.selectors.rates import creator_standing
from tokenomics.splits import BPS_DENOMINATOR, TierRule

# The ranges the dashboard offers, in days; a year is drawn week by week (53 points, not 365).
RANGE_DAYS = (30, 90, 365)
WEEKLY_FROM_DAYS = 365
# Orders that were paid, whatever became of them later (a refunded order was still a sale made).
PAID_STATUSES = (*PURCHASED_STATUSES, OrderStatus.REFUNDED)


@dataclass(frozen=True)
class EarningsPoint:
    start: date  # the day, or the Monday that starts the week
    gross: int  # released from escrow to the split, less clawbacks: what buyers paid for good
    earnings: int  # the creator's part: credited to their payable balance, less clawbacks


@dataclass(frozen=True)
class EarningsSeries:
    asset: str
    days: int
    interval: str  # "day" or "week"
    points: list[EarningsPoint]

    @property
    def gross(self) -> int:
        return sum(point.gross for point in self.points)

    @property
    def earnings(self) -> int:
        return sum(point.earnings for point in self.points)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def earnings_series(
    *, creator: User, asset: str, days: int = 30, now: datetime | None = None
) -> EarningsSeries:
    """The creator's sales (gross) and earnings in `asset` per day over the last `days` days ending
    today, or per week (Monday to Sunday) for a year, from the ledger. Every bucket is present, zero
    when nothing sold. Raises ValueError for a range or asset it does not offer."""
    if days not in RANGE_DAYS:
        raise ValueError(f"days must be one of {RANGE_DAYS}, got {days!r}")
    if asset not in Asset.values:
        raise ValueError(f"asset must be one of {Asset.values}, got {asset!r}")
    today = timezone.localdate(now)
    first = today - timedelta(days=days - 1)
    weekly = days >= WEEKLY_FROM_DAYS
    if weekly:
        first -= timedelta(days=first.weekday())  # whole weeks: start on the Monday
    since = _local_midnight(first)
    # Gross leaves escrow (negative entries) in the creator's SALE transactions; a clawback gives
    # back part of it, taken wholly from the creator's payable balance (negative entries there).
    released = account_daily_totals(
        kind=AccountKind.ESCROW,
        asset=asset,
        since=since,
        transaction_kinds=[TransactionKind.SALE],
        party=creator,
    )
    clawed_back = account_daily_totals(
        kind=AccountKind.CREATOR_PAYABLE,
        asset=asset,
        since=since,
        transaction_kinds=[TransactionKind.SALE_CLAWBACK],
        owner=creator,
    )
    credited = account_daily_totals(
        kind=AccountKind.CREATOR_PAYABLE,
        asset=asset,
        since=since,
        transaction_kinds=[TransactionKind.SALE],
        owner=creator,
    )
    step = 7 if weekly else 1
    starts = [first + timedelta(days=offset) for offset in range(0, (today - first).days + 1, step)]
    gross = dict.fromkeys(starts, 0)
    earnings = dict.fromkeys(starts, 0)

    def bucket(day: date) -> date:
        return day - timedelta(days=day.weekday()) if weekly else day

    for day, total in released.items():
        gross[bucket(day)] -= total
    for day, total in clawed_back.items():
        gross[bucket(day)] += total
        earnings[bucket(day)] += total
    for day, total in credited.items():
        earnings[bucket(day)] += total
    return EarningsSeries(
        asset=asset,
        days=days,
        interval="week" if weekly else "day",
        points=[EarningsPoint(start=start, gross=gross[start], earnings=earnings[start]) for start in starts],
    )


@dataclass(frozen=True)
class AssetRevenue:
    asset: str
    gross: int  # Σ order totals
    refunded: int  # Σ refunded amounts

    @property
    def net(self) -> int:
        return self.gross - self.refunded


@dataclass(frozen=True)
class ListingRevenue:
    listing: Listing
    orders: int  # paid orders, refunded ones included
    revenue: list[AssetRevenue]  # USD, then AGR


def per_listing_revenue(*, creator: User) -> list[ListingRevenue]:
    """Every listing of the creator with its paid orders and what buyers paid per asset (gross,
    refunded), from the orders; best-selling first."""
    listings = list(Listing.objects.filter(creator=creator).order_by("title", "pk"))
    rows = (
        Order.objects.filter(listing__creator=creator, status__in=PAID_STATUSES)
        .values("listing_id", "asset")
        .annotate(orders=Count("pk"), gross=WideSum("total"), refunded=WideSum("refunded_amount"))
        .order_by()
    )
    orders: dict[int, int] = {}
    sums: dict[tuple[int, str], tuple[int, int]] = {}
    for row in rows:
        orders[row["listing_id"]] = orders.get(row["listing_id"], 0) + row["orders"]
        sums[(row["listing_id"], row["asset"])] = (row["gross"], row["refunded"])
    result = [
        ListingRevenue(
            listing=listing,
            orders=orders.get(listing.pk, 0),
            revenue=[
                AssetRevenue(
                    asset=asset,
                    gross=sums.get((listing.pk, asset), (0, 0))[0],
                    refunded=sums.get((listing.pk, asset), (0, 0))[1],
                )
                for asset in Asset.values
            ],
        )
        for listing in listings
    ]
    return sorted(result, key=lambda row: -row.orders)


@dataclass(frozen=True)
class ListingConversion:
    listing: Listing
    views: int
    orders: int
    rate_bps: int | None  # orders per view in basis points, rounded down; None without views


@dataclass(frozen=True)
class Conversion:
    days: int
    rows: list[ListingConversion]
    views: int
    orders: int
    rate_bps: int | None


def _rate(orders: int, views: int) -> int | None:
    return orders * BPS_DENOMINATOR // views if views else None


def conversion(*, creator: User, days: int = 30, now: datetime | None = None) -> Conversion:
    """Page views (ListingDailyStat) against paid orders per listing of the creator over the last
    `days` days, with the conversion rate in basis points."""
    today = timezone.localdate(now)
    first = today - timedelta(days=days - 1)
    views = {
        row["listing_id"]: row["views"] or 0
        for row in ListingDailyStat.objects.filter(listing__creator=creator, day__gte=first, day__lte=today)
        .values("listing_id")
        .annotate(views=Sum("views"))
        .order_by()
    }
    orders = {
        row["listing_id"]: row["n"]
        for row in Order.objects.filter(
            listing__creator=creator, status__in=PAID_STATUSES, paid_at__gte=_local_midnight(first)
        )
        .values("listing_id")
        .annotate(n=Count("pk"))
        .order_by()
    }
    rows = [
        ListingConversion(
            listing=listing,
            views=views.get(listing.pk, 0),
            orders=orders.get(listing.pk, 0),
            rate_bps=_rate(orders.get(listing.pk, 0), views.get(listing.pk, 0)),
        )
        for listing in Listing.objects.filter(creator=creator).order_by("title", "pk")
    ]
    total_views, total_orders = sum(views.values()), sum(orders.values())
    return Conversion(
        days=days,
        rows=rows,
        views=total_views,
        orders=total_orders,
        rate_bps=_rate(total_orders, total_views),
    )


@dataclass(frozen=True)
class TierProgress:
    tier: TierRule
    next_tier: TierRule | None  # None at the top tier
    net_sales_cents: int  # lifetime, USD equivalent
    remaining_cents: int | None  # still to sell to reach the next tier
    progress_bps: int  # from this tier's threshold to the next one's, rounded down; 10_000 at the top


def tier_progress(*, creator: User) -> TierProgress:
    """The creator's tier (from the ledger, see tokenomics.selectors.rates) and how far along they
    are toward the next one."""
    standing = creator_standing(creator=creator)
    upcoming = standing.next_tier
    if upcoming is None:
        return TierProgress(
            tier=standing.tier,
            next_tier=None,
            net_sales_cents=standing.net_sales_cents,
            remaining_cents=None,
            progress_bps=BPS_DENOMINATOR,
        )
    span = upcoming.threshold - standing.tier.threshold
    return TierProgress(
        tier=standing.tier,
        next_tier=upcoming,
        net_sales_cents=standing.net_sales_cents,
        remaining_cents=upcoming.threshold - standing.net_sales_cents,
        progress_bps=(standing.net_sales_cents - standing.tier.threshold) * BPS_DENOMINATOR // span,
    )


def recent_reviews(*, creator: User, awaiting_reply: bool = False, limit: int = 10) -> list[Review]:
    """The newest reviews of the creator's listings (only those without a reply, if asked)."""
    reviews = Review.objects.filter(listing__creator=creator).select_related("listing", "buyer")
    if awaiting_reply:
        reviews = reviews.filter(replied_at__isnull=True)
    return list(reviews.order_by("-created_at", "-pk")[:limit])


def creator_has_listings(*, creator: User) -> bool:
    """Whether the user has created any listing (and so is a creator)."""
    return Listing.objects.filter(creator=creator).exists()
