"""Search finds what a buyer types, on both databases: one table of cases, run on whichever database
the suite runs on (SQLite's FTS5 tables locally by default, PostgreSQL's documents in CI); and from
a PostgreSQL run, the same module again on the embedded SQLite default in a child pytest, so that CI
checks both. Category and task names, words in any order, one-letter typos, hyphenated words."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from marketplace.models import Category, Listing, ListingStatus, Tag, TaskType
from marketplace.models.search import FULLTEXT_TABLE, FULLTEXT_VOCABULARY_TABLE
from marketplace.selectors.search import listing_search, search_suggestions
from marketplace.services.search import listing_search_index, listings_search_index_all
from tests.marketplace.factories import CategoryFactory, ListingFactory

pytestmark = pytest.mark.django_db

T = TaskType


def _category(name: str, parent: str) -> Category:
    top = CategoryFactory(name=parent, slug=parent.lower())
    return CategoryFactory(name=name, slug=name.lower().replace(" ", "-"), parent=top)


def _listing(
    slug: str, title: str, summary: str, category: Category, task: str, tags: tuple[str, ...]
) -> Listing:
    listing = ListingFactory(slug=slug, title=title, summary=summary, category=category, task=task)
    for name in tags:
        tag, _ = Tag.objects.get_or_create(name=name, defaults={"slug": name})
        listing.tags.add(tag)
    listing_search_index(listing_id=listing.pk)
    return listing


@pytest.fixture
def catalog(db: None) -> None:
    """A small catalog like the demo's: every listing filed under a category and a task."""
    _listing(
        "asr",
        "Whisperlite English ASR",
        "Fast English speech-to-text with punctuation and word timestamps.",
        _category("Speech recognition", "Audio"),
        T.SPEECH_RECOGNITION,
        ("asr", "speech-to-text"),
    )
    _listing(
        "tts",
        "Narrator Lite",
        "A lightweight English voice for devices and phone menus.",
        _category("Text to speech", "Audio"),
        T.TEXT_TO_SPEECH,
        ("tts", "voice"),
    )
    _listing(
        "diffusion",
        "Lumen Diffusion XL",
        "Text-to-image at 1024x1024 with precise prompt following.",
        _category("Image generation", "Vision"),
        T.IMAGE_GENERATION,
        ("diffusion", "text-to-image"),
    )
    _listing(
        "sentiment",
        "Review Sentiment Classifier",
        "Scores product reviews from negative to positive.",
        _category("Classification", "Language"),
        T.TEXT_CLASSIFICATION,
        ("sentiment", "reviews"),
    )
    _listing(
        "embeddings",
        "MiniVec Sentence Embeddings",
        "Dense vectors for semantic search and clustering.",
        _category("Embeddings", "Language"),
        T.EMBEDDINGS,
        ("embeddings", "retrieval"),
    )
    _listing(
        "detector",
        "Aerial Object Detector",
        "Finds vehicles and people in drone footage.",
        _category("Object detection", "Vision"),
        T.OBJECT_DETECTION,
        ("drone", "aerial"),
    )
    hidden = ListingFactory(
        slug="draft", title="Draft speech recognition", status=ListingStatus.DRAFT, task=T.SPEECH_RECOGNITION
    )
    listing_search_index(listing_id=hidden.pk)


CASES = [
    # category names, a category's parent, a task label
    ("speech recognition", {"asr"}),
    ("Object detection", {"detector"}),
    ("audio", {"asr", "tts"}),
    ("vision", {"diffusion", "detector"}),
    ("text classification", {"sentiment"}),
    # words in any order, hyphenated words typed apart
    ("recognition speech", {"asr"}),
    ("text to image", {"diffusion"}),
    ("image text", {"diffusion"}),
    ("classifier sentiment", {"sentiment"}),
    ("english speech", {"asr", "tts"}),
    # one-letter typos: a swap, a missing letter, a wrong letter
    ("sentimnet", {"sentiment"}),
    ("embedings", {"embeddings"}),
    ("embeddigns", {"embeddings"}),
    ("speach recognition", {"asr"}),
    # search syntax, as PostgreSQL's websearch reads it: hyphens join, a leading minus excludes
    ("text-to-image", {"diffusion"}),
    ('"word timestamps"', {"asr"}),
    ("audio -voice", {"asr"}),
    # stems, stop words alone, nothing
    ("detectors", {"detector"}),
    ("the", set()),
    ("zebra", set()),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[text for text, _ in CASES])
