"""Reads of the public catalog: search and filters, a listing's page, similar models, comparison,
the category tree, collections and featured placement.

Search and filters read the search index (marketplace.models.search.SearchEntry, one narrow row per
published listing) and fetch only the page's listings. On PostgreSQL the search is full-text over
the entry's GIN-indexed document, ranked, with fallbacks when it finds nothing: words spell-corrected
by trigram similarity (typos such as "transfromer"), any of the words, then titles similar by
trigrams. A search that comes down to one word, by relevance and without filters, reads its count and
first results from that word's rows of the words index (SearchTerm) in the same order. On SQLite, the
embedded default, the search is full-text over FTS5 tables, ranked by bm25(), with the same kinds of
fallbacks (marketplace.selectors.fulltext). On both, the document holds the title, summary, tags and
the names of the category and task. When nothing matches, search_suggestions offers the nearest
category and task names and the search with its misspelt words corrected."""

from __future__ import annotations

import operator
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce
from typing import NamedTuple, TypeVar, overload

from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramSimilarity
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import OrderBy

from marketplace.errors import ValidationFailed
from marketplace.models import (
    Category,
    Listing,
    PlanKind,
    SearchEntry,
    SearchTerm,
    Tag,
    TaskType,
)
from marketplace.selectors import fulltext
from marketplace.selectors.catalog import PRICING_FLAGS, for_cards

ORDERINGS = ("relevance", "trending", "newest", "rating", "price", "-price")
SEARCH_CONFIG = "english"
# Below pg_trgm's default threshold (0.3) a "match" is mostly noise for titles of a few words.
TRIGRAM_THRESHOLD = 0.3
# Typo correction looks at the first few words of a search, each of at least this many characters.
TYPO_MAX_WORDS = 6
TYPO_MIN_LENGTH = 3

# An ordering: (column, descending, nulls last) keys, then ties by listing id, newest first. Each
# ordering without search text is one index scan of marketplace.models.search that stops after a page.
OrderKeys = tuple[tuple[str, bool, bool], ...]
TIE_BREAK = ("listing_id", True, False)

# A search fetches this many ids of its first results together with their count, in one pass over
# the matches: any first page (the API allows up to 100 a page) then needs no count query of its own.
SEARCH_HEAD = 100


