"""The weight registry: apps register a function per share; tokenomics reads validated weights."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tokenomics.services import distribution_weights as registry
from tokenomics.services.distribution_weights import (
    Share,
    distribution_weights,
    distribution_weights_register,
    distribution_weights_registered,
)

START = datetime(2026, 1, 5, tzinfo=UTC)
END = datetime(2026, 1, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _restore_registry() -> Iterator[None]:
    saved = dict(registry._weights)
    yield
    registry._weights.clear()
    registry._weights.update(saved)


def test_a_registered_function_gets_the_epoch_bounds_and_zero_weights_are_dropped() -> None:
    seen: list[tuple[datetime, datetime]] = []

    def weights(start: datetime, end: datetime) -> dict[int, int]:
        seen.append((start, end))
        return {9: 3, 2: 0, 4: 7}

    distribution_weights_register("integrations", weights)
    assert distribution_weights_registered(Share.INTEGRATIONS)
    assert distribution_weights("integrations", START, END) == {4: 7, 9: 3}
    assert list(distribution_weights("integrations", START, END)) == [4, 9]
    assert seen[0] == (START, END)


def test_an_unregistered_share_has_no_recipients() -> None:
    registry._weights.pop(Share.COMMUNITY, None)
    assert not distribution_weights_registered("community")
    assert distribution_weights("community", START, END) == {}


def test_unknown_shares_and_bad_weights_are_refused() -> None:
    with pytest.raises(ValueError, match="nobody"):
        distribution_weights_register("nobody", lambda start, end: {})
    distribution_weights_register("community", lambda start, end: {1: -1})
    with pytest.raises(ValueError, match="negative"):
        distribution_weights("community", START, END)
    distribution_weights_register("community", lambda start, end: {1: 1.5})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        distribution_weights("community", START, END)
