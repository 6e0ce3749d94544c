"""The catalog selectors: filters, orderings, search (PostgreSQL full text and the SQLite fallback),
visibility of drafts, similar models, comparison, collections and featured placement."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.errors import NotFound, ValidationFailed
from marketplace.models import Collection, CollectionItem, ListingStatus, PlanKind, QualityTier, Review, Tag
from marketplace.selectors.catalog import (
    category_tree,
    collection_get,
    collection_list,
    collection_listings,
    featured_listings,
    listing_get_public,
    listing_similar,
    listings_compare,
    plan_agr_price,
)
from marketplace.selectors.reviews import review_list
from marketplace.selectors.search import listing_search
from marketplace.services.search import listing_search_index
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import CategoryFactory, ListingFactory, PlanFactory, VersionFactory

pytestmark = pytest.mark.django_db


def _slugs(queryset) -> list[str]:
    return [listing.slug for listing in queryset]


def _listing(**kwargs):
    tags = kwargs.pop("tags", [])
    listing = ListingFactory(**kwargs)
    for name in tags:
        tag, _ = Tag.objects.get_or_create(name=name, defaults={"slug": name.replace(" ", "-")})
        listing.tags.add(tag)
    listing_search_index(listing_id=listing.pk)
    return listing


# ----------------------------------------------------------------------------- filters


def test_only_published_listings_are_searched():
    shown = _listing(slug="shown")
    for status in (ListingStatus.DRAFT, ListingStatus.SUSPENDED, ListingStatus.TAKEN_DOWN):
        _listing(slug=f"hidden-{status}", status=status)
    assert _slugs(listing_search()) == [shown.slug]


def test_category_includes_its_sub_categories():
    language = CategoryFactory(slug="language", name="Language")
    classification = CategoryFactory(slug="text-classification", parent=language)
    vision = CategoryFactory(slug="vision")
    _listing(slug="top", category=language)
    _listing(slug="child", category=classification)
    _listing(slug="other", category=vision)
    assert set(_slugs(listing_search(category="language"))) == {"top", "child"}
    assert _slugs(listing_search(category="text-classification")) == ["child"]
    assert _slugs(listing_search(category="no-such-category")) == []


def test_task_quality_tier_and_agr_filters():
    _listing(slug="embed", task="embeddings", quality_tier=QualityTier.VERIFIED, accepts_agr=False)
    _listing(slug="translate", task="translation", quality_tier=QualityTier.COMMUNITY)
    assert _slugs(listing_search(task="embeddings")) == ["embed"]
    assert _slugs(listing_search(quality_tier=QualityTier.VERIFIED)) == ["embed"]
    assert _slugs(listing_search(accepts_agr=True)) == ["translate"]
    assert _slugs(listing_search(accepts_agr=False)) == ["embed"]


def test_pricing_filter_reads_the_plan_kind_flags():
    _listing(slug="once", has_one_time=True)
    _listing(slug="sub", has_subscription=True)
    _listing(slug="metered", has_per_inference=True, has_one_time=True)
    assert set(_slugs(listing_search(pricing=PlanKind.ONE_TIME))) == {"once", "metered"}
    assert _slugs(listing_search(pricing=PlanKind.SUBSCRIPTION)) == ["sub"]
    assert _slugs(listing_search(pricing=PlanKind.PER_INFERENCE)) == ["metered"]
    with pytest.raises(ValidationFailed):
        listing_search(pricing="barter")


def test_price_range_is_in_cents_against_the_cheapest_plan():
    _listing(slug="cheap", min_price_cents=500)
    _listing(slug="mid", min_price_cents=2_500)
    _listing(slug="dear", min_price_cents=90_000)
    _listing(slug="unpriced", min_price_cents=None)
    assert set(_slugs(listing_search(min_price=2_500))) == {"mid", "dear"}
    assert set(_slugs(listing_search(max_price=2_500))) == {"cheap", "mid"}
    assert _slugs(listing_search(min_price=1_000, max_price=10_000)) == ["mid"]
    assert _slugs(listing_search(min_price=10_000, max_price=1_000)) == []


def test_min_rating_takes_stars_as_int_or_decimal():
    _listing(slug="great", rating_average=Decimal("4.60"), rating_count=10)
    _listing(slug="ok", rating_average=Decimal("3.90"), rating_count=3)
    _listing(slug="unrated")
    assert _slugs(listing_search(min_rating=4)) == ["great"]
    assert set(_slugs(listing_search(min_rating=Decimal("3.9")))) == {"great", "ok"}


# ----------------------------------------------------------------------------- orderings


def test_orderings():
    now = timezone.now()
    a = _listing(
        slug="a",
        trending_score=5,
        rating_average=Decimal("3.00"),
        min_price_cents=900,
        published_at=now - timedelta(days=3),
    )
    b = _listing(
        slug="b",
        trending_score=50,
        rating_average=Decimal("4.50"),
        min_price_cents=100,
        published_at=now - timedelta(days=9),
    )
    c = _listing(
        slug="c",
        trending_score=1,
        rating_average=Decimal("4.90"),
        min_price_cents=None,
        published_at=now - timedelta(days=1),
    )
    assert _slugs(listing_search(ordering="trending")) == [b.slug, a.slug, c.slug]
    assert _slugs(listing_search(ordering="newest")) == [c.slug, a.slug, b.slug]
    assert _slugs(listing_search(ordering="rating")) == [c.slug, b.slug, a.slug]
    # Listings without a plan have no price: last either way.
    assert _slugs(listing_search(ordering="price")) == [b.slug, a.slug, c.slug]
    assert _slugs(listing_search(ordering="-price")) == [a.slug, b.slug, c.slug]
    with pytest.raises(ValidationFailed):
        listing_search(ordering="random")


def test_relevance_without_search_is_trending_and_featured_listings_have_their_strip():
    now = timezone.now()
    hot = _listing(slug="hot", trending_score=100)
    featured = _listing(slug="featured", trending_score=1, featured_until=now + timedelta(days=2))
    lapsed = _listing(slug="lapsed", trending_score=2, featured_until=now - timedelta(days=1))
    assert _slugs(listing_search()) == [hot.slug, lapsed.slug, featured.slug]
    assert [listing.slug for listing in featured_listings(now=now)] == [featured.slug]


def test_ties_break_by_newest_pk_so_pages_are_stable():
    first, second, third = (_listing(trending_score=7) for _ in range(3))
    assert _slugs(listing_search(ordering="trending")) == [third.slug, second.slug, first.slug]


# ----------------------------------------------------------------------------- search


def test_search_matches_title_summary_and_tags():
    _listing(slug="by-title", title="Sentiment classifier", summary="Short texts.")
    _listing(slug="by-summary", title="Reviewer", summary="Detects sentiment in reviews.")
    _listing(slug="by-tag", title="Opinion model", summary="Short texts.", tags=["sentiment"])
    _listing(slug="unrelated", title="Image upscaler", summary="Four times larger pictures.")
    assert set(_slugs(listing_search(search="sentiment"))) == {"by-title", "by-summary", "by-tag"}
    assert set(_slugs(listing_search(search="  sentiment  ", task="other"))) == {
        "by-title",
        "by-summary",
        "by-tag",
    }
    assert _slugs(listing_search(search="zebra")) == []


def test_blank_search_is_no_search():
    _listing(slug="one")
    assert _slugs(listing_search(search="   ")) == ["one"]


@pytest.mark.postgres
def test_postgres_ranks_a_title_match_above_a_summary_match():
    _listing(
        slug="summary-mention",
        title="General text model",
        summary="It can also work as a transformer for translation.",
        trending_score=1_000,
    )
    _listing(slug="title-match", title="Transformer for translation", summary="Seq2seq.")
    _listing(slug="no-match", title="Speech recogniser", summary="Audio in, text out.")
    assert _slugs(listing_search(search="transformer")) == ["title-match", "summary-mention"]


@pytest.mark.postgres
def test_postgres_search_stems_and_leaves_the_model_card_out():
    _listing(slug="summariser", title="Digest", summary="Summarizes long documents.")
    _listing(slug="card-only", title="Other", summary="Short.", model_card="Summarizes documents too.")
    assert _slugs(listing_search(search="summarize documents")) == ["summariser"]


@pytest.mark.postgres
def test_postgres_when_not_every_word_matches_any_word_does_more_matches_first():
    _listing(slug="both", title="Object detector", summary="Boxes.")
    _listing(slug="one", title="Vehicle detector", summary="Cars.", trending_score=50)
    _listing(slug="none", title="Speech model", summary="Audio.")
    assert _slugs(listing_search(search="object detector")) == ["both"]
    assert _slugs(listing_search(search="tiny object detector")) == ["both", "one"]


def test_search_in_an_unknown_category_is_empty_not_an_error():
    _listing(slug="graph", title="Graph model")
    results = listing_search(search="graph", category="no-such-category")
    assert (results.count(), _slugs(results), results[0:20]) == (0, [], [])


@pytest.mark.postgres
def test_postgres_typo_falls_back_to_trigram_similarity_on_the_title():
    _listing(slug="transformer", title="Transformer XL", summary="Language model.")
    _listing(slug="whisper", title="Whisper small", summary="Speech to text.")
    assert _slugs(listing_search(search="transfromer")) == ["transformer"]
    assert _slugs(listing_search(search="transfromer", task="translation")) == []


@pytest.mark.postgres
def test_postgres_typo_is_corrected_against_the_tag_vocabulary_then_searched_in_full_text():
    # A long title dilutes trigram similarity; the tag vocabulary still corrects the word.
    _listing(slug="tagged", title="Compact opinion model for product reviews xl", tags=["sentiment"])
    _listing(slug="other", title="Compact object detector for drones", tags=["vehicles"])
    assert _slugs(listing_search(search="sentimnet")) == ["tagged"]
    assert _slugs(listing_search(search="compact sentimnet")) == ["tagged"]
    assert _slugs(listing_search(search="the sentimnet")) == ["tagged"]  # a stop word is no unknown word
    assert _slugs(listing_search(search="sentimnet", quality_tier=QualityTier.PREMIUM)) == []


def _ranked_documents(word: str, **filters):
    """The same search with a filter that keeps every listing: ranked on the documents (GIN)."""
    return listing_search(search=word, min_rating=0, **filters)


@pytest.mark.postgres
def test_postgres_one_word_search_reads_the_words_index_in_the_documents_rank_order():
    # The word in titles, summaries and tags, once or more, with trending ties and without.
    _listing(slug="title", title="Sales forecaster", summary="Weekly.", trending_score=5)
    _listing(slug="title-twice", title="Forecast forecaster", summary="Forecasts demand.", trending_score=1)
    _listing(slug="summary", title="Demand model", summary="It forecasts demand.", trending_score=9)
    _listing(slug="tag", title="Energy model", summary="Grid load.", tags=["forecasting"], trending_score=5)
    _listing(slug="tie-a", title="Retail forecaster", summary="Stores.", trending_score=5)
    _listing(slug="tie-b", title="Retail forecaster", summary="Shops.", trending_score=5)
    _listing(slug="path", title="Mirror of /usr/local/models", summary="Files; forecasts nothing.")
    _listing(slug="unrelated", title="Speech recogniser", summary="Audio in, text out.")
    _listing(slug="draft", title="Draft forecaster", status=ListingStatus.DRAFT)
    for word in ("forecast", "Forecasts", "demand", "/usr/local/models", "retail"):
        with CaptureQueriesContext(connection) as queries:
            results = listing_search(search=word)
            found = (results.count(), _slugs(results[0:3]), _slugs(results[0:24]))
        sql = " ".join(query["sql"] for query in queries.captured_queries)
        assert "marketplace_searchterm" in sql, word
        assert "ts_rank" not in sql, word
        with CaptureQueriesContext(connection) as queries:
            ranked = _ranked_documents(word)
            expected = (ranked.count(), _slugs(ranked[0:3]), _slugs(ranked[0:24]))
        assert "ts_rank" in " ".join(query["sql"] for query in queries.captured_queries)
        assert found == expected, word
    assert _slugs(listing_search(search="forecast")) == [
        "title-twice",
        "tie-b",
        "tie-a",
        "title",
        "summary",  # the same weight as "tag", more trending
        "tag",
        "path",
    ]
    # A later slice of the same results, in the same order.
    assert _slugs(listing_search(search="forecast")[5:7]) == ["tag", "path"]


@pytest.mark.postgres
def test_postgres_words_no_listing_contains_are_left_out_of_any_word_matching():
    _listing(slug="forecaster", title="Sales forecaster", summary="Weekly.")
    _listing(slug="detector", title="Vehicle detector", summary="Cars.", trending_score=3)
    _listing(slug="both", title="Detector and forecaster", summary="Both.")
    assert listing_search(search="qwzx forecaster").count() == 2
    assert _slugs(listing_search(search="qwzx forecaster")) == _slugs(listing_search(search="forecaster"))
    # Two known words: any of them, more of them first, as before.
    assert _slugs(listing_search(search="qwzx forecaster detector")) == ["both", "detector", "forecaster"]
    # No word known: nothing matches by words; titles similar by trigrams still may.
    assert _slugs(listing_search(search="qwzx vbnm")) == []


# ----------------------------------------------------------------------------- one listing


def test_draft_is_visible_to_its_creator_and_staff_only():
    draft = _listing(slug="draft", status=ListingStatus.DRAFT)
    staff = UserFactory(is_staff=True)
    assert listing_get_public(slug="draft", viewer=draft.creator) == draft
    assert listing_get_public(slug="draft", viewer=staff) == draft
    for viewer in (None, UserFactory()):
        with pytest.raises(NotFound):
            listing_get_public(slug="draft", viewer=viewer)
    with pytest.raises(NotFound):
        listing_get_public(slug="missing")


def test_public_listing_carries_versions_newest_first_and_active_plans():
    listing = _listing(slug="versions")
    VersionFactory(listing=listing, version="1.9.0", major=1, minor=9)
    VersionFactory(listing=listing, version="1.10.0", major=1, minor=10)
    active = PlanFactory(listing=listing)
    PlanFactory(listing=listing, is_active=False, name="Old")
    got = listing_get_public(slug="versions")
    assert [v.version for v in got.versions.all()] == ["1.10.0", "1.9.0"]
    assert got.active_plans == [active]


def test_plan_agr_price_is_the_usd_price_at_the_reference_rate_on_every_listing():
    plan = PlanFactory(price_cents=4_900)
    # $49.00 at $0.10 per AGR is 490 AGR.
    assert plan_agr_price(plan=plan, agr_price_micro_usd=100_000) == 490 * 10**18
    # A creator's own AGR price does not make another exchange rate for this listing.
    plan.price_agr = 7 * 10**18
    assert plan_agr_price(plan=plan, agr_price_micro_usd=100_000) == 490 * 10**18
    twin = PlanFactory(price_cents=4_900, price_agr=400 * 10**18)
    assert plan_agr_price(plan=twin, agr_price_micro_usd=100_000) == 490 * 10**18


def test_similar_prefers_shared_tags_then_task_then_category():
    category = CategoryFactory()
    base = _listing(slug="base", category=category, task="embeddings", tags=["rag", "search"])
    two_tags = _listing(slug="two-tags", tags=["rag", "search"])
    one_tag = _listing(slug="one-tag", tags=["rag"])
    same_task = _listing(slug="same-task", task="embeddings")
    same_category = _listing(slug="same-category", category=category)
    _listing(slug="unrelated", task="translation")
    _listing(slug="draft-twin", status=ListingStatus.DRAFT, tags=["rag", "search"])
    similar = listing_similar(listing=base, limit=10)
    assert _slugs(similar) == [two_tags.slug, one_tag.slug, same_task.slug, same_category.slug]
    assert len(listing_similar(listing=base, limit=2)) == 2


def test_compare_up_to_four_in_the_order_given_with_benchmarks_aligned():
    a = _listing(slug="a", benchmarks=[{"name": "MMLU", "score": "70"}, {"name": "GSM8K", "score": "50"}])
    b = _listing(slug="b", benchmarks=[{"name": "HellaSwag", "score": "80"}, {"name": "MMLU", "score": "72"}])
    comparison = listings_compare(slugs=["b", "a"])
    assert [listing.slug for listing in comparison.listings] == [b.slug, a.slug]
    assert comparison.benchmark_names == ["HellaSwag", "MMLU", "GSM8K"]
    for n in range(3):
        _listing(slug=f"x{n}")
    assert len(listings_compare(slugs=["a", "b", "x0", "x1"]).listings) == 4
    with pytest.raises(ValidationFailed):
        listings_compare(slugs=["a", "b", "x0", "x1", "x2"])
    with pytest.raises(NotFound):
        listings_compare(slugs=["a", "nope"])
    _listing(slug="hidden", status=ListingStatus.DRAFT)
    with pytest.raises(NotFound):
        listings_compare(slugs=["hidden"])


# ----------------------------------------------------------------------------- storefront


def test_category_tree_nests_children_in_position_order():
    language = CategoryFactory(slug="language", name="Language", position=0)
    vision = CategoryFactory(slug="vision", name="Vision", position=1)
    CategoryFactory(slug="qa", name="Question answering", parent=language, position=2)
    CategoryFactory(slug="chat", name="Chat", parent=language, position=1)
    tree = category_tree()
    assert [c.slug for c in tree] == [language.slug, vision.slug]
    assert [c.slug for c in tree[0].children.all()] == ["chat", "qa"]


def test_collections_in_curated_order_with_published_listings_only():
    shelf = Collection.objects.create(title="Staff picks", slug="staff-picks")
    Collection.objects.create(title="Hidden", slug="hidden", is_published=False)
    second, first = _listing(slug="second"), _listing(slug="first")
    draft = _listing(slug="draft", status=ListingStatus.DRAFT)
    CollectionItem.objects.create(collection=shelf, listing=second, position=2)
    CollectionItem.objects.create(collection=shelf, listing=first, position=1)
    CollectionItem.objects.create(collection=shelf, listing=draft, position=0)
    listed = list(collection_list())
    assert [c.slug for c in listed] == ["staff-picks"]
    assert listed[0].listing_count == 2
    assert collection_get(slug="staff-picks") == shelf
    with pytest.raises(NotFound):
        collection_get(slug="hidden")
    assert _slugs(collection_listings(collection=shelf)) == ["first", "second"]


def test_featured_listings_are_those_with_a_running_placement():
    now = timezone.now()
    soon = _listing(slug="soon", featured_until=now + timedelta(hours=1))
    later = _listing(slug="later", featured_until=now + timedelta(days=3))
    _listing(slug="over", featured_until=now - timedelta(seconds=1))
    _listing(slug="draft", featured_until=now + timedelta(days=3), status=ListingStatus.DRAFT)
    assert _slugs(featured_listings(now=now)) == [later.slug, soon.slug]
    assert len(featured_listings(now=now, limit=1)) == 1


def test_reviews_newest_first_with_buyers():
    listing = _listing()
    old = Review.objects.create(listing=listing, buyer=UserFactory(), rating=4, body="Good")
    new = Review.objects.create(listing=listing, buyer=UserFactory(), rating=5, body="Great")
    Review.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))
    reviews = list(review_list(listing=listing))
    assert reviews == [new, old]
    assert reviews[0].buyer.public_name
