"""Storefront tests: the whole ledger must verify after every test that touched the database
(L2, as in tests/tokenomics) and the search index must match the listings; Stripe is localstripe,
and uploads go to a temporary media root."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from accounts.models import User
from marketplace.models import Category, Listing, ListingStatus, SearchEntry, SearchTerm
from marketplace.models.search import FULLTEXT_TABLE, FULLTEXT_WORDS_TABLE
from marketplace.services.search import ENTRY_COLUMNS
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import CategoryFactory
from tests.tokenomics.conftest import (
    _ledger_verifies_after_test,  # noqa: F401  (autouse)
    database_fixture,
)

# Orders are paid through a real localstripe (started once per session; autouse points Stripe at it).
from tests.tokenomics.stripe.conftest import _stripe_is_localstripe, localstripe, since  # noqa: F401


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    """Uploads (encrypted artefacts) go to the test's own folder, returned for tests that look."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def creator(db: None) -> User:
    return UserFactory()


@pytest.fixture
def category(db: None) -> Category:
    return CategoryFactory(name="Language", slug="language")


@pytest.fixture(autouse=True)
def _search_index_matches_the_listings_after_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """The search index holds exactly the published listings, each with its listing's current filter
    and ordering columns (on PostgreSQL exactly its document's words, on SQLite exactly its
    full-text rows): every service that writes a listing must have re-indexed it."""
    fixture = database_fixture(request)
    if fixture is None:
        yield
        return
    request.getfixturevalue(fixture)  # torn down after this fixture: the check sees the test's data
    yield
    published = Listing.objects.filter(status=ListingStatus.PUBLISHED)
    expected = {row.pop("id"): row for row in published.values("id", *ENTRY_COLUMNS)}
    indexed = {row.pop("listing_id"): row for row in SearchEntry.objects.values("listing_id", *ENTRY_COLUMNS)}
    assert indexed == expected, f"search index out of date after {request.node.nodeid}"
    if connection.vendor == "postgresql":
        # Every word of every document, with its entry's trending score, and nothing else.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT e.listing_id, u.lexeme, e.trending_score FROM marketplace_searchentry AS e, "
                "unnest(tsvector_to_array(e.document)) AS u(lexeme)"
            )
            words = sorted(cursor.fetchall())
        terms = sorted(SearchTerm.objects.values_list("entry_id", "lexeme", "trending_score"))
        assert terms == words, f"search words out of date after {request.node.nodeid}"
    if connection.vendor == "sqlite":
        # The full-text tables hold one row per entry: its listing's current text.
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT rowid, title FROM {FULLTEXT_TABLE}")  # noqa: S608
            texts = dict(cursor.fetchall())
            cursor.execute(f"SELECT rowid FROM {FULLTEXT_WORDS_TABLE}")  # noqa: S608
            words_rows = sorted(row for (row,) in cursor.fetchall())
        titles = dict(published.filter(pk__in=list(expected)).values_list("pk", "title"))
        assert texts == titles, f"full-text rows out of date after {request.node.nodeid}"
        assert words_rows == sorted(titles), f"full-text words out of date after {request.node.nodeid}"
