"""Search and discovery upkeep for listings: the search index (SearchEntry), view counts, trending."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from marketplace.models import (
    Category,
    Listing,
    ListingDailyStat,
    ListingStatus,
    Order,
    SearchEntry,
    SearchTerm,
    Tag,
    TaskType,
)
from marketplace.models.search import FULLTEXT_TABLE, FULLTEXT_WORDS_TABLE
from marketplace.selectors.orders import PURCHASED_STATUSES

# Trending (SPEC §2, "weighted recent sales and inferences"): a sale in the last week counts 3 + 1,
# one in the last month 1. Inferences join the formula when the compute gateway records them.
TRENDING_WEEK_WEIGHT = 3
TRENDING_MONTH_WEIGHT = 1
# Served inference calls count toward trending too (SPEC §2), each 100 calls weighing one sale.
TRENDING_CALLS_PER_SALE = 100
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

# The search document: the title weighs most (A), then the summary and the tag names (B), then the
# names of the category, its parent and the task (C), so that "speech recognition" finds the listings
# filed there and a title match outranks the same word anywhere else. The model card is left out on
# purpose: its words made each document ~4x larger, and with it every page of matches to count and
# rank (benchmarks/catalog.py). One statement per batch, so a document always matches one
# consistent read of its row, tags and category.
_TAG_NAMES_SQL = """coalesce((SELECT {group}(t.name, ' ') FROM {tag} AS t JOIN {through} AS lt
    ON lt.tag_id = t.id WHERE lt.listing_id = l.id), '')"""
_CATEGORY_NAMES_SQL = """coalesce((SELECT c.name || coalesce(' ' || p.name, '') FROM {category} AS c
    LEFT JOIN {category} AS p ON p.id = c.parent_id WHERE c.id = l.category_id), '')"""
_DOCUMENT_SQL = """setweight(to_tsvector('english', coalesce(l.title, '')), 'A')
    || setweight(to_tsvector('english', coalesce(l.summary, '') || ' ' || {tags}), 'B')
    || setweight(to_tsvector('english', {category} || ' ' || {task}), 'C')"""
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


# SQLite (the embedded default): the full-text tables of migration 0006, one row per entry with the
# listing id as rowid: the text in the document's columns (porter-stemmed, ranked by bm25() in
# marketplace.selectors.search) and the same words unstemmed, whose vocabulary corrects typos.
_FULLTEXT_SQL = """
INSERT INTO {text} (rowid, title, summary, tags, category, task)
SELECT l.id, coalesce(l.title, ''), coalesce(l.summary, ''), {tags}, {category}, {task}
  FROM {entry} AS e JOIN {listing} AS l ON l.id = e.listing_id{only}
"""
_FULLTEXT_WORDS_SQL = """
INSERT INTO {words} (rowid, words)
SELECT rowid, title || ' ' || summary || ' ' || tags || ' ' || category || ' ' || task FROM {text}{only}
"""


def _in(column: str, batch: int | None, keyword: str = "WHERE") -> str:
    return "" if batch is None else f" {keyword} {column} IN ({', '.join(['%s'] * batch)})"


def _task_label_sql() -> str:
    """The listing's task label (TaskType), as a CASE over literals: fixed strings of this code."""
    choices = [(str(value), str(label)) for value, label in TaskType.choices]
    assert not any("'" in value + label for value, label in choices)
    whens = " ".join(f"WHEN '{value}' THEN '{label}'" for value, label in choices)
    return f"CASE l.task {whens} ELSE '' END"


def _names_sql(*, group: str) -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "tags": _TAG_NAMES_SQL.format(
            group=group, tag=quote(Tag._meta.db_table), through=quote(Listing.tags.through._meta.db_table)
        ),
        "category": _CATEGORY_NAMES_SQL.format(category=quote(Category._meta.db_table)),
        "task": _task_label_sql(),
    }


def _terms_sql(batch: int | None) -> str:
    quote = connection.ops.quote_name
    return _TERMS_SQL.format(
        term=quote(SearchTerm._meta.db_table),
        entry=quote(SearchEntry._meta.db_table),
        only=_in("e.listing_id", batch),
    )


