"""Staking through the ledger (issue 18 items 1 and 2): stake, unstake through the cool-down,
release, slash capped by the tier and burned, staff reversal; tiers exactly at their thresholds;
stake at a past instant and its long-held part. Every test ends with `ledger_verify()` ok (the
suite's autouse check) and checks the money itself."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.accounts.factories import UserFactory
from tests.tokenomics.factories import funded_wallet
from tokenomics.errors import AmountInvalid, InsufficientFunds, InvalidState, PermissionDenied
from tokenomics.models import Slash, Unbonding, UnbondingState
from tokenomics.models.ledger import AccountKind, Asset
from tokenomics.money import agr
from tokenomics.selectors.ledger import ledger_verify, system_balance
from tokenomics.selectors.parameters import parameter_get
from tokenomics.selectors.staking import (
    bonded,
    position,
    provider_tier,
    stake_at,
    staked_totals_by_tier,
)
from tokenomics.services.ledger_accounts import user_account_get_or_create
from tokenomics.services.staking import (
    stake_deposit,
    stake_slash,
    stake_slash_reverse,
    unstake_start,
    unstakes_release_due,
)

pytestmark = pytest.mark.django_db


def _wallet(user) -> int:
    return int(user_account_get_or_create(user=user, kind=AccountKind.WALLET, asset=Asset.AGR).balance)


def _holder(amount: int):
    user = UserFactory()
    funded_wallet(user=user, amount=amount, asset="AGR")
    return user


def test_stake_moves_wallet_agr_and_sets_the_tier_exactly_at_each_threshold() -> None:
    user = _holder(agr(2_000_000))
    for tier in ("bronze", "silver", "gold", "platinum"):
        minimum = parameter_get(f"staking.{tier}_min")
        stake_deposit(user=user, amount=minimum - bonded(user) - 1, idempotency_key=f"{tier}-short")
        assert provider_tier(user) != tier  # one base unit short
        stake_deposit(user=user, amount=1, idempotency_key=f"{tier}-exact")
        assert provider_tier(user) == tier  # exactly at the threshold
    assert bonded(user) + _wallet(user) == agr(2_000_000)
    assert staked_totals_by_tier()["platinum"] == bonded(user)


def test_staking_more_than_the_wallet_or_nothing_is_refused() -> None:
    user = _holder(agr(10))
    with pytest.raises(InsufficientFunds):
        stake_deposit(user=user, amount=agr(11), idempotency_key="too-much")
    with pytest.raises(AmountInvalid):
        stake_deposit(user=user, amount=0, idempotency_key="zero")
    assert (bonded(user), _wallet(user)) == (0, agr(10))


def test_unstake_leaves_the_tier_at_once_and_returns_to_the_wallet_after_the_cooldown() -> None:
    user = _holder(agr(60_000))
    stake_deposit(user=user, amount=agr(60_000), idempotency_key="s")
    assert provider_tier(user) == "silver"
    row = unstake_start(user=user, amount=agr(20_000), idempotency_key="u")
    assert provider_tier(user) == "bronze"  # unbonding counts for no tier
    cooldown = parameter_get("staking.unstake_cooldown_seconds")
    assert row.release_at == pytest.approx(
        row.created_at + timedelta(seconds=cooldown), abs=timedelta(seconds=5)
    )
    assert unstakes_release_due() == 0  # not yet
    with time_machine.travel(row.release_at + timedelta(seconds=1), tick=False):
        assert unstakes_release_due() == 1
        assert unstakes_release_due() == 0  # a rerun releases nothing twice
    row.refresh_from_db()
    assert row.state == UnbondingState.RELEASED
    assert (bonded(user), _wallet(user)) == (agr(40_000), agr(20_000))
    with pytest.raises(InsufficientFunds):
        unstake_start(user=user, amount=agr(40_001), idempotency_key="over")


def test_slash_is_capped_by_the_tier_burned_and_reversible_by_staff() -> None:
    user = _holder(agr(100_000))
    stake_deposit(user=user, amount=agr(100_000), idempotency_key="s")  # silver: max slash 10%
    unstake_start(user=user, amount=agr(40_000), idempotency_key="u")  # bonded 60k, unbonding 40k: bronze
    burned_before = system_balance(kind=AccountKind.BURN, asset=Asset.AGR)
    slash = stake_slash(
        user=user, fraction_bps=5_000, reason="latency", evidence={"p50_ms": 900}, idempotency_key="sla-1"
    )
    cap = parameter_get("staking.silver_max_slash_bps")  # the tier of the bonded stake (60k: silver)
    assert slash.applied_bps == cap
    assert slash.total == agr(100_000) * cap // 10_000
    assert slash.bonded_amount == slash.total  # bonded stake is taken first
    assert slash.evidence == {"p50_ms": 900}
    assert system_balance(kind=AccountKind.BURN, asset=Asset.AGR) == burned_before + slash.total
    assert (
        stake_slash(user=user, fraction_bps=5_000, reason="x", evidence={}, idempotency_key="sla-1") == slash
    )
    with pytest.raises(PermissionDenied):
        stake_slash_reverse(slash_id=slash.pk, staff_user=UserFactory())
    stake_slash_reverse(slash_id=slash.pk, staff_user=UserFactory(is_staff=True))
    assert bonded(user) == agr(60_000)
    assert system_balance(kind=AccountKind.BURN, asset=Asset.AGR) == burned_before
    with pytest.raises(InvalidState):
        stake_slash_reverse(slash_id=slash.pk, staff_user=UserFactory(is_staff=True))


def test_a_slash_larger_than_the_bonded_stake_takes_from_unbonding_rows() -> None:
    user = _holder(agr(20_000))
    stake_deposit(user=user, amount=agr(20_000), idempotency_key="s")
    unstake_start(user=user, amount=agr(19_990), idempotency_key="u")  # bonded 10 AGR: below bronze
    slash = stake_slash(user=user, fraction_bps=10_000, reason="malicious", evidence={}, idempotency_key="x")
    cap = parameter_get("staking.bronze_max_slash_bps")  # below bronze: bronze's cap
    assert slash.total == agr(20_000) * cap // 10_000
    assert (slash.bonded_amount, slash.unbonding_amount) == (agr(10), slash.total - agr(10))
    row = Unbonding.objects.get(user=user)
    assert row.amount == agr(19_990) - slash.unbonding_amount
    with time_machine.travel(row.release_at + timedelta(seconds=1), tick=False):
        unstakes_release_due()
    assert _wallet(user) == row.amount  # only what the slash left is released
    assert Slash.objects.count() == 1


def test_stake_at_a_past_instant_and_its_long_held_part() -> None:
    user = _holder(agr(30_000))
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        stake_deposit(user=user, amount=agr(10_000), idempotency_key="old")
    with time_machine.travel(start + timedelta(days=300), tick=False):
        stake_deposit(user=user, amount=agr(20_000), idempotency_key="new")
    with time_machine.travel(start + timedelta(days=380), tick=False):
        unstake_start(user=user, amount=agr(5_000), idempotency_key="out")  # takes the newest first
    snapshot = start + timedelta(days=390)
    at = stake_at(user.pk, snapshot)
    assert at.staked == agr(25_000)
    assert at.staked_over_year == agr(10_000)  # the first lot kept its age
    assert at.since == start
    assert stake_at(user.pk, start).staked == 0  # staked AT the instant adds nothing
    assert stake_at(user.pk, start + timedelta(seconds=1)).staked == agr(10_000)
    assert position(user, now=snapshot).unbonding == agr(5_000)
    assert ledger_verify().ok
