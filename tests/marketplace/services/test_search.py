"""Search upkeep: the search index, page-view counting and the trending score."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from marketplace.models import (
    Listing,
    ListingDailyStat,
    ListingStatus,
    Order,
    OrderStatus,
    SearchEntry,
    SearchTerm,
    Tag,
)
from marketplace.services.search import (
    listing_search_index,
    listing_view_record,
    listings_search_index_all,
    listings_trending_refresh,
)
from marketplace.tasks.catalog import refresh_trending
from tests.marketplace.factories import CategoryFactory, ListingFactory, paid_order

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
    # Only the order's status and paid_at matter to trending.
    return paid_order(listing=listing, status=status, paid_at=timezone.now() - timedelta(days=days_ago))


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


def test_index_holds_the_published_listings_with_their_columns():
    shown = ListingFactory(title="Whisper tiny", min_price_cents=900, has_subscription=True, rating_average=4)
    draft = ListingFactory(status=ListingStatus.DRAFT, published_at=None)
    entry = SearchEntry.objects.get(listing=shown)
    assert not SearchEntry.objects.filter(listing=draft).exists()
    assert (entry.min_price_cents, entry.has_subscription, entry.rating_average) == (900, True, 4)
    assert entry.category_id == shown.category_id
    assert entry.published_at == shown.published_at
    if connection.vendor != "postgresql":
        assert entry.document is None  # SQLite searches substrings of the listing instead


def test_reindexing_one_listing_follows_its_row():
    listing = ListingFactory()
    Listing.objects.filter(pk=listing.pk).update(trending_score=7, quality_tier="premium")
    listing_search_index(listing_id=listing.pk)
    assert SearchEntry.objects.filter(listing=listing, trending_score=7, quality_tier="premium").exists()
    Listing.objects.filter(pk=listing.pk).update(status=ListingStatus.SUSPENDED)
    listing_search_index(listing_id=listing.pk)
    assert not SearchEntry.objects.filter(listing=listing).exists()
    listing_search_index(listing_id=listing.pk)  # nothing to remove twice
    assert not SearchEntry.objects.filter(listing=listing).exists()


def test_rebuild_adds_missing_entries_fixes_stale_ones_and_drops_unpublished():
    missing, stale, gone = ListingFactory(), ListingFactory(), ListingFactory()
    SearchEntry.objects.filter(listing=missing).delete()
    SearchEntry.objects.filter(listing=stale).update(trending_score=123, task="other")
    Listing.objects.filter(pk=gone.pk).update(status=ListingStatus.DRAFT)
    assert listings_search_index_all() == 2
    assert set(SearchEntry.objects.values_list("listing_id", flat=True)) == {missing.pk, stale.pk}
    assert SearchEntry.objects.get(listing=stale).task == stale.task


def test_trending_refresh_reaches_the_index():
    listing = ListingFactory()
    _paid_order(listing, days_ago=1)
    listings_trending_refresh()
    assert SearchEntry.objects.get(listing=listing).trending_score == 4


@pytest.mark.postgres
def test_document_weighs_title_a_summary_and_tags_b_and_leaves_the_model_card_out():
    listing = ListingFactory(title="Whisper", summary="Speech", model_card="Noise")
    tag, _ = Tag.objects.get_or_create(name="audio", slug="audio")
    listing.tags.add(tag)
    listing_search_index(listing_id=listing.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT document::text FROM marketplace_searchentry WHERE listing_id = %s", [listing.pk]
        )
        document = cursor.fetchone()[0]
    assert "'whisper':1A" in document
    assert "'speech':2B" in document
    assert "'audio':3B" in document
    assert "nois" not in document


@pytest.mark.postgres
def test_rebuild_writes_every_document():
    listings = [ListingFactory(title=f"Reindex {n}") for n in range(3)]
    SearchEntry.objects.update(document=None)
    assert listings_search_index_all() >= 3
    assert not SearchEntry.objects.filter(listing__in=listings, document__isnull=True).exists()


@pytest.mark.postgres
def test_each_word_of_the_document_is_kept_with_the_rank_a_search_for_it_alone_gives():
    # The category's name and the task's label are words too (the task "other" is a stop word).
    audio = CategoryFactory(name="Audio", slug="audio")
    listing = ListingFactory(
        title="Whisper whisper", summary="Speech; it's /usr/local/models", category=audio
    )
    SearchTerm.objects.filter(entry_id=listing.pk).delete()
    listing_search_index(listing_id=listing.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT u.lexeme, ts_rank(e.document, plainto_tsquery('english', u.lexeme))::float8 "
            "FROM marketplace_searchentry AS e, unnest(tsvector_to_array(e.document)) AS u(lexeme) "
            "WHERE e.listing_id = %s",
            [listing.pk],
        )
        ranks = dict(cursor.fetchall())
    terms = dict(SearchTerm.objects.filter(entry_id=listing.pk).values_list("lexeme", "score"))
    assert set(terms) == {"whisper", "speech", "/usr/local/models", "audio"}
    assert terms == ranks  # exactly: the same float4 rank, read as float8 on both sides
    # twice in the title, once in the summary, once in the category (weight C)
    assert terms["whisper"] > terms["speech"] > terms["audio"] > 0
    Listing.objects.filter(pk=listing.pk).update(title="Parakeet")
    listing_search_index(listing_id=listing.pk)
    assert set(SearchTerm.objects.filter(entry_id=listing.pk).values_list("lexeme", flat=True)) == {
        "parakeet",
        "speech",
        "/usr/local/models",
        "audio",
    }
    Listing.objects.filter(pk=listing.pk).update(status=ListingStatus.DRAFT)
    listing_search_index(listing_id=listing.pk)
    assert not SearchTerm.objects.filter(entry_id=listing.pk).exists()
