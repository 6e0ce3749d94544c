from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.accounts.factories import UserFactory

PASSWORD = "correct-horse-battery-staple-42"


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Row locks, deferred triggers and real parallel connections exist only on PostgreSQL. CI sets
    # DATABASE_URL and CI=true, so there a missing PostgreSQL fails instead of skipping.
    if item.get_closest_marker("postgres"):
        from django.db import connection

        if connection.vendor != "postgresql":
            if os.environ.get("CI"):
                pytest.fail("This test needs PostgreSQL; CI must export DATABASE_URL=postgres://...")
            pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/agora")


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    # API-key lookups and rate limits live in the cache, which outlives each test's transaction.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def user(db):
    return UserFactory(password=PASSWORD)


@pytest.fixture
def other_user(db):
    return UserFactory(password=PASSWORD)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()
