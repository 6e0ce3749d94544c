"""The search index's words (marketplace.models.search.SearchTerm): on PostgreSQL each published
listing's document is split into one row per lexeme, scored with the rank a search for that word
alone gives the listing, so that a one-word search counts and pages through its primary key index
alone. Filled here from the entries' documents (later by marketplace.services.search); autovacuum
visits the table after 2% of it changed, as for the entries, so those scans stay index-only."""

from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models

# A frozen copy of what marketplace.services.search writes (migrations must not import services).
FILL = r"""
INSERT INTO marketplace_searchterm (lexeme, score, trending_score, entry_id)
SELECT u.lexeme,
       ts_rank(e.document, ('''' || replace(replace(u.lexeme, '\', '\\'), '''', '''''') || '''')::tsquery),
       e.trending_score, e.listing_id
  FROM marketplace_searchentry AS e, unnest(e.document) AS u
"""
AUTOVACUUM = (
    "ALTER TABLE marketplace_searchterm SET (autovacuum_vacuum_scale_factor = 0.02, "
    "autovacuum_analyze_scale_factor = 0.02)"
)


def fill_terms(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FILL)
        schema_editor.execute(AUTOVACUUM)


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0004_search_entries"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchTerm",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "lexeme",
                        "score",
                        "trending_score",
                        "entry",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("lexeme", models.TextField()),
                ("score", models.FloatField()),
                ("trending_score", models.BigIntegerField()),
                (
                    "entry",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="terms",
                        to="marketplace.searchentry",
                    ),
                ),
            ],
        ),
        migrations.RunPython(fill_terms, migrations.RunPython.noop, elidable=False),
    ]