class ListingResults:
    """The listings of one search, as a lazy sequence for Django's Paginator and DRF's pagination.

    `count()` and every slice run on the narrow search index (marketplace.models.search), whose
    indexes serve each filter and ordering; a slice then reads its page of listings by primary key,
    cards ready (category, creator, tags), in the index's order. A browse page costs the count, the
    page's ids, its listings and their tags.

    With `head` (a text search on PostgreSQL, whose matches are all read through the GIN index
    anyway), the count comes with the first SEARCH_HEAD ids in one pass, COUNT(*) OVER () above a
    subquery that computes the rank (fenced by OFFSET 0: otherwise the window would buffer every
    match's document to rank it afterwards), so a first page costs three queries.

    With `word` as well (a one-word search by relevance without filters, whose matches and order
    are exactly that word's SearchTerm rows), the count and the head come from one key range of the
    terms' primary key index instead: no document is read or ranked, however many match."""

    def __init__(
        self,
        entries: QuerySet[SearchEntry],
        order: OrderKeys,
        *,
        head: bool = False,
        word: str | None = None,
    ) -> None:
        keys = (*order, TIE_BREAK)
        self._entries = entries.order_by(
            *(
                OrderBy(F(column), descending=desc, nulls_last=True if last else None)
                for column, desc, last in keys
            )
        )
        self._keys = keys
        self._with_head = head and connection.vendor == "postgresql"
        self._word = word
        self._head: list[int] | None = None
        self._count: int | None = None

    @property
    def entries(self) -> QuerySet[SearchEntry]:
        """The index rows behind the results, in order (what the count and each page query run on)."""
        return self._entries

    def count(self) -> int:
        if self._count is None:
            if self._with_head:
                self._load_head()
            else:
                self._count = self._entries.count()
        assert self._count is not None
        return self._count

    def _load_head(self) -> None:
        if self._word is not None:
            self._load_word_head(self._word)
            return
        columns = dict.fromkeys(column for column, _, _ in self._keys)
        try:
            sql, params = self._entries.order_by().values(*columns).query.sql_with_params()
        except EmptyResultSet:  # a filter that can match nothing, e.g. an unknown category
            self._head, self._count = [], 0
            return
        quote = connection.ops.quote_name
        order = ", ".join(
            f"{quote(column)} {'DESC' if desc else 'ASC'}{' NULLS LAST' if last else ''}"
            for column, desc, last in self._keys
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT listing_id, COUNT(*) OVER () FROM ({sql} OFFSET 0) AS matches "  # noqa: S608
                f"ORDER BY {order} LIMIT %s",
                [*params, SEARCH_HEAD],
            )
            rows = cursor.fetchall()
        self._head = [listing_id for listing_id, _ in rows]
        self._count = int(rows[0][1]) if rows else 0

    def _load_word_head(self, word: str) -> None:
        terms = SearchTerm.objects.filter(lexeme=word)
        # The primary key's order (scanned backwards) is the ranked order: score (the word's
        # ts_rank), trending, newest listing; the count rides along as a scalar subquery.
        rows = list(
            terms.annotate(
                total=Subquery(terms.order_by().values("lexeme").annotate(n=Count("*")).values("n"))
            )
            .order_by("-score", "-trending_score", "-entry_id")
            .values_list("entry_id", "total")[:SEARCH_HEAD]
        )
        self._head = [listing_id for listing_id, _ in rows]
        self._count = int(rows[0][1]) if rows else 0

    def __len__(self) -> int:
        return self.count()

    @overload
    def __getitem__(self, index: int) -> Listing: ...
    @overload
    def __getitem__(self, index: slice) -> list[Listing]: ...
    def __getitem__(self, index: int | slice) -> Listing | list[Listing]:
        if isinstance(index, int):
            found = self[index : index + 1] if index >= 0 else []
            if not found:
                raise IndexError("listing results index out of range")
            return found[0]
        start, stop = index.start or 0, index.stop
        if self._with_head and index.step is None and start >= 0 and stop is not None and stop <= SEARCH_HEAD:
            if self._head is None:
                self._load_head()
            assert self._head is not None
            ids = self._head[start:stop]
        else:
            ids = list(self._entries.values_list("listing_id", flat=True)[index])
        by_id = for_cards(Listing.objects.filter(pk__in=ids)).in_bulk()
        return [by_id[pk] for pk in ids if pk in by_id]

    def __iter__(self) -> Iterator[Listing]:
        return iter(self[:])


