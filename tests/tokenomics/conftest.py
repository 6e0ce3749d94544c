"""Money tests: after every test that touched the database, the whole ledger must verify (L2)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tokenomics.selectors.ledger import ledger_verify


def database_fixture(request: pytest.FixtureRequest) -> str | None:
    """ "transactional_db" or "db" when the test uses the database (by fixture or marker), else None."""
    names = request.fixturenames
    marker = request.node.get_closest_marker("django_db")
    if "transactional_db" in names or (marker and marker.kwargs.get("transaction")):
        return "transactional_db"
    return "db" if "db" in names or marker else None


@pytest.fixture(autouse=True)
def _ledger_verifies_after_test(request: pytest.FixtureRequest) -> Iterator[None]:
    fixture = database_fixture(request)
    if fixture is None:
        yield
        return
    # Requesting the database fixture from here makes pytest tear this fixture down first, so the
    # check below runs before the test's transaction is rolled back or its tables are flushed.
    request.getfixturevalue(fixture)
    yield
    report = ledger_verify()
    assert report.ok, f"ledger invariants broken after {request.node.nodeid}: {report}"
