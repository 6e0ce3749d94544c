"""Reward multipliers feed the epoch distribution of provider rewards: two providers with equal
work, one with a p50 under 100 ms and uptime above 99.5%, weigh exactly in the ratio of their
multipliers, and the epoch still emits exactly its amount (the parts and what the floors leave add
up). Each multiplier at its boundary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from compute.models import TrustScore
from compute.selectors.epochs import provider_weights
from compute.selectors.reputation import reward_multiplier
from tests.accounts.factories import UserFactory
from tests.compute.reputation.conftest import minute, node, served_call
from tokenomics.models import Asset, LedgerAccount
from tokenomics.models.ledger import AccountKind
from tokenomics.selectors.ledger import ledger_verify
from tokenomics.services.epochs import epochs_close_due, token_genesis

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, tzinfo=UTC)
END = START + timedelta(days=7)


def _snapshot(provider, *, day, score: int) -> TrustScore:
    return TrustScore.objects.create(
        provider=provider,
        day=day,
        score=score,
        latency_bps=0,
        uptime_bps=0,
        success_bps=0,
        attestations_bps=0,
        ratings_bps=0,
    )


def test_speed_and_uptime_bonuses_at_their_boundaries() -> None:
    fast, slow = UserFactory(), UserFactory()
    # p50 in the (50, 100] ms bucket: under 100 ms; probes 1000/1000 pass: above 99.5%.
    minute(node(fast), START + timedelta(days=1), probes=1000, probes_ok=1000, calls_ok=10, bucket_ms=100)
    # p50 in the (100, 200] ms bucket: not under 100 ms; exactly 99.5% is not above it.
    minute(node(slow), START + timedelta(days=1), probes=1000, probes_ok=995, calls_ok=10, bucket_ms=200)

    quick = reward_multiplier(provider_id=fast.pk, start=START, end=END)
    plain = reward_multiplier(provider_id=slow.pk, start=START, end=END)

    assert (quick.speed_bps, quick.uptime_bps, quick.quality_bps) == (12_000, 11_000, 10_000)
    assert quick.total_bps == 13_200
    assert (plain.speed_bps, plain.uptime_bps, plain.quality_bps) == (10_000, 10_000, 10_000)
    assert plain.total_bps == 10_000
    assert plain.p50_floor_ms == 100


def test_quality_comes_from_the_last_snapshot_before_the_epoch_ends() -> None:
    provider = UserFactory()
    node(provider)
    _snapshot(provider, day=(END - timedelta(days=1)).date(), score=1000)
    _snapshot(provider, day=END.date(), score=0)  # measured after the epoch: not used

    multiplier = reward_multiplier(provider_id=provider.pk, start=START, end=END)

    assert (multiplier.score, multiplier.quality_bps, multiplier.total_bps) == (1000, 15_000, 15_000)
    # No calls and no probes: neither speed nor uptime bonus.
    assert (multiplier.speed_bps, multiplier.uptime_bps) == (10_000, 10_000)


def test_equal_work_is_rewarded_in_the_ratio_of_the_multipliers_and_the_emission_adds_up() -> None:
    with time_machine.travel(START + timedelta(hours=9), tick=False):
        token_genesis()
    fast, slow, buyer = UserFactory(), UserFactory(), UserFactory()
    minute(node(fast), START + timedelta(days=1), probes=1000, probes_ok=1000, calls_ok=4, bucket_ms=100)
    minute(node(slow), START + timedelta(days=1), probes=1000, probes_ok=995, calls_ok=4, bucket_ms=200)
    for provider in (fast, slow):
        for hour in range(4):  # the same work: four calls served each
            served_call(buyer=buyer, provider=provider, at=START + timedelta(days=1, hours=hour))

    weights = provider_weights(START, END)
    assert weights == {fast.pk: 4 * 13_200, slow.pk: 4 * 10_000}

    with time_machine.travel(END + timedelta(hours=1), tick=False):
        [epoch] = epochs_close_due()

    def rewards(user) -> int:
        return int(
            LedgerAccount.objects.get(owner=user, kind=AccountKind.PROVIDER_PAYABLE, asset=Asset.AGR).balance
        )

    scheduled, paid = int(epoch.breakdown["emission"]["scheduled"]), int(epoch.breakdown["emission"]["paid"])
    assert rewards(fast) == scheduled * 13_200 // 23_200
    assert rewards(slow) == scheduled * 10_000 // 23_200
    assert rewards(fast) > rewards(slow) > 0
    # Exactly the multiplier's ratio, up to the floor of each part (less than one base unit).
    assert abs(rewards(fast) * 10_000 - rewards(slow) * 13_200) < 13_200
    # The epoch emits what it pays, and what the floors leave stays in the reserve.
    assert rewards(fast) + rewards(slow) == paid
    assert 0 <= scheduled - paid < 2
    assert ledger_verify().ok
