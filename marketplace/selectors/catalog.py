"""Reads of the public catalog: a listing's page, similar models, comparison, the category tree,
collections, featured placement and plan prices. Search and its suggestions are
marketplace.selectors.search; both show listings as cards through `for_cards`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import Case, Count, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When
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
    Tag,
)
from tokenomics.money import usd_cents_to_agr_base_units
from tokenomics.selectors.parameters import parameter_get

PRICING_FLAGS = {
    PlanKind.ONE_TIME: "has_one_time",
    PlanKind.SUBSCRIPTION: "has_subscription",
    PlanKind.PER_INFERENCE: "has_per_inference",
}
COMPARE_LIMIT = 4
# Columns a result card never shows; leaving them out keeps search pages light.
CARD_DEFERRED = ("model_card", "model_card_html", "license_terms", "sample_io", "benchmarks")
CARD_RELATED_COLUMNS = (
    *(
        field.name
        for field in Listing._meta.concrete_fields
        if field.name not in CARD_DEFERRED and field.name not in ("created_at", "updated_at")
    ),
    "category__name",
    "category__slug",
    "category__parent__name",
    "category__parent__slug",
    "creator__email",
    "creator__display_name",
)


def versions_newest_first() -> QuerySet[ListingVersion]:
    """Versions in semantic-version order, newest first (ties: the later upload)."""
    return ListingVersion.objects.order_by("-major", "-minor", "-patch", "-pk")


def latest_downloadable_version(*, listing: Listing) -> ListingVersion | None:
    """The newest version with an artefact: what a one-time buyer gets, and subscribers download."""
    return versions_newest_first().filter(listing=listing).exclude(artefact="").first()


def published_listings() -> QuerySet[Listing]:
    return Listing.objects.filter(status=ListingStatus.PUBLISHED)


def for_cards(queryset: QuerySet[Listing]) -> QuerySet[Listing]:
    """What a result card shows, in a number of queries that does not grow with the results. Only
    the related rows' shown columns are read: a page of cards builds some 180 model instances, and
    their timestamps and account fields were a third of its Python time."""
    cards = (
        queryset.select_related("category", "category__parent", "creator")
        .defer(*CARD_DEFERRED)
        .only(*CARD_RELATED_COLUMNS)
    )
    if connection.vendor == "postgresql":
        # The tag names as an array in the same query (Listing.card_tags reads it).
        names = Tag.objects.filter(listings=OuterRef("pk")).order_by("name").values("name")
        return cards.annotate(tag_names=ArraySubquery(names))
    return cards.prefetch_related(Prefetch("tags", queryset=Tag.objects.only("pk", "name").order_by("name")))


def listing_get_public(*, slug: str, viewer: User | None = None) -> Listing:
    """The listing for its page; unpublished ones only for their creator or staff, else NotFound."""
    listing = (
        Listing.objects.select_related("category", "category__parent", "creator")
        .prefetch_related(
            Prefetch("tags", queryset=Tag.objects.order_by("name")),
            Prefetch("versions", queryset=versions_newest_first()),
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
        published_listings()
        .exclude(pk=listing.pk)
        .filter(Q(category_id=listing.category_id) | Q(task=listing.task) | Q(tags__in=tag_ids))
        .values("pk")
    )
    return list(
        for_cards(Listing.objects.filter(pk__in=candidates))
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
        for listing in published_listings()
        .filter(slug__in=wanted)
        .select_related("category", "creator")
        .prefetch_related(
            Prefetch("versions", queryset=versions_newest_first()),
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
        for_cards(published_listings().filter(collections=collection))
        .annotate(position=Subquery(position[:1]))
        .order_by("position", "-pk")
    )


def featured_listings(*, now: datetime | None = None, limit: int = 6) -> list[Listing]:
    """Published listings with an active featured placement (featured_until > now), latest-ending first."""
    now = now or timezone.now()
    return list(
        for_cards(published_listings().filter(featured_until__gt=now)).order_by("-featured_until", "-pk")[
            :limit
        ]
    )


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


def plan_agr_price(*, plan: Plan, agr_price_micro_usd: int | None = None) -> int:
    """The plan's AGR list price in base units: its USD price at the registry's reference rate,
    rounded up (`agr_price_micro_usd` defaults to the registry's; pass it to read it once for many
    plans). Checkout prices through this too (marketplace.services.pricing), so pages and orders agree.

    One rule for every listing: the same USD price is the same AGR price everywhere. A plan's own
    `price_agr` (still accepted from creators) does not price it: per-listing AGR prices read as
    different exchange rates ($9 -> 90 AGR beside $19 -> 171 AGR)."""
    if agr_price_micro_usd is None:
        agr_price_micro_usd = agr_reference_price()
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
