"""Reads of the public catalog: search and filters, a listing's page, similar models, comparison,
the category tree, collections and featured placement.

Search runs on PostgreSQL full-text search over the stored, GIN-indexed `search_vector` (written by
marketplace.services.search), ranked, with a trigram-similarity fallback on the title when the
full-text query finds nothing (typos such as "transfromer"). SQLite, the local default, has neither,
so the same selector falls back to case-insensitive substring matching over title, summary and tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramSimilarity
from django.db import connection
from django.db.models import Case, Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When
from django.db.models.expressions import OrderBy
from django.utils import timezone

from accounts.models import User
from marketplace.errors import NotFound, ValidationFailed
from marketplace.models import (
    Category,
    Collection,
    CollectionItem,
    Listing,
    ListingStatus,
    ListingVersion,
    Plan,
    PlanKind,
    Review,
    Tag,
)
from tokenomics.money import usd_cents_to_agr_base_units
from tokenomics.selectors.parameters import parameter_get

ORDERINGS = ("relevance", "trending", "newest", "rating", "price", "-price")
PRICING_FLAGS = {
    PlanKind.ONE_TIME: "has_one_time",
    PlanKind.SUBSCRIPTION: "has_subscription",
    PlanKind.PER_INFERENCE: "has_per_inference",
}
COMPARE_LIMIT = 4
SEARCH_CONFIG = "english"
# Below pg_trgm's default threshold (0.3) a "match" is mostly noise for titles of a few words.
TRIGRAM_THRESHOLD = 0.3
# Typo correction looks at the first few words of a search, each of at least this many characters.
TYPO_MAX_WORDS = 6
TYPO_MIN_LENGTH = 3
# Columns a result card never shows; leaving them out keeps search pages light.
CARD_DEFERRED = ("model_card", "model_card_html", "license_terms", "sample_io", "benchmarks", "search_vector")


def _versions_newest_first() -> QuerySet[ListingVersion]:
    return ListingVersion.objects.order_by("-major", "-minor", "-patch", "-pk")


def _published() -> QuerySet[Listing]:
    return Listing.objects.filter(status=ListingStatus.PUBLISHED)


def _for_cards(queryset: QuerySet[Listing]) -> QuerySet[Listing]:
    """What a result card shows, in a number of queries that does not grow with the results."""
    return (
        queryset.select_related("category", "category__parent", "creator")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .defer(*CARD_DEFERRED)
    )


def listing_search(
    *,
    search: str | None = None,
    category: str | None = None,
    task: str | None = None,
    pricing: str | None = None,
    min_price: int | None = None,
    max_price: int | None = None,
    quality_tier: str | None = None,
    min_rating: Decimal | int | None = None,
    accepts_agr: bool | None = None,
    ordering: str = "relevance",
) -> QuerySet[Listing]:
    """Published listings matching the search text and filters, in `ordering` (ties by newest pk).

    `category` is a slug and includes its sub-categories; prices are US cents against the cheapest
    active plan; `min_rating` is in stars. Raises ValidationFailed for an unknown ordering or pricing.
    """
    if ordering not in ORDERINGS:
        raise ValidationFailed(detail={"ordering": [f"Choose one of {', '.join(ORDERINGS)}."]})
    queryset = _published()
    if category:
        queryset = queryset.filter(
            category__in=Category.objects.filter(Q(slug=category) | Q(parent__slug=category)).values("pk")
        )
    if task:
        queryset = queryset.filter(task=task)
    if pricing:
        if pricing not in PRICING_FLAGS:
            raise ValidationFailed(detail={"pricing": [f"Choose one of {', '.join(PRICING_FLAGS)}."]})
        queryset = queryset.filter(**{PRICING_FLAGS[PlanKind(pricing)]: True})
    if min_price is not None:
        queryset = queryset.filter(min_price_cents__gte=min_price)
    if max_price is not None:
        queryset = queryset.filter(min_price_cents__lte=max_price)
    if quality_tier:
        queryset = queryset.filter(quality_tier=quality_tier)
    if min_rating is not None:
        queryset = queryset.filter(rating_average__gte=min_rating)
    if accepts_agr is not None:
        queryset = queryset.filter(accepts_agr=accepts_agr)

    text = (search or "").strip()
    ranked = False
    if text:
        queryset, ranked = _search(queryset, text)

    order: list[str | OrderBy]
    match ordering:
        case "relevance" if ranked:
            order = [F("rank").desc(), "-trending_score"]
        case "relevance" | "trending":
            # Without search text, relevance is trending: an index serves it, where "featured
            # first" would sort the whole table on every page (featured listings have their strip).
            order = ["-trending_score"]
        case "newest":
            # Published listings always have published_at; plain DESC matches the listing_newest index.
            order = ["-published_at"]
        case "rating":
            order = ["-rating_average", "-rating_count"]
        case "price":
            order = [F("min_price_cents").asc(nulls_last=True)]
        case _:  # "-price"
            # Unpriced listings (no active plan) last on both databases; PostgreSQL needs an index
            # on (status, min_price_cents DESC NULLS LAST) to serve this without a sort.
            order = [F("min_price_cents").desc(nulls_last=True)]
    return _for_cards(queryset).order_by(*order, "-pk")


def _search(queryset: QuerySet[Listing], text: str) -> tuple[QuerySet[Listing], bool]:
    """Narrow to the listings matching `text`; True when the result carries a `rank` to order by."""
    if connection.vendor != "postgresql":
        return queryset.filter(
            Q(title__icontains=text) | Q(summary__icontains=text) | Q(pk__in=_tagged_like(text))
        ), False
    query = SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)
    matches = queryset.filter(search_vector=query)
    # One cheap probe (LIMIT 1 on the GIN index) decides between ranked full text and the typo
    # fallbacks; the query count of a search page stays constant in the number of results.
    if matches.exists():
        return matches.annotate(rank=SearchRank(F("search_vector"), query)), True
    # A typo. First spell-correct each word against the tag vocabulary (a small table, so one
    # cheap query) and search the corrected words through the full-text index again.
    corrected = _corrected_words(text)
    if corrected:
        query = SearchQuery(" ".join(corrected), search_type="plain", config=SEARCH_CONFIG)
        matches = queryset.filter(search_vector=query)
        if matches.exists():
            return matches.annotate(rank=SearchRank(F("search_vector"), query)), True
    # Then titles similar by trigrams (the `%` operator uses the title's trigram GIN index).
    similar = queryset.filter(title__trigram_similar=text).annotate(rank=TrigramSimilarity("title", text))
    return similar, True


def _corrected_words(text: str) -> list[str]:
    """The search words with each one replaced by the most similar tag name (trigram similarity of
    at least pg_trgm's threshold); empty when no word has a close tag, so nothing was corrected."""
    words = [word for word in text.lower().split() if len(word) >= TYPO_MIN_LENGTH][:TYPO_MAX_WORDS]
    if not words:
        return []
    similarities = {f"s{i}": TrigramSimilarity("name", word) for i, word in enumerate(words)}
    close = Q()
    for word in words:
        close |= Q(name__trigram_similar=word)
    best: dict[int, tuple[float, str]] = {}
    for row in Tag.objects.filter(close).annotate(**similarities).values("name", *similarities):
        for i in range(len(words)):
            score = float(row[f"s{i}"] or 0)
            if score >= TRIGRAM_THRESHOLD and score > best.get(i, (0.0, ""))[0]:
                best[i] = (score, str(row["name"]))
    if not best:
        return []
    return [best[i][1] if i in best else word for i, word in enumerate(words)]


def _tagged_like(text: str) -> QuerySet[Any]:
    return Listing.tags.through.objects.filter(tag__name__icontains=text).values("listing_id")


def listing_get_public(*, slug: str, viewer: User | None = None) -> Listing:
    """The listing for its page; unpublished ones only for their creator or staff, else NotFound."""
    listing = (
        Listing.objects.select_related("category", "category__parent", "creator")
        .prefetch_related(
            Prefetch("tags", queryset=Tag.objects.order_by("name")),
            Prefetch(
                "versions", queryset=ListingVersion.objects.order_by("-major", "-minor", "-patch", "-pk")
            ),
            Prefetch("plans", queryset=Plan.objects.filter(is_active=True), to_attr="active_plans"),
        )
        .filter(slug=slug)
        .first()
    )
    if listing is None or not _can_see(listing, viewer):
        raise NotFound("No such model.", detail={"slug": slug})
    return listing


def _can_see(listing: Listing, viewer: User | None) -> bool:
    if listing.is_published:
        return True
    if viewer is None or not viewer.is_authenticated:
        return False
    return bool(viewer.is_staff) or listing.creator_id == viewer.pk


def listing_similar(*, listing: Listing, limit: int = 4) -> list[Listing]:
    """Published listings like `listing`: shared tags count most, then same task, then category."""
    tag_ids = Listing.tags.through.objects.filter(listing_id=listing.pk).values("tag_id")
    candidates = (
        _published()
        .exclude(pk=listing.pk)
        .filter(Q(category_id=listing.category_id) | Q(task=listing.task) | Q(tags__in=tag_ids))
        .values("pk")
    )
    return list(
        _for_cards(Listing.objects.filter(pk__in=candidates))
        .annotate(
            shared_tags=Count("tags", filter=Q(tags__in=tag_ids), distinct=True),
            same_task=Case(When(task=listing.task, then=Value(1)), default=Value(0)),
            same_category=Case(When(category_id=listing.category_id, then=Value(1)), default=Value(0)),
        )
        .order_by("-shared_tags", "-same_task", "-same_category", "-trending_score", "-pk")[:limit]
    )


@dataclass(frozen=True)
class Comparison:
    """Listings side by side, with the benchmark names of all of them aligned into rows."""

    listings: Sequence[Listing]
    benchmark_names: list[str]


def listings_compare(*, slugs: Sequence[str]) -> Comparison:
    """Up to 4 published listings in the order given; ValidationFailed past 4, NotFound if unknown."""
    wanted = list(dict.fromkeys(slug for slug in slugs if slug))
    if len(wanted) > COMPARE_LIMIT:
        raise ValidationFailed(
            f"Compare at most {COMPARE_LIMIT} models at a time.", detail={"l": [f"At most {COMPARE_LIMIT}."]}
        )
    found = {
        listing.slug: listing
        for listing in _published()
        .filter(slug__in=wanted)
        .select_related("category", "creator")
        .prefetch_related(
            Prefetch(
                "versions", queryset=ListingVersion.objects.order_by("-major", "-minor", "-patch", "-pk")
            ),
            Prefetch("plans", queryset=Plan.objects.filter(is_active=True), to_attr="active_plans"),
        )
    }
    missing = [slug for slug in wanted if slug not in found]
    if missing:
        raise NotFound("No such model to compare.", detail={"slugs": missing})
    listings = [found[slug] for slug in wanted]
    names: list[str] = []
    for listing in listings:
        for row in listing.benchmarks or []:
            name = str(row.get("name", "")) if isinstance(row, dict) else ""
            if name and name not in names:
                names.append(name)
    return Comparison(listings=listings, benchmark_names=names)


def category_tree() -> list[Category]:
    """Top-level categories, each with `children` prefetched, in position order."""
    return list(
        Category.objects.filter(parent__isnull=True).prefetch_related(
            Prefetch("children", queryset=Category.objects.order_by("position", "name"))
        )
    )


def collection_list() -> QuerySet[Collection]:
    """Published collections in position order, each with the count of its published listings."""
    return Collection.objects.filter(is_published=True).annotate(
        listing_count=Count("listings", filter=Q(listings__status=ListingStatus.PUBLISHED))
    )


def collection_get(*, slug: str) -> Collection:
    """A published collection; NotFound otherwise. Its listings: collection_listings()."""
    collection = Collection.objects.filter(slug=slug, is_published=True).first()
    if collection is None:
        raise NotFound("No such collection.", detail={"slug": slug})
    return collection


def collection_listings(*, collection: Collection) -> QuerySet[Listing]:
    """The collection's published listings in the curator's order."""
    position = CollectionItem.objects.filter(collection=collection, listing=OuterRef("pk")).values("position")
    return (
        _for_cards(_published().filter(collections=collection))
        .annotate(position=Subquery(position[:1]))
        .order_by("position", "-pk")
    )


def featured_listings(*, now: datetime | None = None, limit: int = 6) -> list[Listing]:
    """Published listings with an active featured placement (featured_until > now), latest-ending first."""
    now = now or timezone.now()
    return list(
        _for_cards(_published().filter(featured_until__gt=now)).order_by("-featured_until", "-pk")[:limit]
    )


def listing_reviews(*, listing: Listing) -> QuerySet[Review]:
    """The listing's reviews, newest first, with their buyers."""
    return Review.objects.filter(listing=listing).select_related("buyer").order_by("-created_at", "-pk")


def popular_categories(*, limit: int = 6) -> list[Category]:
    """Categories with the most published listings (for empty states)."""
    return list(
        Category.objects.annotate(
            published=Count("listings", filter=Q(listings__status=ListingStatus.PUBLISHED))
        )
        .filter(published__gt=0)
        .order_by("-published", "name")[:limit]
    )


def latest_version(listing: Listing) -> ListingVersion | None:
    """The newest version among the prefetched ones (no query when `versions` is prefetched)."""
    versions = list(listing.versions.all())
    return versions[0] if versions else None


def rating_stars(value: Decimal | int) -> int:
    """Whole stars for display (rounded half up)."""
    return int(Decimal(value).quantize(Decimal("1"), rounding="ROUND_HALF_UP"))


def plan_kinds(listing: Listing) -> list[str]:
    """The pricing models a listing offers, from its denormalised flags."""
    return [kind for kind, flag in PRICING_FLAGS.items() if getattr(listing, flag)]


def agr_reference_price() -> int:
    """The registry's reference AGR price, micro-USD per AGR (token.agr_price_micro_usd)."""
    return parameter_get("token.agr_price_micro_usd")


def plan_agr_price(*, plan: Plan, agr_price_micro_usd: int) -> int:
    """The plan's AGR list price in base units: its own, or the USD price at the reference rate."""
    if plan.price_agr is not None:
        return int(plan.price_agr)
    return usd_cents_to_agr_base_units(cents=plan.price_cents, agr_price_micro_usd=agr_price_micro_usd)


def plan_get_for_sale(*, plan_id: int) -> Plan:
    """An active plan of a published listing (with its listing, creator and category), or NotFound."""
    plan = (
        Plan.objects.select_related("listing", "listing__creator", "listing__category")
        .filter(pk=plan_id, is_active=True, listing__status=ListingStatus.PUBLISHED)
        .first()
    )
    if plan is None:
        raise NotFound("No such plan is on sale.", detail={"plan": plan_id})
    return plan
