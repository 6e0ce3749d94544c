"""The catalog's search index: one narrow row per published listing.

Every browse, filter and search of the storefront reads this table and only then fetches the page's
listings by primary key. A listing row is wide (model card, its HTML, samples, benchmarks), so
counting or ranking thousands of matches on it visits thousands of heap pages; here about 25 rows
share a page, and the B-tree indexes below serve each ordering and let the counts of the common
filters run as index-only scans (benchmarks/catalog.py measures both).

On PostgreSQL each entry's document is also split into SearchTerm rows, one per word, ordered by the
rank a search for that word alone gives the listing: the count and first page of a one-word search
are then index-only scans of one key range, where ranking on the document reads every match.

SQLite, the embedded default, has no tsvector: its entries' text lives in two FTS5 virtual tables
(migration 0006, no models), keyed by the listing id as rowid: FULLTEXT_TABLE holds the document's
columns porter-stemmed (matched and ranked by bm25()), FULLTEXT_WORDS_TABLE the same words unstemmed,
whose vocabulary (FULLTEXT_VOCABULARY_TABLE, an fts5vocab table: each word and its listings) corrects
misspelt search words.

Rows are written only by marketplace.services.search (`listing_search_index` after every listing
write, `listings_search_index_all` to rebuild) and exist exactly for the published listings.
"""

from __future__ import annotations

from typing import ClassVar

from django.contrib.postgres.search import SearchVectorField
from django.db import models

from marketplace.models.catalog import Category, Listing, QualityTier, TaskType

FULLTEXT_TABLE = "marketplace_searchtext"
FULLTEXT_COLUMNS = ("title", "summary", "tags", "category", "task")
FULLTEXT_WORDS_TABLE = "marketplace_searchwords"
FULLTEXT_VOCABULARY_TABLE = "marketplace_searchwords_vocab"


class SearchEntry(models.Model):
    """A published listing's filter and ordering columns (copied from the listing) and its search
    document: title (weight A), summary and tag names (weight B), the names of its category, the
    category's parent and its task (weight C); PostgreSQL only (NULL on SQLite, whose text is in the
    full-text tables named above)."""

    listing = models.OneToOneField(
        Listing, primary_key=True, on_delete=models.CASCADE, related_name="search_entry"
    )
    document = SearchVectorField(null=True, editable=False)
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")
    task = models.CharField(max_length=32, choices=TaskType.choices)
    quality_tier = models.CharField(max_length=12, choices=QualityTier.choices)
    published_at = models.DateTimeField()
    rating_average = models.DecimalField(max_digits=3, decimal_places=2)
    rating_count = models.PositiveIntegerField()
    min_price_cents = models.PositiveBigIntegerField(null=True)
    has_one_time = models.BooleanField(db_index=True)
    has_subscription = models.BooleanField(db_index=True)
    has_per_inference = models.BooleanField(db_index=True)
    accepts_agr = models.BooleanField(db_index=True)
    trending_score = models.BigIntegerField()

    class Meta:
        verbose_name_plural = "search entries"
        # Ties break on the listing id, newest first, exactly as marketplace.selectors.catalog
        # orders, so each ordering is one index scan that stops after a page. The `-price` index
        # (NULLS LAST) and the GIN index on `document` are PostgreSQL-only (migration 0004).
        indexes: ClassVar = [
            models.Index(fields=["-trending_score", "-listing"], name="search_trending"),
            models.Index(fields=["-published_at", "-listing"], name="search_newest"),
            models.Index(fields=["-rating_average", "-rating_count", "-listing"], name="search_rating"),
            models.Index(fields=["min_price_cents", "-listing"], name="search_price"),
            models.Index(fields=["task"], name="search_task"),
            models.Index(fields=["quality_tier"], name="search_quality_tier"),
        ]

    def __str__(self) -> str:
        return f"search entry of listing {self.listing_id}"


class SearchTerm(models.Model):
    """One word (lexeme) of a search entry's document, PostgreSQL only, with `score`: the
    ts_rank(document, word) a search for that word alone gives the entry, and the entry's
    trending_score.

    The primary key is the order of a one-word search by relevance (rank, then trending, then the
    newest listing; scanned backwards), so that search's count and first page read one key range of
    the primary key index without visiting the table (marketplace.selectors.catalog)."""

    pk = models.CompositePrimaryKey("lexeme", "score", "trending_score", "entry")
    lexeme = models.TextField()
    score = models.FloatField()
    trending_score = models.BigIntegerField()
    entry = models.ForeignKey(SearchEntry, on_delete=models.CASCADE, related_name="terms")

    def __str__(self) -> str:
        return f"search term {self.lexeme!r} of listing {self.entry_id}"