def test_search_finds_the_expected_listings(catalog: None, text: str, expected: set[str]) -> None:
    results = listing_search(search=text)
    assert {listing.slug for listing in results} == expected
    assert results.count() == len(expected)


def test_words_in_any_order_find_the_same_listings_in_the_same_order(catalog: None) -> None:
    for words in (("english", "speech"), ("vision", "drone"), ("language", "reviews")):
        forward = [listing.slug for listing in listing_search(search=" ".join(words))]
        backward = [listing.slug for listing in listing_search(search=" ".join(reversed(words)))]
        assert forward, words
        assert forward == backward, words


def test_a_title_match_ranks_above_the_same_word_in_a_summary_or_category(catalog: None) -> None:
    # "speech" is in asr's summary, category and tags, and in tts's category; the newer listing
    # with it in its title comes first though asr holds the word three times.
    noisy = _category("Other audio", "Audio")
    _listing("title", "Speech Enhancer", "Cleans up noisy calls.", noisy, T.OTHER, ())
    assert next(listing.slug for listing in listing_search(search="speech")) == "title"


def test_the_index_follows_a_category_rename_once_rebuilt(catalog: None) -> None:
    Category.objects.filter(slug="audio").update(name="Sound")
    listings_search_index_all()
    assert {listing.slug for listing in listing_search(search="sound")} == {"asr", "tts"}
    assert {listing.slug for listing in listing_search(search="audio")} == set()


def test_filters_still_apply_to_full_text_matches(catalog: None) -> None:
    assert {listing.slug for listing in listing_search(search="audio", task=T.TEXT_TO_SPEECH)} == {"tts"}
    assert {listing.slug for listing in listing_search(search="audio", category="vision")} == set()


def test_suggestions_offer_the_corrected_search_and_the_closest_names(catalog: None) -> None:
    suggestions = search_suggestions(text="Sentimnet")
    assert suggestions.corrected == "sentiment"
    near = search_suggestions(text="speach recogniton")
    assert next(category.name for category in near.categories) == "Speech recognition"
    # The task of the same name is not offered twice.
    assert "Speech recognition" not in [label for _, label in near.tasks]
    assert not search_suggestions(text="xyzzy")


@pytest.mark.django_db(transaction=True)
def test_a_flush_leaves_no_text_behind() -> None:
    """`manage.py flush` (and the test runner between transactional tests) empties the model tables;
    SQLite's full-text tables are emptied with them, so a new listing 1 is not found by old words."""
    _listing("old", "Heron tracker", "Birds.", _category("Birds", "Nature"), T.OTHER, ())
    call_command("flush", interactive=False, verbosity=0)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {FULLTEXT_TABLE}")  # noqa: S608
            assert cursor.fetchone()[0] == 0
            cursor.execute(f"SELECT count(*) FROM {FULLTEXT_VOCABULARY_TABLE}")  # noqa: S608
            assert cursor.fetchone()[0] == 0
    new = ListingFactory(title="Kestrel", status=ListingStatus.DRAFT)
    listing_search_index(listing_id=new.pk)
    assert list(listing_search(search="heron")) == []
    assert search_suggestions(text="heorn").corrected is None


@pytest.mark.postgres
def test_the_same_table_passes_on_the_embedded_sqlite_default() -> None:
    """CI runs on PostgreSQL: run this module again on SQLite, the default without DATABASE_URL."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL", "CI")}
    root = Path(__file__).resolve().parents[3]
    module = str(Path(__file__).relative_to(root))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", module, "-q", "-p", "no:cacheprovider"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
    assert "failed" not in done.stdout
    assert connection.vendor == "postgresql"
