"""Dashboard reads: earnings from real ledger sales (escrow hold + release, Bronze split: the
creator's part is 80% of gross), revenue and conversion from orders and daily views, tier progress,
reviews; never another creator's data."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import User
from marketplace.models import Listing, ListingDailyStat, Order, OrderStatus
from marketplace.selectors.dashboard import (
    conversion,
    earnings_series,
    per_listing_revenue,
    recent_reviews,
    tier_progress,
)
from marketplace.services.reviews import review_reply, review_upsert
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import ListingFactory, PlanFactory
from tests.tokenomics.factories import funded_wallet
from tokenomics.models import Escrow
from tokenomics.money import agr
from tokenomics.selectors.ledger import ledger_verify
from tokenomics.services.escrow import escrow_hold, escrow_refund, escrow_release, sale_clawback
from tokenomics.splits import CreatorTier

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 18, 15, 0, tzinfo=timezone.get_fixed_timezone(0))  # a Wednesday
TODAY = NOW.date()
_refs = itertools.count()


def sale(*, creator: User, amount: int, at: datetime, asset: str = "USD", release: bool = True) -> Escrow:
    """A buyer's payment held in escrow and released to the split at `at`, through tokenomics."""
    with time_machine.travel(at, tick=False):
        buyer = UserFactory()
        wallet = funded_wallet(user=buyer, amount=amount, asset=asset)
        escrow = escrow_hold(
            reference=f"test-sale:{next(_refs)}",
            creator=creator,
            source_account=wallet,
            amount=amount,
            payer=buyer,
        )
        if release:
            escrow = escrow_release(escrow_id=escrow.pk)
    return escrow


def days_ago(n: int, hour: int = 12) -> datetime:
    return (NOW - timedelta(days=n)).replace(hour=hour)


def by_day(series) -> dict[date, tuple[int, int]]:
    return {point.start: (point.gross, point.earnings) for point in series.points}


@pytest.fixture
def creator() -> User:
    return UserFactory()


@pytest.fixture(autouse=True)
def _ledger_stays_consistent():
    yield
    assert ledger_verify().ok


def test_every_day_of_the_range_is_present_and_empty_without_sales(creator):
    series = earnings_series(creator=creator, asset="USD", days=30, now=NOW)
    assert series.interval == "day"
    assert len(series.points) == 30
    assert series.points[0].start == TODAY - timedelta(days=29)
    assert series.points[-1].start == TODAY
    assert (series.gross, series.earnings) == (0, 0)


def test_daily_gross_and_earnings_come_from_released_sales(creator):
    sale(creator=creator, amount=10_000, at=days_ago(2))
    sale(creator=creator, amount=4_901, at=days_ago(2, hour=18))
    sale(creator=creator, amount=4_900, at=days_ago(0, hour=9))
    series = earnings_series(creator=creator, asset="USD", days=30, now=NOW)
    days = by_day(series)
    # Bronze: floor(80%) of each sale, per sale (floor(4_901 * 0.8) = 3_920).
    assert days[TODAY - timedelta(days=2)] == (14_901, 8_000 + 3_920)
    assert days[TODAY] == (4_900, 3_920)
    assert days[TODAY - timedelta(days=1)] == (0, 0)
    assert (series.gross, series.earnings) == (19_801, 15_840)


def test_held_and_refunded_payments_are_not_sales(creator):
    sale(creator=creator, amount=5_000, at=days_ago(1), release=False)
    refunded = sale(creator=creator, amount=7_000, at=days_ago(1), release=False)
    escrow_refund(escrow_id=refunded.pk)
    assert earnings_series(creator=creator, asset="USD", days=30, now=NOW).gross == 0


def test_partial_refund_counts_what_was_kept(creator):
    held = sale(creator=creator, amount=10_000, at=days_ago(3), release=False)
    with time_machine.travel(days_ago(3, hour=13), tick=False):
        escrow_refund(escrow_id=held.pk, amount=2_500)
    days = by_day(earnings_series(creator=creator, asset="USD", days=30, now=NOW))
    assert days[TODAY - timedelta(days=3)] == (7_500, 6_000)


