"""G6 on PostgreSQL with real threads: slashes racing unstakes, releases and more stakes on the same
holders conserve value (what left the wallets = bonded + unbonding + burned + released), no stake
goes negative, and the ledger verifies. `transaction=True`: every call commits."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.accounts.factories import UserFactory
from tests.tokenomics.concurrency.threads import race
from tests.tokenomics.factories import funded_wallet
from tokenomics.errors import InsufficientFunds, InvalidState
from tokenomics.models import LedgerAccount, Unbonding
from tokenomics.models.ledger import AccountKind, Asset
from tokenomics.money import agr
from tokenomics.selectors.ledger import ledger_verify, system_balance
from tokenomics.services.staking import stake_deposit, stake_slash, unstake_start, unstakes_release_due

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

HOLDERS = 4
CALLS = 40


def _balance(user, kind: str) -> int:
    row = LedgerAccount.objects.filter(owner=user, kind=kind, asset=Asset.AGR).first()
    return int(row.balance) if row else 0


def test_slashes_racing_unstakes_and_releases_conserve_value() -> None:
    holders = [UserFactory() for _ in range(HOLDERS)]
    for user in holders:
        funded_wallet(user=user, amount=agr(200_000), asset="AGR")
        stake_deposit(user=user, amount=agr(150_000), idempotency_key="start")
    burned_before = system_balance(kind=AccountKind.BURN, asset=Asset.AGR)
    rng = random.Random(7)
    plan = [(rng.choice(holders), rng.choice(["slash", "unstake", "stake"]), n) for n in range(CALLS)]

    def call(index: int) -> object:
        user, action, n = plan[index]
        if action == "slash":
            return stake_slash(
                user=user, fraction_bps=700, reason="race", evidence={"n": n}, idempotency_key=f"r{n}"
            )
        if action == "unstake":
            return unstake_start(user=user, amount=agr(9_000), idempotency_key=f"u{n}")
        return stake_deposit(user=user, amount=agr(1_000), idempotency_key=f"s{n}")

    outcomes = race(CALLS, call)
    allowed = (InsufficientFunds, InvalidState)
    assert all(o.ok or isinstance(o.error, allowed) for o in outcomes), [o for o in outcomes if not o.ok]
    with time_machine.travel(timezone.now() + timedelta(days=30), tick=False):
        released = race(HOLDERS, lambda i: unstakes_release_due())
    assert sum(o.value for o in released if o.ok) == Unbonding.objects.filter(state="released").count()

    total_in = HOLDERS * agr(200_000)
    burned = system_balance(kind=AccountKind.BURN, asset=Asset.AGR) - burned_before
    held = sum(
        _balance(u, AccountKind.WALLET) + _balance(u, AccountKind.STAKE) + _balance(u, AccountKind.UNBONDING)
        for u in holders
    )
    assert held + burned == total_in  # nothing created, nothing lost
    assert not LedgerAccount.objects.filter(kind__in=["stake", "unbonding"], balance__lt=0).exists()
    assert all(int(row.amount) >= 0 for row in Unbonding.objects.all())
    report = ledger_verify()
    assert report.ok, report
