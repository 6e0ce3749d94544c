"""Closing epochs: one recorded ledger transaction per epoch, parts that add up, reruns that move
nothing, emission on the schedule, and the remainder rule's carry-over."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
import time_machine
from django.db.models import Sum

from tests.accounts.factories import UserFactory
from tests.tokenomics.epochs.conftest import EPOCH_1_START, GENESIS_AT, WEEK
from tokenomics.emission import emission_for_period
from tokenomics.models import Asset, Epoch, LedgerAccount, LedgerEntry, LedgerTransaction
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.money import agr
from tokenomics.selectors.epochs import emission_schedule
from tokenomics.selectors.history import history_rows, history_transactions
from tokenomics.services.distribution_weights import distribution_weights_register
from tokenomics.services.epochs import epoch_close, epochs_close_due, token_genesis
from tokenomics.splits import split_pool

pytestmark = pytest.mark.django_db


def _balance(kind: str, asset: str, owner: object = None) -> int:
    account = LedgerAccount.objects.filter(kind=kind, asset=asset, owner=owner).first()
    return account.balance if account else 0


def _revenue(asset: str = Asset.USD) -> int:
    return _balance(AccountKind.PLATFORM_REVENUE, asset)


def test_the_genesis_funds_the_rewards_reserve_once() -> None:
    first = token_genesis()
    again = token_genesis()
    assert first.pk == again.pk
    assert first.kind == TransactionKind.GENESIS
    assert _balance(AccountKind.REWARDS_RESERVE, Asset.AGR) == agr(350_000_000)
    assert LedgerTransaction.objects.filter(kind=TransactionKind.GENESIS).count() == 1


def test_nothing_is_due_before_the_first_week_ends(genesis: datetime) -> None:
    with time_machine.travel(EPOCH_1_START + WEEK - WEEK / 7, tick=False):
        assert epochs_close_due() == []
    assert not Epoch.objects.exists()


def test_an_epoch_distributes_its_pool_40_30_20_10_in_one_transaction(
    genesis: datetime, sale: Callable[..., None], weights_registry: dict[str, dict[int, int]]
) -> None:
    sale(at=GENESIS_AT + WEEK / 7, gross=100_000)  # $1,000.00: the platform keeps $145.00
    sale(at=GENESIS_AT + 2 * WEEK / 7, gross=agr(800), asset=Asset.AGR)
    pool = _revenue()
    pool_agr = _revenue(Asset.AGR)
    assert pool == 14_500
    providers = [UserFactory(), UserFactory()]
    creator, developer = UserFactory(), UserFactory()
    weights_registry["providers"] = {providers[0].pk: 1, providers[1].pk: 3}
    weights_registry["creators"] = {creator.pk: 10}
    weights_registry["integrations"] = {developer.pk: 7}

    with time_machine.travel(EPOCH_1_START + WEEK + WEEK / 7, tick=False):
        [epoch] = epochs_close_due()

    assert (epoch.number, epoch.starts_at, epoch.ends_at) == (1, EPOCH_1_START, EPOCH_1_START + WEEK)
    tx = epoch.distribution_transaction
    assert tx is not None
    assert tx.kind == TransactionKind.DISTRIBUTION
    assert tx.reference == "epoch:1"
    # USD: 40% = 5,800 split 1:3, 30% = 4,350, 20% = 2,900, 10% = 1,450 to the community pool.
    assert _balance(AccountKind.PROVIDER_PAYABLE, Asset.USD, providers[0]) == 1_450
    assert _balance(AccountKind.PROVIDER_PAYABLE, Asset.USD, providers[1]) == 4_350
    assert _balance(AccountKind.CREATOR_PAYABLE, Asset.USD, creator) == 4_350
    assert _balance(AccountKind.WALLET, Asset.USD, developer) == 2_900
    assert _balance(AccountKind.COMMUNITY_POOL, Asset.USD) == 1_450
    assert _revenue() == 0
    # AGR is distributed the same way in the same transaction.
    agr_split = split_pool(pool=pool_agr, rates_bps={"p": 4000, "c": 3000, "i": 2000, "m": 1000})
    assert _balance(AccountKind.CREATOR_PAYABLE, Asset.AGR, creator) == agr_split.shares["c"]
    assert set(tx.entries.values_list("asset", flat=True)) == {Asset.USD, Asset.AGR}
    # The record matches the ledger: the pool left platform revenue, the parts add up to it.
    for asset in (Asset.USD, Asset.AGR):
        parts = {key: int(value) for key, value in epoch.breakdown[asset].items()}
        taken = -tx.entries.get(account__kind=AccountKind.PLATFORM_REVENUE, asset=asset).amount
        assert parts["pool"] == taken + parts["carried"]
        assert sum(parts[s] for s in ("providers", "creators", "integrations", "community")) == taken
    assert LedgerTransaction.objects.filter(kind=TransactionKind.DISTRIBUTION).count() == 1


def test_rerunning_an_epoch_moves_nothing_twice(
    genesis: datetime, sale: Callable[..., None], weights_registry: dict[str, dict[int, int]]
) -> None:
    sale(at=GENESIS_AT + WEEK / 7, gross=50_000)
    weights_registry["creators"] = {UserFactory().pk: 1}
    weights_registry["providers"] = {UserFactory().pk: 1}
    with time_machine.travel(EPOCH_1_START + 3 * WEEK, tick=False):
        closed = epochs_close_due()
        entries = LedgerEntry.objects.count()
        assert [epoch.number for epoch in closed] == [1, 2, 3]
        assert epochs_close_due() == []
        again = epoch_close(number=1, starts_at=EPOCH_1_START, ends_at=EPOCH_1_START + WEEK)
    assert again.pk == closed[0].pk
    assert LedgerEntry.objects.count() == entries
    assert Epoch.objects.count() == 3


def test_a_share_without_recipients_and_rounding_remainders_carry_to_the_next_epoch(
    genesis: datetime, sale: Callable[..., None], weights_registry: dict[str, dict[int, int]]
) -> None:
    sale(at=GENESIS_AT + WEEK / 7, gross=10_007)  # the platform keeps 1,452 (remainder included)
    pool = _revenue()
    trio = [UserFactory(), UserFactory(), UserFactory()]
    weights_registry["creators"] = {user.pk: 1 for user in trio}  # 30% of the pool in thirds
    with time_machine.travel(EPOCH_1_START + WEEK, tick=False):
        [first] = epochs_close_due()
    creators_share = pool * 3000 // 10_000
    paid = creators_share - creators_share % 3 + pool * 1000 // 10_000  # creators + community pool
    assert int(first.breakdown["USD"]["carried"]) == pool - paid
    assert _revenue() == pool - paid  # providers' and integrations' shares wait in the pool

    weights_registry["providers"] = {trio[0].pk: 1}
    sale(at=EPOCH_1_START + WEEK + WEEK / 7, gross=2_000)
    earned = _revenue() - (pool - paid)
    with time_machine.travel(EPOCH_1_START + 2 * WEEK, tick=False):
        [second] = epochs_close_due()
    assert int(second.breakdown["USD"]["pool"]) == (pool - paid) + earned


def test_revenue_after_an_epoch_ends_waits_for_the_next_one(
    genesis: datetime, sale: Callable[..., None], weights_registry: dict[str, dict[int, int]]
) -> None:
    weights_registry["creators"] = {UserFactory().pk: 1}
    sale(at=GENESIS_AT + WEEK / 7, gross=10_000)
    in_epoch = _revenue()
    sale(at=EPOCH_1_START + WEEK + WEEK / 7, gross=20_000)  # after epoch 1's end, before it closes
    with time_machine.travel(EPOCH_1_START + WEEK + 2 * WEEK / 7, tick=False):
        [epoch] = epochs_close_due()
    assert int(epoch.breakdown["USD"]["pool"]) == in_epoch


def test_emission_pays_providers_the_schedule_and_keeps_the_rest_in_the_reserve(
    genesis: datetime, weights_registry: dict[str, dict[int, int]]
) -> None:
    provider_a, provider_b = UserFactory(), UserFactory()
    with time_machine.travel(EPOCH_1_START + WEEK, tick=False):
        [empty] = epochs_close_due()  # no providers yet: nothing leaves the reserve
    assert empty.emission_transaction is None
    assert empty.distribution_transaction is None
    week = emission_for_period(start_seconds=0, end_seconds=7 * 86_400, schedule=emission_schedule())
    assert int(empty.breakdown["emission"]["scheduled"]) == week
    assert int(empty.breakdown["emission"]["paid"]) == 0

    weights_registry["providers"] = {provider_a.pk: 1, provider_b.pk: 2}
    with time_machine.travel(EPOCH_1_START + 2 * WEEK, tick=False):
        [second] = epochs_close_due()
    due = emission_for_period(start_seconds=7 * 86_400, end_seconds=14 * 86_400, schedule=emission_schedule())
    assert second.emission_transaction is not None
    assert second.emission_transaction.kind == TransactionKind.EMISSION
    assert _balance(AccountKind.PROVIDER_PAYABLE, Asset.AGR, provider_a) == due // 3
    assert _balance(AccountKind.PROVIDER_PAYABLE, Asset.AGR, provider_b) == due * 2 // 3
    emitted = due // 3 + due * 2 // 3
    assert _balance(AccountKind.REWARDS_RESERVE, Asset.AGR) == agr(350_000_000) - emitted


def test_recipients_read_their_share_in_the_wallet_history(
    genesis: datetime, sale: Callable[..., None], weights_registry: dict[str, dict[int, int]]
) -> None:
    creator = UserFactory()
    weights_registry["creators"] = {creator.pk: 1}
    weights_registry["providers"] = {creator.pk: 1}
    sale(at=GENESIS_AT + WEEK / 7, gross=10_000)
    with time_machine.travel(EPOCH_1_START + WEEK, tick=False):
        epochs_close_due()
    rows = history_rows(user=creator, transactions=list(history_transactions(user=creator)))
    titles = {(row.title, row.asset) for row in rows}
    assert ("Revenue share", Asset.USD) in titles
    assert ("Provider rewards", Asset.AGR) in titles
    share = next(row for row in rows if row.title == "Revenue share")
    assert share.subject == "epoch 1, 02 Mar to 09 Mar 2026"
    assert share.url.endswith("/transparency/#distributions")
    assert share.amount == 10_000 * 1450 // 10_000 * 7000 // 10_000


def test_an_epoch_that_has_not_ended_cannot_close(genesis: datetime) -> None:
    with pytest.raises(ValueError, match="has not passed"):
        epoch_close(
            number=1, starts_at=EPOCH_1_START, ends_at=datetime.max.replace(tzinfo=EPOCH_1_START.tzinfo)
        )


def test_weights_for_users_that_do_not_exist_leave_their_part_in_the_pool(
    genesis: datetime, sale: Callable[..., None], weights_registry: dict[str, dict[int, int]]
) -> None:
    weights_registry["creators"] = {987_654_321: 1}
    sale(at=GENESIS_AT + WEEK / 7, gross=10_000)
    pool = _revenue()
    with time_machine.travel(EPOCH_1_START + WEEK, tick=False):
        [epoch] = epochs_close_due()
    assert int(epoch.breakdown["USD"]["creators"]) == 0
    assert _revenue() == pool - pool * 1000 // 10_000  # only the community pool's share left
    assert (
        LedgerEntry.objects.filter(transaction__kind=TransactionKind.DISTRIBUTION).aggregate(
            total=Sum("amount")
        )["total"]
        == 0
    )


def test_governance_participation_takes_the_community_share_else_it_goes_to_the_pool(
    genesis: datetime, sale: Callable[..., None], weights_registry: dict[str, dict[int, int]]
) -> None:
    voters = [UserFactory(), UserFactory()]
    participation = {voters[0].pk: 1, voters[1].pk: 4}
    distribution_weights_register("community", lambda start, end: participation)  # as governance does
    sale(at=GENESIS_AT + WEEK / 7, gross=100_000)  # pool 14,500: community 1,450
    with time_machine.travel(EPOCH_1_START + WEEK, tick=False):
        [first] = epochs_close_due()
    assert _balance(AccountKind.WALLET, Asset.USD, voters[0]) == 290
    assert _balance(AccountKind.WALLET, Asset.USD, voters[1]) == 1_160
    assert _balance(AccountKind.COMMUNITY_POOL, Asset.USD) == 0
    assert first.breakdown["USD"]["community"] == "1450"

    participation.clear()  # nobody took part this week: the share accrues in the community pool
    sale(at=EPOCH_1_START + WEEK + WEEK / 7, gross=100_000)
    with time_machine.travel(EPOCH_1_START + 2 * WEEK, tick=False):
        [second] = epochs_close_due()
    assert int(second.breakdown["USD"]["community"]) == _balance(AccountKind.COMMUNITY_POOL, Asset.USD) > 0