def test_clawback_is_subtracted_on_its_own_day(creator):
    released = sale(creator=creator, amount=10_000, at=days_ago(5))
    with time_machine.travel(days_ago(1), tick=False):
        sale_clawback(escrow_id=released.pk, amount=3_000)
    days = by_day(earnings_series(creator=creator, asset="USD", days=30, now=NOW))
    assert days[TODAY - timedelta(days=5)] == (10_000, 8_000)
    assert days[TODAY - timedelta(days=1)] == (-3_000, -3_000)


def test_assets_are_kept_apart_and_agr_is_exact(creator):
    sale(creator=creator, amount=1_000, at=days_ago(1))
    sale(creator=creator, amount=agr(10) + 1, at=days_ago(1), asset="AGR")
    usd = earnings_series(creator=creator, asset="USD", days=30, now=NOW)
    agr_series = earnings_series(creator=creator, asset="AGR", days=30, now=NOW)
    assert (usd.gross, usd.earnings) == (1_000, 800)
    assert agr_series.gross == agr(10) + 1
    assert agr_series.earnings == (agr(10) + 1) * 8_000 // 10_000


def test_sales_before_the_range_are_left_out(creator):
    sale(creator=creator, amount=1_000, at=days_ago(30))  # day 31 back: outside 30 days
    sale(creator=creator, amount=2_000, at=days_ago(29, hour=0))  # first day of the range
    assert earnings_series(creator=creator, asset="USD", days=30, now=NOW).gross == 2_000
    assert earnings_series(creator=creator, asset="USD", days=90, now=NOW).gross == 3_000


def test_a_year_is_drawn_week_by_week(creator):
    sale(creator=creator, amount=1_000, at=days_ago(0))  # Wednesday
    sale(creator=creator, amount=2_000, at=days_ago(2))  # Monday, same week
    sale(creator=creator, amount=4_000, at=days_ago(3))  # Sunday, the week before
    sale(creator=creator, amount=8_000, at=days_ago(300))
    series = earnings_series(creator=creator, asset="USD", days=365, now=NOW)
    assert series.interval == "week"
    assert all(point.start.weekday() == 0 for point in series.points)
    assert series.points[-1].start == TODAY - timedelta(days=2)
    assert series.points[0].start <= TODAY - timedelta(days=364)
    assert len(series.points) == 53
    weeks = by_day(series)
    assert weeks[TODAY - timedelta(days=2)] == (3_000, 2_400)
    assert weeks[TODAY - timedelta(days=9)] == (4_000, 3_200)
    assert series.gross == 15_000


def test_another_creators_sales_never_show(creator):
    other = UserFactory()
    sale(creator=other, amount=50_000, at=days_ago(1))
    sale(creator=creator, amount=1_000, at=days_ago(1))
    assert earnings_series(creator=creator, asset="USD", days=30, now=NOW).gross == 1_000
    assert earnings_series(creator=other, asset="USD", days=30, now=NOW).gross == 50_000


def test_unknown_range_or_asset_is_refused(creator):
    with pytest.raises(ValueError, match="days must be one of"):
        earnings_series(creator=creator, asset="USD", days=7)
    with pytest.raises(ValueError, match="asset must be one of"):
        earnings_series(creator=creator, asset="EUR", days=30)


def order(
    listing: Listing, *, total: int, asset: str = "USD", status: str = OrderStatus.RELEASED, **extra
) -> Order:
    """Stands in for an order paid through marketplace.services.orders (built in parallel)."""
    plan = PlanFactory(listing=listing)
    return Order.objects.create(
        buyer=extra.pop("buyer", None) or UserFactory(),
        plan=plan,
        listing=listing,
        kind=plan.kind,
        rail="card" if asset == "USD" else "agr",
        asset=asset,
        list_amount=total,
        total=total,
        status=status,
        paid_at=extra.pop("paid_at", timezone.now()),
        **extra,
    )


