"""SQLite full-text search for the catalog (the embedded default), and the word similarity that the
empty state's suggestions use on both databases.

The catalog's text lives in SQLite's FTS5 tables (marketplace.models.search): a search's words are
matched porter-stemmed in any order and ranked with bm25(), the title weighing most, as weight A does
on PostgreSQL. A misspelt word ("sentimnet") is corrected to the closest word of the catalog's
vocabulary, at most one edit away (two from eight letters; a swap of neighbours is one edit), as the
PostgreSQL path spell-corrects by trigram similarity. Search text is never passed to FTS5 as syntax:
it is cut into words, each quoted, so any input is a valid query."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.db import connection
from django.db.models import FloatField, QuerySet, Value
from django.db.models.expressions import RawSQL

from marketplace.models import SearchEntry
from marketplace.models.search import FULLTEXT_TABLE, FULLTEXT_VOCABULARY_TABLE

# bm25() weights of the columns (marketplace.models.search.FULLTEXT_COLUMNS): title, summary, tags,
# category, task. The title outweighs the rest; tags say what a model is more surely than a summary.
FULLTEXT_WEIGHTS = (10.0, 2.0, 4.0, 3.0, 3.0)
# Words shorter than this are never corrected: one edit from a three-letter word is another word.
CORRECT_MIN_LENGTH = 4
# From this length a word may be two edits from the vocabulary word it was meant to be.
TWO_EDITS_LENGTH = 8
MAX_WORDS = 12
# PostgreSQL's English stop words (tsearch_data/english.stop), left out of a search as it does.
STOP_WORDS = frozenset(
    """i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she
    her hers herself it its itself they them their theirs themselves what which who whom this that
    these those am is are was were be been being have has had having do does did doing a an the and
    but if or because as until while of at by for with about against between into through during
    before after above below to from up down in out on off over under again further then once here
    there when where why how all any both each few more most other some such no nor not only own same
    so than too very s t can will just don should now""".split()  # noqa: SIM905
)
# A "quoted phrase", or a word or hyphenated words (a phrase too); with a minus in front (at the
# start or after a space, so not the hyphen of "text-to-image") it is excluded.
_TERM = re.compile(r'((?<!\S)-)?"([^"]*)"|((?<!\S)-)?(\w+(?:-\w+)*)')
_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """Lower case without diacritics, as the full-text tables' unicode61 tokenizer stores words."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The words of a text, as the tokenizer cuts them (runs of letters and digits)."""
    return _WORD.findall(text)


def replace_words(text: str, replacements: dict[str, str]) -> str:
    """The text with each word whose folded form is replaced swapped for its replacement."""
    return _WORD.sub(lambda found: replacements.get(fold(found.group()), found.group()), text)


@dataclass(frozen=True)
class Terms:
    """A search text cut into FTS5 terms: single words (stop words left out), "quoted phrases" kept
    whole, and -excluded words or phrases."""

    words: tuple[str, ...]
    phrases: tuple[tuple[str, ...], ...]
    excluded: tuple[tuple[str, ...], ...]

    @classmethod
    def parse(cls, text: str) -> Terms:
        words: list[str] = []
        phrases: list[tuple[str, ...]] = []
        excluded: list[tuple[str, ...]] = []
        for minus_phrase, phrase, minus, word in _TERM.findall(fold(text)):
            parts = tuple(_WORD.findall(phrase or word))
            if not parts:
                continue
            if minus_phrase or minus:
                excluded.append(parts)
            elif len(parts) > 1:
                phrases.append(parts)
            elif parts[0] not in STOP_WORDS and parts[0] not in words:
                words.append(parts[0])
        return cls(tuple(words[:MAX_WORDS]), tuple(phrases), tuple(excluded))

    def with_words(self, words: list[str]) -> Terms:
        return Terms(tuple(words), self.phrases, self.excluded)

    def all_of(self) -> str | None:
        """The FTS5 query for every word and phrase, none of the excluded (None: nothing to find)."""
        positive = [_quoted(word) for word in self.words] + [_quoted(*phrase) for phrase in self.phrases]
        if not positive:
            return None
        query = " AND ".join(positive)
        if self.excluded:
            query = f"({query}) NOT ({' OR '.join(_quoted(*parts) for parts in self.excluded)})"
        return query


