"""Search finds category and task names, and SQLite gets ranked full-text search.

PostgreSQL: every entry's document gains the names of its category, the category's parent and its
task (weight C), and the words index (SearchTerm) is rebuilt from the new documents.

SQLite (the embedded default): two FTS5 virtual tables and a vocabulary over the second, filled
from the entries (later by marketplace.services.search, see marketplace.models.search):
marketplace_searchtext (title, summary, tags, category, task; porter-stemmed, ranked by bm25()) and
marketplace_searchwords (the same words unstemmed; only its vocabulary is read, to correct typos).

Going back drops the SQLite tables; PostgreSQL documents keep the category and task words, which
the earlier code reads as ordinary words."""

from __future__ import annotations

from django.db import migrations

# Frozen copies of what marketplace.services.search writes (migrations must not import services).
TASK_LABELS = (
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
)
TASK = "CASE l.task " + " ".join(f"WHEN '{v}' THEN '{label}'" for v, label in TASK_LABELS) + " ELSE '' END"
TAGS = """coalesce((SELECT {group}(t.name, ' ') FROM marketplace_tag AS t
    JOIN marketplace_listing_tags AS lt ON lt.tag_id = t.id WHERE lt.listing_id = l.id), '')"""
CATEGORY = """coalesce((SELECT c.name || coalesce(' ' || p.name, '') FROM marketplace_category AS c
    LEFT JOIN marketplace_category AS p ON p.id = c.parent_id WHERE c.id = l.category_id), '')"""

POSTGRES = [
    f"""UPDATE marketplace_searchentry AS e SET document =
        setweight(to_tsvector('english', coalesce(l.title, '')), 'A')
        || setweight(to_tsvector('english', coalesce(l.summary, '') || ' ' || {TAGS.format(group="string_agg")}), 'B')
        || setweight(to_tsvector('english', {CATEGORY} || ' ' || {TASK}), 'C')
      FROM marketplace_listing AS l WHERE l.id = e.listing_id""",
    "DELETE FROM marketplace_searchterm",
    r"""INSERT INTO marketplace_searchterm (lexeme, score, trending_score, entry_id)
    SELECT u.lexeme,
           ts_rank(e.document, ('''' || replace(replace(u.lexeme, '\', '\\'), '''', '''''') || '''')::tsquery),
           e.trending_score, e.listing_id
      FROM marketplace_searchentry AS e, unnest(e.document) AS u""",
]
SQLITE = [
    "CREATE VIRTUAL TABLE marketplace_searchtext USING fts5("
    "title, summary, tags, category, task, tokenize = 'porter unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE marketplace_searchwords USING fts5("
    "words, detail = none, tokenize = 'unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE marketplace_searchwords_vocab USING fts5vocab(marketplace_searchwords, row)",
    f"""INSERT INTO marketplace_searchtext (rowid, title, summary, tags, category, task)
    SELECT l.id, coalesce(l.title, ''), coalesce(l.summary, ''), {TAGS.format(group="group_concat")},
           {CATEGORY}, {TASK}
      FROM marketplace_searchentry AS e JOIN marketplace_listing AS l ON l.id = e.listing_id""",
    """INSERT INTO marketplace_searchwords (rowid, words)
    SELECT rowid, title || ' ' || summary || ' ' || tags || ' ' || category || ' ' || task
      FROM marketplace_searchtext""",
]
SQLITE_BACKWARD = [
    "DROP TABLE IF EXISTS marketplace_searchwords_vocab",
    "DROP TABLE IF EXISTS marketplace_searchwords",
    "DROP TABLE IF EXISTS marketplace_searchtext",
]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in {"postgresql": POSTGRES, "sqlite": SQLITE}.get(vendor, []):
        schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0005_search_terms"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