def test_per_listing_revenue_from_orders(creator):
    best = ListingFactory(creator=creator, title="B model")
    quiet = ListingFactory(creator=creator, title="A model")
    order(best, total=4_900)
    order(best, total=4_900, status=OrderStatus.REFUNDED, refunded_amount=4_900)
    order(best, total=agr(3), asset="AGR", status=OrderStatus.IN_ESCROW)
    order(best, total=999, status=OrderStatus.AWAITING_PAYMENT, paid_at=None)
    order(best, total=999, status=OrderStatus.CANCELED, paid_at=None)
    order(ListingFactory(), total=100_000)  # another creator's
    rows = per_listing_revenue(creator=creator)
    assert [row.listing for row in rows] == [best, quiet]
    top = rows[0]
    assert top.orders == 3
    usd, agr_row = top.revenue
    assert (usd.asset, usd.gross, usd.refunded, usd.net) == ("USD", 9_800, 4_900, 4_900)
    assert (agr_row.asset, agr_row.gross, agr_row.refunded) == ("AGR", agr(3), 0)
    assert rows[1].orders == 0
    assert [(r.gross, r.refunded) for r in rows[1].revenue] == [(0, 0), (0, 0)]


def test_conversion_in_basis_points(creator):
    listing = ListingFactory(creator=creator)
    unseen = ListingFactory(creator=creator)
    for offset, views in [(0, 100), (5, 200), (40, 10_000)]:  # the last is outside 30 days
        ListingDailyStat.objects.create(listing=listing, day=TODAY - timedelta(days=offset), views=views)
    ListingDailyStat.objects.create(listing=ListingFactory(), day=TODAY, views=5_000)  # another creator's
    order(listing, total=4_900, paid_at=days_ago(1))
    order(listing, total=4_900, paid_at=days_ago(3))
    order(listing, total=4_900, paid_at=days_ago(45))
    order(listing, total=4_900, status=OrderStatus.AWAITING_PAYMENT, paid_at=None)
    result = conversion(creator=creator, days=30, now=NOW)
    rows = {row.listing: row for row in result.rows}
    assert (rows[listing].views, rows[listing].orders, rows[listing].rate_bps) == (300, 2, 66)  # 0.66%
    assert (rows[unseen].views, rows[unseen].orders, rows[unseen].rate_bps) == (0, 0, None)
    assert (result.views, result.orders, result.rate_bps) == (300, 2, 66)


def test_tier_progress_from_ledger_sales(creator):
    fresh = tier_progress(creator=creator)
    assert fresh.tier.tier == CreatorTier.BRONZE
    assert fresh.next_tier.tier == CreatorTier.SILVER
    assert (fresh.net_sales_cents, fresh.remaining_cents, fresh.progress_bps) == (0, 100_000, 0)
    sale(creator=creator, amount=25_000, at=days_ago(1))
    sale(creator=creator, amount=100_000, at=days_ago(1))  # $1,250 total: Silver, toward Gold at $10,000
    progress = tier_progress(creator=creator)
    assert progress.tier.tier == CreatorTier.SILVER
    assert progress.next_tier.tier == CreatorTier.GOLD
    assert progress.remaining_cents == 1_000_000 - 125_000
    assert progress.progress_bps == (125_000 - 100_000) * 10_000 // (1_000_000 - 100_000)  # 277


def test_recent_reviews_and_those_awaiting_reply(creator):
    listing = ListingFactory(creator=creator)
    buyers = [UserFactory(), UserFactory()]
    for buyer in buyers:
        order(listing, total=4_900, buyer=buyer)
    first, _ = review_upsert(buyer=buyers[0], listing=listing, rating=5)
    second, _ = review_upsert(buyer=buyers[1], listing=listing, rating=2)
    review_reply(creator=creator, review=first, reply="Thanks")
    other_listing = ListingFactory()
    outsider = UserFactory()
    order(other_listing, total=4_900, buyer=outsider)
    review_upsert(buyer=outsider, listing=other_listing, rating=1)  # another creator's listing
    assert recent_reviews(creator=creator) == [second, first]
    assert recent_reviews(creator=creator, awaiting_reply=True) == [second]