def _upsert_sql(batch: int | None) -> str:
    quote = connection.ops.quote_name
    document = "NULL"
    if connection.vendor == "postgresql":
        document = _DOCUMENT_SQL.format(**_names_sql(group="string_agg"))
    return _UPSERT_SQL.format(
        entry=quote(SearchEntry._meta.db_table),
        listing=quote(Listing._meta.db_table),
        columns=", ".join(ENTRY_COLUMNS),
        listing_columns=", ".join(f"l.{column}" for column in ENTRY_COLUMNS),
        document=document,
        only=_in("l.id", batch, "AND"),
        updates=", ".join(f"{column} = excluded.{column}" for column in ENTRY_COLUMNS),
    )


def _fulltext_refresh(cursor: CursorWrapper, batch: list[int] | None) -> None:
    """SQLite: rewrite the full-text rows of these listings (all when None) from their entries."""
    size = None if batch is None else len(batch)
    params = [] if batch is None else batch
    quote = connection.ops.quote_name
    for table in (FULLTEXT_TABLE, FULLTEXT_WORDS_TABLE):
        cursor.execute(f"DELETE FROM {table}{_in('rowid', size)}", params)  # noqa: S608
    cursor.execute(
        _FULLTEXT_SQL.format(
            text=FULLTEXT_TABLE,
            entry=quote(SearchEntry._meta.db_table),
            listing=quote(Listing._meta.db_table),
            only=_in("e.listing_id", size),
            **_names_sql(group="group_concat"),
        ),
        params,
    )
    cursor.execute(
        _FULLTEXT_WORDS_SQL.format(words=FULLTEXT_WORDS_TABLE, text=FULLTEXT_TABLE, only=_in("rowid", size)),
        params,
    )


def listings_search_index(*, listing_ids: Iterable[int]) -> None:
    """Bring these listings' search entries in line with their rows: a published listing's entry is
    written (columns and, on PostgreSQL, its document and its words; on SQLite its full-text rows);
    any other listing's entry is removed, its words with it."""
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
            elif connection.vendor == "sqlite":
                _fulltext_refresh(cursor, batch)


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
        elif connection.vendor == "sqlite":
            _fulltext_refresh(cursor, None)
    return SearchEntry.objects.count()


def fulltext_prune(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """SQLite: remove the full-text rows whose entry is gone. A flush (`manage.py flush`, the test
    runner between transactional tests) empties the entries but not the FTS5 tables, which no model
    declares; it ends by sending post_migrate, on which marketplace.apps calls this."""
    database = connections[using]
    if database.vendor != "sqlite" or FULLTEXT_TABLE not in database.introspection.table_names():
        return
    entries = database.ops.quote_name(SearchEntry._meta.db_table)
    with database.cursor() as cursor:
        for table in (FULLTEXT_TABLE, FULLTEXT_WORDS_TABLE):
            cursor.execute(
                f"DELETE FROM {table} WHERE rowid NOT IN (SELECT listing_id FROM {entries})"  # noqa: S608
            )


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


def listing_inferences_record(*, counts: dict[tuple[int, date], int]) -> None:
    """Add served inference calls to ListingDailyStat.inferences: {(listing id, day): calls}.
    Called by compute's settlement when it stores the request log (in its transaction)."""
    for (listing_id, day), calls in sorted(counts.items()):
        if not calls:
            continue
        if ListingDailyStat.objects.filter(listing_id=listing_id, day=day).update(
            inferences=F("inferences") + calls
        ):
            continue
        try:
            with transaction.atomic():
                ListingDailyStat.objects.create(listing_id=listing_id, day=day, inferences=calls)
        except IntegrityError:
            ListingDailyStat.objects.filter(listing_id=listing_id, day=day).update(
                inferences=F("inferences") + calls
            )


def listings_trending_refresh(*, now: datetime | None = None) -> int:
    """Recompute every listing's trending_score from paid orders and served inference calls of the
    last 7 and 30 days (TRENDING_CALLS_PER_SALE calls weigh one sale).

    Writes only the listings whose score changes and returns how many did. Refunded orders do not
    count (PURCHASED_STATUSES).
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
    calls = (
        ListingDailyStat.objects.filter(day__gt=month_ago.date(), day__lte=now.date(), inferences__gt=0)
        .values("listing_id")
        .annotate(
            week=Sum("inferences", filter=Q(day__gt=week_ago.date())),
            month=Sum("inferences"),
        )
        .order_by()
    )
    for row in calls:
        weighted = TRENDING_WEEK_WEIGHT * (row["week"] or 0) + TRENDING_MONTH_WEIGHT * (row["month"] or 0)
        points = weighted // TRENDING_CALLS_PER_SALE
        if points:
            scores[row["listing_id"]] = scores.get(row["listing_id"], 0) + points
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