def listing_search(
    *,
    search: str | None = None,
    category: str | None = None,
    task: str | None = None,
    pricing: str | None = None,
    min_price: int | None = None,
    max_price: int | None = None,
    quality_tier: str | None = None,
    min_rating: Decimal | int | None = None,
    accepts_agr: bool | None = None,
    ordering: str = "relevance",
) -> ListingResults:
    """Published listings matching the search text and filters, in `ordering` (ties by newest id).

    `category` is a slug and includes its sub-categories; prices are US cents against the cheapest
    active plan; `min_rating` is in stars. Raises ValidationFailed for an unknown ordering or pricing.
    """
    if ordering not in ORDERINGS:
        raise ValidationFailed(detail={"ordering": [f"Choose one of {', '.join(ORDERINGS)}."]})
    entries = SearchEntry.objects.all()
    if category:
        # The ids first (one query over the small category table): as a subquery, the planner
        # loops over the categories and scans the search's GIN index once per category.
        entries = entries.filter(
            category__in=list(
                Category.objects.filter(Q(slug=category) | Q(parent__slug=category)).values_list(
                    "pk", flat=True
                )
            )
        )
    if task:
        entries = entries.filter(task=task)
    if pricing:
        if pricing not in PRICING_FLAGS:
            raise ValidationFailed(detail={"pricing": [f"Choose one of {', '.join(PRICING_FLAGS)}."]})
        entries = entries.filter(**{PRICING_FLAGS[PlanKind(pricing)]: True})
    if min_price is not None:
        entries = entries.filter(min_price_cents__gte=min_price)
    if max_price is not None:
        entries = entries.filter(min_price_cents__lte=max_price)
    if quality_tier:
        entries = entries.filter(quality_tier=quality_tier)
    if min_rating is not None:
        entries = entries.filter(rating_average__gte=min_rating)
    if accepts_agr is not None:
        entries = entries.filter(accepts_agr=accepts_agr)

    text = (search or "").strip()
    if not text:
        return ListingResults(entries, _order_keys(ordering, ranked=False))
    # A one-word search's order is its SearchTerm rows' order only by relevance and without filters.
    by_word = ordering == "relevance" and not entries.query.has_filters()
    # The first way of matching that finds anything wins; its count comes with its first page.
    for matching in _searches(entries, text, by_word=by_word):
        results = ListingResults(
            matching.matches,
            _order_keys(ordering, ranked=matching.ranked),
            head=True,
            word=matching.word,
        )
        if results.count():
            break
    return results


def _order_keys(ordering: str, *, ranked: bool) -> OrderKeys:
    match ordering:
        case "relevance" if ranked:
            return (("rank", True, False), ("trending_score", True, False))
        case "relevance" | "trending":
            # Without search text, relevance is trending: an index serves it, where "featured
            # first" would sort every entry on every page (featured listings have their strip).
            return (("trending_score", True, False),)
        case "newest":
            return (("published_at", True, False),)
        case "rating":
            return (("rating_average", True, False), ("rating_count", True, False))
        case "price":
            return (("min_price_cents", False, True),)
        case _:  # "-price"
            # Unpriced listings (no active plan) last on both databases (PostgreSQL: the
            # search_price_desc index of migration 0004 serves this without a sort).
            return (("min_price_cents", True, True),)


class Matching(NamedTuple):
    """One way of matching a search text: the matching index rows, whether they carry a `rank`, and
    the one word (lexeme) whose SearchTerm rows are exactly these matches in rank order, if it is
    one word (PostgreSQL)."""

    matches: QuerySet[SearchEntry]
    ranked: bool
    word: str | None = None


def _searches(entries: QuerySet[SearchEntry], text: str, *, by_word: bool = False) -> Iterator[Matching]:
    """The ways of matching `text`, most exact first.

    On PostgreSQL: every word (websearch syntax: "quoted phrases", -excluded, or); every word after
    spell-correcting the unknown ones against the tag vocabulary by trigram similarity ("sentimnet"
    -> sentiment); any of those words, ranked so that listings with more of them come first; titles
    similar by trigrams. Words no listing contains are left out of the last two (the search words
    table says so at once), and a way that needs one of them is skipped. With `by_word`, a way that
    comes down to one word names it (Matching.word).

    On SQLite (marketplace.selectors.fulltext), the same ways over its FTS5 tables, ranked by bm25():
    every word and "quoted phrase", none of the -excluded ones; every word after correcting the
    unknown ones to the closest vocabulary word ("embedings", "sentimnet"); any of those words; any
    of them as a word's beginning ("diffus")."""
    if connection.vendor != "postgresql":
        yield from _fulltext_searches(entries, text)
        return
    query: SearchQuery = SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)
    yield _ranked(entries, query, word=_one_word(text) if by_word else None)
    typed = [word for word in text.lower().split() if len(word) >= TYPO_MIN_LENGTH][:TYPO_MAX_WORDS]
    words = _corrected_words(typed)
    if words != typed or len(words) > 1:
        lexemes = _catalog_lexemes(words)
        known = [word for word in words if lexemes[word]]  # not stop words, nor unknown ones
        if words != typed and known and None not in lexemes.values():
            query = SearchQuery(" ".join(words), search_type="plain", config=SEARCH_CONFIG)
            yield _ranked(entries, query, word=_only(lexemes, words) if by_word else None)
        if len(words) > 1 and known:
            # The rank of "any of the words" only divides by the number of words, so leaving out
            # the ones no listing contains changes neither the matches nor their order.
            query = reduce(
                operator.or_, (SearchQuery(word, search_type="plain", config=SEARCH_CONFIG) for word in known)
            )
            yield _ranked(entries, query, word=_only(lexemes, known) if by_word else None)
    # Titles similar by trigrams (the `%` operator uses the title's trigram GIN index).
    yield Matching(
        entries.filter(listing__title__trigram_similar=text).annotate(
            rank=TrigramSimilarity("listing__title", text)
        ),
        ranked=True,
    )


