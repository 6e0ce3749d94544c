"""PostgreSQL search: pg_trgm, a GIN index on the stored search vector and a trigram index on the
title (typo-tolerant fallback). SQLite has neither; its search is a simpler LIKE behind the same
selector (marketplace.selectors.search), so these operations do nothing there."""

from __future__ import annotations

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS listing_search_vector_gin ON marketplace_listing USING gin (search_vector)",
    "CREATE INDEX IF NOT EXISTS listing_title_trgm ON marketplace_listing USING gin (title gin_trgm_ops)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS listing_title_trgm",
    "DROP INDEX IF EXISTS listing_search_vector_gin",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in FORWARD:
        schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in BACKWARD:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("marketplace", "0001_catalog_and_commerce")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
