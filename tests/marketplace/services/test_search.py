"""Search upkeep: the stored search vector, page-view counting and the trending score."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from marketplace.models import Listing, ListingDailyStat, Order, OrderStatus, Tag
from marketplace.services.search import (
    listing_search_index,
    listing_view_record,
    listings_search_index_all,
    listings_trending_refresh,
)
from marketplace.tasks.catalog import refresh_trending
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import ListingFactory, PlanFactory

pytestmark = pytest.mark.django_db


def test_view_is_counted_on_the_listing_and_todays_stat():
    listing = ListingFactory()
    listing_view_record(listing_id=listing.pk)
    listing_view_record(listing_id=listing.pk)
    listing.refresh_from_db()
    assert listing.view_count == 2
    stat = ListingDailyStat.objects.get(listing=listing)
    assert (stat.day, stat.views) == (timezone.localdate(), 2)


def test_view_when_todays_row_already_exists_increments_it():
    listing = ListingFactory()
    ListingDailyStat.objects.create(listing=listing, day=timezone.localdate(), views=41)
    ListingDailyStat.objects.create(listing=listing, day=timezone.localdate() - timedelta(days=1), views=3)
    listing_view_record(listing_id=listing.pk)
    assert ListingDailyStat.objects.get(listing=listing, day=timezone.localdate()).views == 42
    assert (
        ListingDailyStat.objects.get(listing=listing, day=timezone.localdate() - timedelta(days=1)).views == 3
    )


def _paid_order(listing: Listing, *, days_ago: float, status: str = OrderStatus.PAID) -> Order:
    # Only the order's status and paid_at matter to trending; the payment flow is the orders
    # service's to test, so the row is written directly.
    plan = listing.plans.first() or PlanFactory(listing=listing)
    return Order.objects.create(
        buyer=UserFactory(),
        plan=plan,
        listing=listing,
        kind=plan.kind,
        rail="card",
        asset="USD",
        list_amount=plan.price_cents,
        total=plan.price_cents,
        status=status,
        paid_at=timezone.now() - timedelta(days=days_ago),
    )


def test_trending_weighs_the_last_week_three_times_and_the_month_once():
    busy, quiet, cooled = ListingFactory(), ListingFactory(), ListingFactory(trending_score=99)
    _paid_order(busy, days_ago=1)  # 3 + 1
    _paid_order(busy, days_ago=2, status=OrderStatus.IN_ESCROW)  # 3 + 1
    _paid_order(busy, days_ago=20, status=OrderStatus.RELEASED)  # 1
    _paid_order(busy, days_ago=3, status=OrderStatus.REFUNDED)  # refunded: nothing
    _paid_order(busy, days_ago=40)  # too old
    _paid_order(quiet, days_ago=10, status=OrderStatus.DISPUTED)  # 1
    changed = listings_trending_refresh()
    assert changed == 3
    scores = dict(Listing.objects.values_list("pk", "trending_score"))
    assert scores[busy.pk] == 9
    assert scores[quiet.pk] == 1
    assert scores[cooled.pk] == 0
    # Nothing moved since: nothing is written again.
    assert listings_trending_refresh() == 0


def test_trending_respects_the_given_now():
    listing = ListingFactory()
    _paid_order(listing, days_ago=1)
    assert listings_trending_refresh(now=timezone.now() + timedelta(days=10)) == 1
    listing.refresh_from_db()
    assert listing.trending_score == 1  # 11 days old then: the month counts, the week does not


def test_refresh_trending_task_calls_the_service():
    listing = ListingFactory()
    _paid_order(listing, days_ago=0.5)
    assert refresh_trending.delay().get() == 1
    listing.refresh_from_db()
    assert listing.trending_score == 4


def test_search_index_is_a_no_op_on_sqlite_and_writes_the_vector_on_postgres():
    listing = ListingFactory(title="Whisper tiny", summary="Speech to text", model_card="Robust to noise.")
    listing_search_index(listing_id=listing.pk)
    listing.refresh_from_db()
    if connection.vendor == "postgresql":
        assert listing.search_vector is not None
    else:
        assert listing.search_vector is None
        assert listings_search_index_all() == 0


@pytest.mark.postgres
def test_search_vector_weights_title_a_summary_and_tags_b_model_card_c():
    listing = ListingFactory(title="Whisper", summary="Speech", model_card="Noise")
    tag, _ = Tag.objects.get_or_create(name="audio", slug="audio")
    listing.tags.add(tag)
    listing_search_index(listing_id=listing.pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT search_vector::text FROM marketplace_listing WHERE id = %s", [listing.pk])
        vector = cursor.fetchone()[0]
    assert "'whisper':1A" in vector
    assert "'speech':2B" in vector
    assert "'audio':3B" in vector
    assert "'nois':4C" in vector or "'noise':4C" in vector


@pytest.mark.postgres
def test_reindex_all_fills_every_listing():
    listings = [ListingFactory(title=f"Reindex {n}") for n in range(3)]
    Listing.objects.update(search_vector=None)
    assert listings_search_index_all() >= 3
    assert not Listing.objects.filter(pk__in=[x.pk for x in listings], search_vector__isnull=True).exists()
