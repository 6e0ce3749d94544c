"""Hypothesis over whole epochs on the database: whatever the revenue and the weights, an epoch's
parts add up to its pool exactly, the ledger agrees with its record, and closing it again (by the
task or by hand) moves nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.fields import WideSum
from tests.accounts.factories import UserFactory
from tokenomics.models import LedgerEntry
from tokenomics.models.ledger import AccountKind
from tokenomics.selectors.epochs import epoch_next_bounds
from tokenomics.services.epochs import epoch_close, epochs_close_due

pytestmark = pytest.mark.django_db
SHARES = ("providers", "creators", "integrations", "community")
HOUR = timedelta(hours=1)


def test_every_epoch_adds_up_and_reruns_are_no_ops(
    genesis: datetime, sale: Callable[..., None], weights_registry: dict[str, dict[int, int]]
) -> None:
    users = [UserFactory().pk for _ in range(5)]
    weight_maps = st.dictionaries(st.sampled_from(users), st.integers(0, 10**6), max_size=5)
    closed: list[int] = []

    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        sales=st.lists(st.integers(1, 10**9), max_size=3),
        providers=weight_maps,
        creators=weight_maps,
        integrations=weight_maps,
    )
    def one_epoch(
        sales: list[int], providers: dict[int, int], creators: dict[int, int], integrations: dict[int, int]
    ) -> None:
        bounds = epoch_next_bounds(epoch_seconds=7 * 86_400)
        assert bounds is not None
        number, start, end = bounds
        for gross in sales:
            sale(at=start + HOUR, gross=gross)
        weights_registry.update(providers=providers, creators=creators, integrations=integrations)
        with time_machine.travel(end + HOUR, tick=False):
            [epoch] = epochs_close_due()
            entries = LedgerEntry.objects.count()
            assert epochs_close_due() == []
            assert epoch_close(number=number, starts_at=start, ends_at=end).pk == epoch.pk
            assert LedgerEntry.objects.count() == entries
        assert epoch.number == number
        closed.append(number)
        parts = {key: int(value) for key, value in epoch.breakdown.get("USD", {}).items()}
        if not parts:
            assert not sales or epoch.distribution_transaction is None
            return
        assert sum(parts[share] for share in SHARES) + parts["carried"] == parts["pool"]
        assert all(value >= 0 for value in parts.values())
        if epoch.distribution_transaction is not None:
            mine = LedgerEntry.objects.filter(transaction=epoch.distribution_transaction, asset="USD")
            taken = mine.filter(account__kind=AccountKind.PLATFORM_REVENUE).aggregate(t=WideSum("amount"))[
                "t"
            ]
            assert -int(taken or 0) == parts["pool"] - parts["carried"]
            assert int(mine.aggregate(t=WideSum("amount"))["t"]) == 0
        for share, weights in (
            ("providers", providers),
            ("creators", creators),
            ("integrations", integrations),
        ):
            if not any(weights.values()):
                assert parts[share] == 0

    one_epoch()
    assert closed == list(range(1, len(closed) + 1))
    assert len(closed) >= 25
