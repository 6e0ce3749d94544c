"""Search and discovery upkeep for listings: the search index (SearchEntry), view counts, trending."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from marketplace.models import Listing, ListingDailyStat, ListingStatus, Order, SearchEntry, SearchTerm, Tag
from marketplace.selectors.orders import PURCHASED_STATUSES

# Trending (SPEC §2, "weighted recent sales and inferences"): a sale in the last week counts 3 + 1,
# one in the last month 1. Inferences join the formula when the compute gateway records them.
TRENDING_WEEK_WEIGHT = 3
TRENDING_MONTH_WEIGHT = 1
TRENDING_BATCH = 1_000

# The columns a SearchEntry copies from its listing (marketplace.models.search), in one place.
ENTRY_COLUMNS = (
    "category_id",
    "task",
    "quality_tier",
    "published_at",
    "rating_average",
    "rating_count",
    "min_price_cents",
    "has_one_time",
    "has_subscription",
    "has_per_inference",
    "accepts_agr",
    "trending_score",
)
# SQLite bounds the parameters of one statement; the index is refreshed this many listings at a time.
INDEX_BATCH = 500

# The search document: the title weighs most (A), then the summary and the tag names (B), so a title
# match outranks the same word in a summary. The model card is left out on purpose: its words made
# each document ~4x larger, and with it every page of matches to count and rank (benchmarks/catalog.py).
# One statement per batch, so a document always matches one consistent read of its row and tags.
_DOCUMENT_SQL = """setweight(to_tsvector('english', coalesce(l.title, '')), 'A')
    || setweight(to_tsvector('english', coalesce(l.summary, '') || ' ' || coalesce(
        (SELECT string_agg(t.name, ' ') FROM {tag} AS t JOIN {through} AS lt ON lt.tag_id = t.id
          WHERE lt.listing_id = l.id), '')), 'B')"""
# Both databases run this upsert (SQLite since 3.24; its INSERT ... SELECT needs the WHERE it has).
_UPSERT_SQL = """
INSERT INTO {entry} (listing_id, {columns}, document)
SELECT l.id, {listing_columns}, {document} FROM {listing} AS l
 WHERE l.status = %s AND l.published_at IS NOT NULL{only}
