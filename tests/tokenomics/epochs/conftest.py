"""Epoch tests: a clean weight registry per test, and a way to earn platform revenue at a moment."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts.models import User
from tests.accounts.factories import UserFactory
from tests.tokenomics.factories import funded_wallet
from tokenomics.services import distribution_weights as registry
from tokenomics.services.epochs import token_genesis
from tokenomics.services.escrow import escrow_hold, escrow_release

# A Monday, mid-morning: the genesis day's midnight is epoch 1's start.
GENESIS_AT = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
EPOCH_1_START = datetime(2026, 3, 2, tzinfo=UTC)
WEEK = timedelta(days=7)

_refs = itertools.count()


@pytest.fixture(autouse=True)
def weights_registry() -> Iterator[dict[str, dict[int, int]]]:
    """Every share's weights come from this dict (set a share's {user id: weight} in the test), so
    the apps' registrations do not leak in; the registry is restored afterwards."""
    saved = dict(registry._weights)
    registry._weights.clear()
    table: dict[str, dict[int, int]] = {}
    for share in ("providers", "creators", "integrations"):
        registry.distribution_weights_register(share, lambda start, end, share=share: table.get(share, {}))
    yield table
    registry._weights.clear()
    registry._weights.update(saved)


@pytest.fixture
def genesis(db: None) -> datetime:
    with time_machine.travel(GENESIS_AT, tick=False):
        token_genesis()
    return EPOCH_1_START


@pytest.fixture
def sale() -> Callable[..., None]:
    """`sale(at=..., gross=..., asset=...)`: a buyer's purchase from a creator released to the split
    at that moment (its platform part is platform revenue)."""

    def make(*, at: datetime, gross: int, asset: str = "USD", creator: User | None = None) -> None:
        buyer = UserFactory()
        seller = creator or UserFactory()
        with time_machine.travel(at, tick=False):
            wallet = funded_wallet(user=buyer, amount=gross, asset=asset)
            escrow = escrow_hold(
                reference=f"test-epoch-sale:{next(_refs)}",
                creator=seller,
                source_account=wallet,
                amount=gross,
            )
            escrow_release(escrow_id=escrow.pk)

    return make
