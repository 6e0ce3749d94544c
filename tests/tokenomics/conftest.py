"""Money tests: after every test that touched the database, the whole ledger must verify (L2)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tokenomics.selectors.ledger import ledger_verify


@pytest.fixture(autouse=True)
def _ledger_verifies_after_test(request: pytest.FixtureRequest) -> Iterator[None]:
    names = request.fixturenames
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in names or bool(marker and marker.kwargs.get("transaction"))
    if not (transactional or "db" in names or marker):
        yield
        return
    # Requesting the database fixture from here makes pytest tear this fixture down first, so the
    # check below runs before the test's transaction is rolled back or its tables are flushed.
    request.getfixturevalue("transactional_db" if transactional else "db")
    yield
    report = ledger_verify()
    assert report.ok, f"ledger invariants broken after {request.node.nodeid}: {report}"
