"""Search and discovery upkeep for listings: the stored search vector, view counts, trending scores."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from marketplace.models import Listing, ListingDailyStat, Order, Tag
from marketplace.selectors.orders import PURCHASED_STATUSES

# Trending (SPEC §2, "weighted recent sales and inferences"): a sale in the last week counts 3 + 1,
# one in the last month 1. Inferences join the formula when the compute gateway records them.
TRENDING_WEEK_WEIGHT = 3
TRENDING_MONTH_WEIGHT = 1
TRENDING_BATCH = 1_000

# Title weighs most (A), then the summary and the tag names (B), then the model card (C), so a
# title match outranks the same word deep in a model card. One statement, so a listing's vector
# always matches one consistent read of its row and tags.
_VECTOR_SQL = """
UPDATE {listing} AS l
   SET search_vector =
       setweight(to_tsvector('english', coalesce(l.title, '')), 'A')
       || setweight(to_tsvector('english', coalesce(l.summary, '') || ' ' || coalesce(
              (SELECT string_agg(t.name, ' ')
                 FROM {tag} AS t JOIN {through} AS lt ON lt.tag_id = t.id
                WHERE lt.listing_id = l.id), '')), 'B')
       || setweight(to_tsvector('english', coalesce(l.model_card, '')), 'C')
"""


def _vector_sql() -> str:
    through = Listing.tags.through._meta.db_table
    return _VECTOR_SQL.format(
        listing=connection.ops.quote_name(Listing._meta.db_table),
        tag=connection.ops.quote_name(Tag._meta.db_table),
        through=connection.ops.quote_name(through),
    )


def listing_search_index(*, listing_id: int) -> None:
    """Recompute the listing's stored search vector (one UPDATE on PostgreSQL; nothing on SQLite)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(_vector_sql() + " WHERE l.id = %s", [listing_id])


def listings_search_index_all() -> int:
    """Recompute every listing's search vector in one UPDATE (PostgreSQL; 0 on SQLite); returns rows."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_vector_sql())
        return int(cursor.rowcount)


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
        cooled = (
            Listing.objects.exclude(trending_score=0)
            .exclude(pk__in=recent.values("listing_id"))
            .update(trending_score=0)
        )
        changed: list[Listing] = []
        for listing in Listing.objects.filter(pk__in=list(scores)).only("pk", "trending_score"):
            if listing.trending_score != scores[listing.pk]:
                listing.trending_score = scores[listing.pk]
                changed.append(listing)
        Listing.objects.bulk_update(changed, ["trending_score"], batch_size=TRENDING_BATCH)
    return cooled + len(changed)
