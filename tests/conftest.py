from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.accounts.factories import UserFactory

PASSWORD = "correct-horse-battery-staple-42"

# A real PyTriton server with the demo models, started once for the session by any test that asks
# for the `pytriton_server` fixture (tests/compute/pytriton_server.py).
pytest_plugins = ["tests.compute.pytriton_server"]


# The PostgreSQL-only tests this run skipped, for the summary at the end.
_skipped_for_postgres: list[str] = []


def _no_postgres_reason() -> str:
    # scripts/test-bootstrap.sh (`make test`) says what it probed; a bare pytest knows only this.
    return os.environ.get("AGORA_TEST_NO_POSTGRES_REASON") or "no DATABASE_URL=postgres://... was set"


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Row locks, deferred triggers and real parallel connections exist only on PostgreSQL. CI sets
    # DATABASE_URL and CI=true, so there a missing PostgreSQL fails instead of skipping.
    if item.get_closest_marker("postgres"):
        from django.db import connection

        if connection.vendor != "postgresql":
            if os.environ.get("CI"):
                pytest.fail("This test needs PostgreSQL; CI must export DATABASE_URL=postgres://...")
            _skipped_for_postgres.append(item.nodeid)
            pytest.skip(f"needs PostgreSQL: {_no_postgres_reason()}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # A skip is easy to miss in a green run; these are the tests of locks, triggers and races.
    if _skipped_for_postgres:
        terminalreporter.section("PostgreSQL tests SKIPPED", sep="!", yellow=True, bold=True)
        terminalreporter.write_line(
            f"{len(_skipped_for_postgres)} tests marked 'postgres' did not run: {_no_postgres_reason()}. "
            "This run used the embedded SQLite database."
        )
        terminalreporter.write_line(
            "Start PostgreSQL on 127.0.0.1:5432 and run `make test` (it finds it), or export "
            "DATABASE_URL=postgres://USER@HOST:PORT/NAME."
        )


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