def _quoted(*words: str) -> str:
    # Words are runs of \w, which never hold a double quote: each is one FTS5 string.
    return '"' + " ".join(words) + '"'


def any_of(words: list[str], *, prefix: bool = False) -> str | None:
    """The FTS5 query for any of these words (as prefixes with `prefix`)."""
    star = "*" if prefix else ""
    return " OR ".join(f"{_quoted(word)}{star}" for word in words) or None


def fulltext_matches(entries: QuerySet[SearchEntry], query: str | None) -> QuerySet[SearchEntry]:
    """The entries whose text matches the FTS5 `query`, each with `rank`: its bm25() score, negated
    so that higher is better as on PostgreSQL (no query: no entries)."""
    if query is None:
        return entries.none().annotate(rank=Value(0.0, output_field=FloatField()))
    table = FULLTEXT_TABLE
    weights = ", ".join(str(weight) for weight in FULLTEXT_WEIGHTS)
    entry_table = connection.ops.quote_name(SearchEntry._meta.db_table)
    return entries.filter(
        listing_id__in=RawSQL(f"SELECT rowid FROM {table} WHERE {table} MATCH %s", [query])  # noqa: S608, S611
    ).annotate(
        rank=RawSQL(  # noqa: S611  (the table, its weights and the quoted entry table are constants)
            f"SELECT -bm25({table}, {weights}) FROM {table} "  # noqa: S608
            f"WHERE {table} MATCH %s AND rowid = {entry_table}.listing_id",
            [query],
        )
    )


def unknown_words(words: tuple[str, ...] | list[str]) -> list[str]:
    """The words that, alone, match no listing's text (stemmed as a search matches them)."""
    unknown = []
    with connection.cursor() as cursor:
        for word in words:
            cursor.execute(
                f"SELECT EXISTS (SELECT 1 FROM {FULLTEXT_TABLE} WHERE {FULLTEXT_TABLE} MATCH %s)",  # noqa: S608
                [_quoted(word)],
            )
            if not cursor.fetchone()[0]:
                unknown.append(word)
    return unknown


def corrections(words: list[str]) -> dict[str, str]:
    """For each word that can be corrected, the closest vocabulary word: fewest edits, then the one
    in the most listings, then alphabetical; in one query over the vocabulary's words of about the
    same length."""
    correctable = [word for word in words if len(word) >= CORRECT_MIN_LENGTH]
    if not correctable:
        return {}
    shortest = min(len(word) for word in correctable) - 2
    longest = max(len(word) for word in correctable) + 2
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT term, doc FROM {FULLTEXT_VOCABULARY_TABLE} "  # noqa: S608
            "WHERE length(term) BETWEEN %s AND %s",
            [shortest, longest],
        )
        vocabulary = cursor.fetchall()
    found: dict[str, str] = {}
    for word in correctable:
        limit = 2 if len(word) >= TWO_EDITS_LENGTH else 1
        best: tuple[int, int, str] | None = None
        for term, listings in vocabulary:
            if term == word or abs(len(term) - len(word)) > limit or term.isdigit():
                continue
            edits = edit_distance(word, term, limit=limit)
            if edits <= limit and (best is None or (edits, -listings, term) < best):
                best = (edits, -listings, term)
        if best is not None:
            found[word] = best[2]
    return found


def edit_distance(a: str, b: str, *, limit: int) -> int:
    """Optimal string alignment distance (insertions, deletions, substitutions and swaps of two
    neighbouring letters each count one), or limit + 1 once it must exceed `limit`."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[len(b)], limit + 1)


def trigrams(text: str) -> set[str]:
    """pg_trgm's trigrams of a text: each word, lower case and padded with two spaces before and one
    after, cut into every run of three characters."""
    grams: set[str] = set()
    for word in _WORD.findall(fold(text)):
        padded = f"  {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams


def closeness(text: str, name: str) -> tuple[float, float]:
    """How close a name is to a search text: the share of the text's trigrams that the name holds
    (so "speech" is close to "Speech recognition"), then pg_trgm's similarity of the two."""
    wanted, offered = trigrams(text), trigrams(name)
    if not wanted or not offered:
        return (0.0, 0.0)
    common = len(wanted & offered)
    return (common / len(wanted), common / len(wanted | offered))
