"""Closers of the same epoch racing on PostgreSQL (the beat task delivered twice, a manual close at
the same moment): the epoch is recorded once and its pool moves once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
import time_machine

from tests.accounts.factories import UserFactory
from tests.tokenomics.concurrency.threads import race
from tests.tokenomics.epochs.conftest import EPOCH_1_START, GENESIS_AT, WEEK
from tokenomics.models import Epoch, LedgerAccount, LedgerTransaction
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.selectors.ledger import ledger_verify
from tokenomics.services.epochs import epoch_close, epochs_close_due

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 6


def test_racing_closers_distribute_an_epoch_once(
    genesis: datetime, sale: Callable[..., None], weights_registry: dict[str, dict[int, int]]
) -> None:
    creator = UserFactory()
    weights_registry["creators"] = {creator.pk: 1}
    weights_registry["providers"] = {creator.pk: 1}
    sale(at=GENESIS_AT + WEEK / 7, gross=100_000)

    def close(index: int) -> object:
        if index % 2:
            return epochs_close_due()
        return epoch_close(number=1, starts_at=EPOCH_1_START, ends_at=EPOCH_1_START + WEEK)

    with time_machine.travel(EPOCH_1_START + WEEK + WEEK / 7, tick=False):
        outcomes = race(THREADS, close)

    assert all(outcome.ok for outcome in outcomes), [outcome.error for outcome in outcomes]
    assert Epoch.objects.count() == 1
    assert LedgerTransaction.objects.filter(kind=TransactionKind.DISTRIBUTION).count() == 1
    assert LedgerTransaction.objects.filter(kind=TransactionKind.EMISSION).count() == 1
    payable = LedgerAccount.objects.get(owner=creator, kind=AccountKind.CREATOR_PAYABLE, asset="USD")
    assert payable.balance == 14_500 * 3000 // 10_000
    assert ledger_verify().ok
