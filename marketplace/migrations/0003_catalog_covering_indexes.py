"""PostgreSQL indexes for the storefront's browse paths (benchmarks/catalog.py measures them):
- `-price` served in index order, unpriced listings last;
- a narrow covering index over published listings in trending order (the default browse), whose
  INCLUDE columns let filtered counts and first pages run as index-only scans instead of reading
  the wide rows;
- the wide text columns (model card, its HTML, samples, benchmarks) pushed out of line into TOAST
  (toast_tuple_target 128), while the search vector stays in the row (STORAGE MAIN) for ranking:
  the heap a browse or search reads shrinks from ~2.5 KB to ~0.8 KB per listing.
SQLite keeps the plain indexes of 0001; these do nothing there."""

from __future__ import annotations

from django.db import migrations

FORWARD = [
    "CREATE INDEX IF NOT EXISTS listing_price_desc ON marketplace_listing "
    "(status, min_price_cents DESC NULLS LAST, id DESC)",
    "CREATE INDEX IF NOT EXISTS listing_published_trending_covering ON marketplace_listing "
    "(trending_score DESC, id DESC) INCLUDE (category_id, task, quality_tier, min_price_cents, "
    "rating_average, rating_count, has_one_time, has_subscription, has_per_inference, accepts_agr, "
    "published_at) WHERE status = 'published'",
    "ALTER TABLE marketplace_listing SET (toast_tuple_target = 128)",
    "ALTER TABLE marketplace_listing ALTER COLUMN search_vector SET STORAGE MAIN",
]
BACKWARD = [
    "ALTER TABLE marketplace_listing ALTER COLUMN search_vector SET STORAGE EXTENDED",
    "ALTER TABLE marketplace_listing RESET (toast_tuple_target)",
    "DROP INDEX IF EXISTS listing_published_trending_covering",
    "DROP INDEX IF EXISTS listing_price_desc",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("marketplace", "0002_postgres_search")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
