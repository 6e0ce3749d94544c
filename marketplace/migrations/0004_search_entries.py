"""The search index (marketplace.models.search.SearchEntry) replaces searching the wide listing
table: entries are filled from the published listings here (later by marketplace.services.search),
the listing's own search vector goes, and on PostgreSQL the entry's document gets its GIN index and
`-price` its NULLS LAST index, while 0003's covering indexes on the listing (which the catalog no
longer reads) are dropped. Index-only counts need the visibility map current, so autovacuum visits
the small entry table after 2% of it changed rather than 20%."""

from __future__ import annotations

import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

# Frozen copies of what marketplace.services.search writes (migrations must not import services).
FILL = """
INSERT INTO marketplace_searchentry (listing_id, category_id, task, quality_tier, published_at,
    rating_average, rating_count, min_price_cents, has_one_time, has_subscription,
    has_per_inference, accepts_agr, trending_score, document)
SELECT l.id, l.category_id, l.task, l.quality_tier, l.published_at, l.rating_average,
    l.rating_count, l.min_price_cents, l.has_one_time, l.has_subscription, l.has_per_inference,
    l.accepts_agr, l.trending_score, {document}
FROM marketplace_listing AS l WHERE l.status = 'published' AND l.published_at IS NOT NULL
"""
DOCUMENT = """setweight(to_tsvector('english', coalesce(l.title, '')), 'A')
    || setweight(to_tsvector('english', coalesce(l.summary, '') || ' ' || coalesce(
        (SELECT string_agg(t.name, ' ') FROM marketplace_tag AS t
           JOIN marketplace_listing_tags AS lt ON lt.tag_id = t.id
          WHERE lt.listing_id = l.id), '')), 'B')"""
FORWARD = [
    "CREATE INDEX IF NOT EXISTS search_document_gin ON marketplace_searchentry USING gin (document)",
    "CREATE INDEX IF NOT EXISTS search_price_desc ON marketplace_searchentry "
    "(min_price_cents DESC NULLS LAST, listing_id DESC)",
    "ALTER TABLE marketplace_searchentry SET (autovacuum_vacuum_scale_factor = 0.02, "
    "autovacuum_analyze_scale_factor = 0.02)",
    "DROP INDEX IF EXISTS listing_published_trending_covering",
    "DROP INDEX IF EXISTS listing_price_desc",
]
BACKWARD = ["DROP INDEX IF EXISTS search_price_desc", "DROP INDEX IF EXISTS search_document_gin"]


def fill_entries(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    schema_editor.execute(FILL.format(document=DOCUMENT if postgres else "NULL"))


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0003_catalog_covering_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchEntry",
            fields=[
                (
                    "listing",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search_entry",
                        serialize=False,
                        to="marketplace.listing",
                    ),
                ),
                ("document", django.contrib.postgres.search.SearchVectorField(editable=False, null=True)),
                (
                    "task",
                    models.CharField(
                        choices=[
                            ("text_generation", "Text generation"),
                            ("text_classification", "Text classification"),
                            ("embeddings", "Embeddings"),
                            ("translation", "Translation"),
                            ("summarization", "Summarization"),
                            ("image_classification", "Image classification"),
                            ("object_detection", "Object detection"),
                            ("image_generation", "Image generation"),
                            ("segmentation", "Segmentation"),
                            ("speech_recognition", "Speech recognition"),
                            ("text_to_speech", "Text to speech"),
                            ("audio_classification", "Audio classification"),
                            ("tabular", "Tabular prediction"),
                            ("time_series", "Time-series forecasting"),
                            ("multimodal", "Multimodal"),
                            ("other", "Other"),
                        ],
                        max_length=32,
                    ),
                ),
                (
                    "quality_tier",
                    models.CharField(
                        choices=[
                            ("community", "Community"),
                            ("verified", "Verified"),
                            ("premium", "Premium"),
                            ("enterprise", "Enterprise"),
                            ("exclusive", "Exclusive"),
                        ],
                        max_length=12,
                    ),
                ),
                ("published_at", models.DateTimeField()),
                ("rating_average", models.DecimalField(decimal_places=2, max_digits=3)),
                ("rating_count", models.PositiveIntegerField()),
                ("min_price_cents", models.PositiveBigIntegerField(null=True)),
                ("has_one_time", models.BooleanField(db_index=True)),
                ("has_subscription", models.BooleanField(db_index=True)),
                ("has_per_inference", models.BooleanField(db_index=True)),
                ("accepts_agr", models.BooleanField(db_index=True)),
                ("trending_score", models.BigIntegerField()),
                (
                    "category",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="marketplace.category",
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "search entries",
                "indexes": [
                    models.Index(fields=["-trending_score", "-listing"], name="search_trending"),
                    models.Index(fields=["-published_at", "-listing"], name="search_newest"),
                    models.Index(
                        fields=["-rating_average", "-rating_count", "-listing"], name="search_rating"
                    ),
                    models.Index(fields=["min_price_cents", "-listing"], name="search_price"),
                    models.Index(fields=["task"], name="search_task"),
                    models.Index(fields=["quality_tier"], name="search_quality_tier"),
                ],
            },
        ),
        migrations.RunPython(fill_entries, migrations.RunPython.noop, elidable=False),
        migrations.RunPython(forward, backward, elidable=False),
        migrations.RemoveField(
            model_name="listing",
            name="search_vector",
        ),
    ]