def _ranked(entries: QuerySet[SearchEntry], query: SearchQuery, *, word: str | None) -> Matching:
    return Matching(
        entries.filter(document=query).annotate(rank=SearchRank(F("document"), query)), True, word
    )


def _fulltext_searches(entries: QuerySet[SearchEntry], text: str) -> Iterator[Matching]:
    terms = fulltext.Terms.parse(text)
    yield Matching(fulltext.fulltext_matches(entries, terms.all_of()), ranked=True)
    unknown = fulltext.unknown_words(terms.words)
    corrected = fulltext.corrections(unknown)
    words = [corrected.get(word, word) for word in terms.words]
    if corrected and len(corrected) == len(unknown):
        yield Matching(fulltext.fulltext_matches(entries, terms.with_words(words).all_of()), ranked=True)
    # Words no listing contains are left out; bm25() sums over the words, so more of them rank higher.
    known = [corrected.get(word, word) for word in terms.words if word not in unknown or word in corrected]
    if len(terms.words) > 1 and known:
        yield Matching(fulltext.fulltext_matches(entries, fulltext.any_of(known)), ranked=True)
    # A word's beginning, as typed so far or cut short ("diffus" -> diffusion).
    prefixes = [word for word in words if len(word) >= TYPO_MIN_LENGTH]
    yield Matching(fulltext.fulltext_matches(entries, fulltext.any_of(prefixes, prefix=True)), ranked=True)