ON CONFLICT (listing_id) DO UPDATE SET {updates}, document = excluded.document
"""


# PostgreSQL: each entry's words (SearchTerm), scored with the rank a search for the word alone
# gives the entry. The lexeme is quoted into a one-word tsquery (quotes and backslashes doubled, as
# tsquery input wants), so the score is exactly what the catalog's ts_rank computes for that word.
_TERMS_SQL = r"""
INSERT INTO {term} (lexeme, score, trending_score, entry_id)
SELECT u.lexeme,
       ts_rank(e.document, ('''' || replace(replace(u.lexeme, '\', '\\'), '''', '''''') || '''')::tsquery),
       e.trending_score, e.listing_id
  FROM {entry} AS e, unnest(e.document) AS u{only}
"""


def _terms_sql(batch: int | None) -> str:
    quote = connection.ops.quote_name
    return _TERMS_SQL.format(
        term=quote(SearchTerm._meta.db_table),
        entry=quote(SearchEntry._meta.db_table),
        only="" if batch is None else f" WHERE e.listing_id IN ({', '.join(['%s'] * batch)})",
    )


def _upsert_sql(batch: int | None) -> str:
    quote = connection.ops.quote_name
    document = "NULL"
    if connection.vendor == "postgresql":
        document = _DOCUMENT_SQL.format(
            tag=quote(Tag._meta.db_table), through=quote(Listing.tags.through._meta.db_table)
        )
    return _UPSERT_SQL.format(
        entry=quote(SearchEntry._meta.db_table),
        listing=quote(Listing._meta.db_table),
        columns=", ".join(ENTRY_COLUMNS),
        listing_columns=", ".join(f"l.{column}" for column in ENTRY_COLUMNS),
        document=document,
        only="" if batch is None else f" AND l.id IN ({', '.join(['%s'] * batch)})",
        updates=", ".join(f"{column} = excluded.{column}" for column in ENTRY_COLUMNS),
    )


def listings_search_index(*, listing_ids: Iterable[int]) -> None:
    """Bring these listings' search entries in line with their rows: a published listing's entry is
    written (columns and, on PostgreSQL, its document and its words); any other listing's entry is
    removed, its words with it."""
    ids = sorted(set(listing_ids))
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(ids), INDEX_BATCH):
            batch = ids[start : start + INDEX_BATCH]
            SearchEntry.objects.filter(listing_id__in=batch).exclude(
                listing__status=ListingStatus.PUBLISHED
            ).delete()
            cursor.execute(_upsert_sql(len(batch)), [ListingStatus.PUBLISHED, *batch])
            if connection.vendor == "postgresql":
                SearchTerm.objects.filter(entry_id__in=batch).delete()
                cursor.execute(_terms_sql(len(batch)), batch)


def listing_search_index(*, listing_id: int) -> None:
    """Refresh one listing's search entry after a write (see listings_search_index)."""
    listings_search_index(listing_ids=[listing_id])


def listings_search_index_all() -> int:
    """Rebuild the whole search index from the listings in one upsert; returns the entries kept."""
    with transaction.atomic(), connection.cursor() as cursor:
        SearchEntry.objects.exclude(listing__status=ListingStatus.PUBLISHED).delete()
        cursor.execute(_upsert_sql(None), [ListingStatus.PUBLISHED])
        if connection.vendor == "postgresql":
            SearchTerm.objects.all().delete()
            cursor.execute(_terms_sql(None))
    return SearchEntry.objects.count()


def listing_view_record(*, listing_id: int) -> None:
    """Count one page view: Listing.view_count and today's ListingDailyStat.views, both with F()."""
    today = timezone.localdate()
    with transaction.atomic():
        Listing.objects.filter(pk=listing_id).update(view_count=F("view_count") + 1)
        if ListingDailyStat.objects.filter(listing_id=listing_id, day=today).update(views=F("views") + 1):
            return
        try:
            # A savepoint: losing the race to a concurrent first view of the day must not break
            # the outer transaction; the winner's row is then incremented instead.
            with transaction.atomic():
                ListingDailyStat.objects.create(listing_id=listing_id, day=today, views=1)
        except IntegrityError:
            ListingDailyStat.objects.filter(listing_id=listing_id, day=today).update(views=F("views") + 1)


def listings_trending_refresh(*, now: datetime | None = None) -> int:
    """Recompute every listing's trending_score from paid orders of the last 7 and 30 days.

    Writes only the listings whose score changes and returns how many did. Refunded orders do not
    count (PURCHASED_STATUSES). TODO(compute): add recent inferences once the gateway records them.
    """
    now = now or timezone.now()
    week_ago, month_ago = now - timedelta(days=7), now - timedelta(days=30)
    recent = Order.objects.filter(status__in=PURCHASED_STATUSES, paid_at__gte=month_ago, paid_at__lte=now)
    rows = (
        recent.values("listing_id")
        .annotate(week=Count("pk", filter=Q(paid_at__gte=week_ago)), month=Count("pk"))
        .order_by()
    )
    scores = {
        row["listing_id"]: TRENDING_WEEK_WEIGHT * row["week"] + TRENDING_MONTH_WEIGHT * row["month"]
        for row in rows
    }
    with transaction.atomic():
        cooled = list(
            Listing.objects.exclude(trending_score=0)
            .exclude(pk__in=list(scores))
            .values_list("pk", flat=True)
        )
        for start in range(0, len(cooled), TRENDING_BATCH):
            Listing.objects.filter(pk__in=cooled[start : start + TRENDING_BATCH]).update(trending_score=0)
        changed: list[Listing] = []
        for listing in Listing.objects.filter(pk__in=list(scores)).only("pk", "trending_score"):
            if listing.trending_score != scores[listing.pk]:
                listing.trending_score = scores[listing.pk]
                changed.append(listing)
        Listing.objects.bulk_update(changed, ["trending_score"], batch_size=TRENDING_BATCH)
        listings_search_index(listing_ids=[*cooled, *(listing.pk for listing in changed)])
    return len(cooled) + len(changed)
