from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.accounts.factories import UserFactory

PASSWORD = "correct-horse-battery-staple-42"


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