def _one_word(text: str) -> str | None:
    """The lexeme, when the websearch query of `text` is that one lexeme alone ("Forecasts" ->
    forecast; not a phrase, an exclusion or several words)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT numnode(websearch_to_tsquery(%s::regconfig, %s)), "
            "tsvector_to_array(to_tsvector(%s::regconfig, %s))",
            [SEARCH_CONFIG, text, SEARCH_CONFIG, text],
        )
        nodes, lexemes = cursor.fetchone()
    return str(lexemes[0]) if nodes == 1 and len(lexemes) == 1 else None


def _catalog_lexemes(words: list[str]) -> dict[str, list[str] | None]:
    """Each word's lexemes as a plain search reads it ([] for a stop word), or None when no
    published listing contains them all, in one query over the search words' primary key index."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT w.word, w.lexemes, NOT EXISTS (
                     SELECT 1 FROM unnest(w.lexemes) AS x(lexeme)
                      WHERE NOT EXISTS (SELECT 1 FROM {SearchTerm._meta.db_table} AS t
                                         WHERE t.lexeme = x.lexeme))
                  FROM (SELECT word, tsvector_to_array(to_tsvector(%s::regconfig, word)) AS lexemes
                          FROM unnest(%s::text[]) AS word) AS w""",  # noqa: S608
            [SEARCH_CONFIG, words],
        )
        return {word: list(lexemes) if found else None for word, lexemes, found in cursor.fetchall()}


def _only(lexemes: dict[str, list[str] | None], words: list[str]) -> str | None:
    """The lexeme when these words, stop words aside, come down to one word of one lexeme."""
    found = [found for word in words if (found := lexemes[word])]
    return found[0][0] if len(found) == 1 and len(found[0]) == 1 else None


def _corrected_words(words: list[str]) -> list[str]:
    """The words, each replaced by the most similar tag name when one is at least pg_trgm's
    threshold alike (one query over the small tag table); a word without one stays as it is."""
    if not words:
        return []
    similarities = {f"s{i}": TrigramSimilarity("name", word) for i, word in enumerate(words)}
    close = Q()
    for word in words:
        close |= Q(name__trigram_similar=word)
    best: dict[int, tuple[float, str]] = {}
    for row in Tag.objects.filter(close).annotate(**similarities).values("name", *similarities):
        for i in range(len(words)):
            score = float(row[f"s{i}"] or 0)
            if score >= TRIGRAM_THRESHOLD and score > best.get(i, (0.0, ""))[0]:
                best[i] = (score, str(row["name"]))
    return [best[i][1] if i in best else word for i, word in enumerate(words)]


# The empty state's suggestions: at most this many names, each holding at least this share of the
# search's trigrams ("speach" is close to "Speech recognition").
SUGGESTION_LIMIT = 3
SUGGESTION_CLOSENESS = 0.5
_Named = TypeVar("_Named")


@dataclass(frozen=True)
class SearchSuggestions:
    """What the catalog offers for a search that found nothing: the search with its misspelt words
    corrected ("Did you mean …"; only when that finds models), then the category names and the
    task labels closest to it, closest first."""

    corrected: str | None
    categories: list[Category]
    tasks: list[tuple[str, str]]

    def __bool__(self) -> bool:
        return bool(self.corrected or self.categories or self.tasks)


def search_suggestions(*, text: str) -> SearchSuggestions:
    """The nearest matches to a search text (see SearchSuggestions): names of categories and tasks
    that published listings are filed under, and the text with each word no listing contains
    replaced by its correction (the same correction the search itself tries)."""
    text = text.strip()
    if not text:
        return SearchSuggestions(None, [], [])
    # Only names that lead somewhere: a category with published listings in it or its children,
    # a task some published listing has (index probes, not a scan of the entries).
    filed = Category.objects.filter(
        Exists(SearchEntry.objects.filter(category=OuterRef("pk")))
        | Exists(SearchEntry.objects.filter(category__parent=OuterRef("pk")))
    )
    categories = _closest(text, [(category.name, category) for category in filed])
    named = {category.name.casefold() for category in categories}
    labels = [(str(value), str(label)) for value, label in TaskType.choices]
    tasks = [
        (value, label)
        for value, label in _closest(text, [(label, (value, label)) for value, label in labels])
        if label.casefold() not in named and SearchEntry.objects.filter(task=value).exists()
    ]
    return SearchSuggestions(corrected=_corrected_search(text), categories=categories, tasks=tasks)


def _closest(text: str, named: list[tuple[str, _Named]]) -> list[_Named]:
    scored = sorted(
        ((fulltext.closeness(text, name), name, item) for name, item in named),
        key=lambda row: (-row[0][0], -row[0][1], row[1]),
    )
    return [item for score, _, item in scored if score[0] >= SUGGESTION_CLOSENESS][:SUGGESTION_LIMIT]


def _corrected_search(text: str) -> str | None:
    words = list(fulltext.Terms.parse(text).words)  # folded, stop words left out
    if connection.vendor == "postgresql":
        typed = [word for word in words if len(word) >= TYPO_MIN_LENGTH][:TYPO_MAX_WORDS]
        lexemes = _catalog_lexemes(typed) if typed else {}
        unknown = [word for word in typed if lexemes[word] is None]
        corrected = {
            word: new for word, new in zip(unknown, _corrected_words(unknown), strict=True) if new != word
        }
    else:
        corrected = fulltext.corrections(fulltext.unknown_words(words))
    if not corrected:
        return None
    suggestion = fulltext.replace_words(text, corrected)
    return suggestion if listing_search(search=suggestion).count() else None
