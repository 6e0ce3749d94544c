"""The trust score: each part's rule at its boundaries (table tests), the score from recorded
measurements over the 90-day window under a controlled clock, and the daily snapshot task."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache

from compute.models import NodeMinute, TrustScore
from compute.selectors.reputation import (
    NEUTRAL_BPS,
    latency_part_bps,
    quality_multiplier_bps,
    ratings_part_bps,
    ratio_bps,
    score_from_parts,
    trust_compute,
    trust_current,
    trust_history,
)
from compute.services.reputation import provider_trust_snapshot
from compute.tasks.reputation import snapshot_trust_scores
from tests.accounts.factories import UserFactory
from tests.compute.reputation.conftest import END, minute, node, rating
from tokenomics.models import Parameter
from tokenomics.parameter_catalog import CATALOG_BY_KEY, relation_violations
from tokenomics.selectors.parameters import parameter_cache_key

pytestmark = pytest.mark.django_db

WEIGHTS = {"latency": 2000, "uptime": 2000, "success": 2500, "attestations": 1500, "ratings": 2000}


# ----------------------------------------------------------------------------- pure parts


@pytest.mark.parametrize(
    ("p50", "advertised", "expected"),
    [
        (None, 100, None),  # no calls: nothing to judge
        (0, 100, 10_000),
        (100, 100, 10_000),  # exactly advertised: full marks
        (101, 100, 9_900),  # a hair over loses a hair
        (150, 100, 5_000),  # halfway to the slashing line
        (199, 100, 100),
        (200, 100, 0),  # exactly the slashing line (2x): nothing
        (10_000, 100, 0),
    ],
)
def test_latency_part_falls_linearly_from_advertised_to_the_slashing_line(p50, advertised, expected) -> None:
    assert latency_part_bps(p50_floor_ms=p50, advertised_ms=advertised, factor_bps=20_000) == expected


def test_latency_part_with_the_line_at_advertised_is_all_or_nothing() -> None:
    assert latency_part_bps(p50_floor_ms=100, advertised_ms=100, factor_bps=10_000) == 10_000
    assert latency_part_bps(p50_floor_ms=101, advertised_ms=100, factor_bps=10_000) == 0


@pytest.mark.parametrize(
    ("ok", "total", "expected"),
    [(0, 0, None), (0, 5, 0), (1, 3, 3_333), (995, 1000, 9_950), (3, 3, 10_000)],
)
def test_ratios_round_down_and_no_data_is_none(ok, total, expected) -> None:
    assert ratio_bps(ok, total) == expected


def test_a_ratio_refuses_impossible_counts() -> None:
    with pytest.raises(ValueError, match="0 <= ok <= total"):
        ratio_bps(4, 3)


@pytest.mark.parametrize(
    ("count", "stars", "expected"),
    [
        (0, 0, 5_000),  # no rating: the prior, 3 stars
        (1, 5, 5_833),  # one 5-star rating does not make a perfect record
        (5, 5, 2_500),  # five 1-star ratings: halfway from neutral to the bottom
        (5, 25, 7_500),
        (100, 500, 9_761),  # many 5-star ratings approach the top
        (100, 100, 238),
    ],
)
def test_ratings_are_pulled_toward_three_stars_when_few(count, stars, expected) -> None:
    assert ratings_part_bps(count=count, stars_total=stars) == expected


def test_ratings_refuse_impossible_totals() -> None:
    with pytest.raises(ValueError, match="cannot add up"):
        ratings_part_bps(count=1, stars_total=6)
    with pytest.raises(ValueError, match="cannot add up"):
        ratings_part_bps(count=2, stars_total=1)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (dict.fromkeys(WEIGHTS, 10_000), 1000),
        (dict.fromkeys(WEIGHTS, 0), 0),
        (dict.fromkeys(WEIGHTS, 9_999), 999),  # rounded down: 1000 only for a perfect record
        (dict.fromkeys(WEIGHTS, NEUTRAL_BPS), 500),
        ({**dict.fromkeys(WEIGHTS, 0), "latency": 10_000}, 200),  # one part's weight
        ({**dict.fromkeys(WEIGHTS, 0), "success": 10_000}, 250),
    ],
)
def test_the_score_is_the_weighed_average_of_the_parts(parts, expected) -> None:
    assert score_from_parts(parts, WEIGHTS) == expected


def test_the_registry_weights_add_up_to_all_of_the_score() -> None:
    defaults = {key: spec.default for key, spec in CATALOG_BY_KEY.items()}
    assert {part: defaults[f"reputation.weight.{part}_bps"] for part in WEIGHTS} == WEIGHTS
    assert relation_violations(defaults) == []
    assert relation_violations({**defaults, "reputation.weight.ratings_bps": 2001}) == [
        "The trust score's weights must add up to exactly 100%"
    ]


@pytest.mark.parametrize(
    ("score", "expected"), [(None, 10_000), (0, 10_000), (500, 12_500), (999, 14_995), (1000, 15_000)]
)
def test_quality_multiplier_reaches_its_maximum_at_the_top_score(score, expected) -> None:
    assert quality_multiplier_bps(score=score, max_bps=15_000) == expected


# ----------------------------------------------------------------------------- from measurements


def test_the_score_is_computed_from_the_window_measurements() -> None:
    provider = UserFactory()
    gpu = node(provider, advertised_ms=100)
    retired = node(provider, name="old", active=False)  # deregistered: its history still counts
    # Inside the window: probes all passed, 90 calls served (p50 in (20, 50] ms) and 5 failed on
    # each node; a minute just outside the window (90 days + 1 minute back) counts for nothing.
    minute(gpu, END - timedelta(days=1), calls_ok=90, calls_failed=5)
    minute(retired, END - timedelta(days=2), calls_failed=5)
    minute(gpu, END - timedelta(days=90, minutes=1), probes_ok=0, calls_failed=100)
    minute(gpu, END, probes_ok=0, calls_failed=100)  # the next day's
    rating(provider, 5, at=END - timedelta(hours=3))
    rating(provider, 1, at=END + timedelta(hours=1))  # after the window

    breakdown = trust_compute(provider_id=provider.pk, end=END)

    assert breakdown.parts == {
        "latency": 10_000,
        "uptime": 10_000,
        "success": 9_000,  # 90 of 100
        "attestations": 0,  # 2 minutes attested of 129,600: 0.015%, under one bps
        "ratings": 5_833,
    }
    # (2000 x 10,000 + 2000 x 10,000 + 2500 x 9,000 + 1500 x 0 + 2000 x 5,833) x 1000 / 10^8
    assert breakdown.score == 741
    assert breakdown.measurements["attested_minutes"] == 2
    assert breakdown.measurements["window_minutes"] == 90 * 1440
    assert breakdown.measurements["unmeasured"] == []


def test_a_provider_without_data_counts_neutral_parts_and_no_attestation() -> None:
    provider = UserFactory()
    node(provider)

    breakdown = trust_compute(provider_id=provider.pk, end=END)

    assert breakdown.parts == {
        "latency": NEUTRAL_BPS,
        "uptime": NEUTRAL_BPS,
        "success": NEUTRAL_BPS,
        "attestations": 0,
        "ratings": NEUTRAL_BPS,
    }
    assert breakdown.score == 425  # 8,500 of 10,000 weight at half marks
    assert breakdown.measurements["unmeasured"] == ["latency", "success", "uptime"]


def test_latency_weighs_each_node_by_the_calls_it_served() -> None:
    provider = UserFactory()
    fast, slow = node(provider, name="fast"), node(provider, name="slow")
    minute(fast, END - timedelta(days=1), calls_ok=30, bucket_ms=100)  # floor 50 ms: 100%
    minute(slow, END - timedelta(days=1), calls_ok=10, bucket_ms=500)  # floor 200 ms = 2x: 0%

    assert trust_compute(provider_id=provider.pk, end=END).parts["latency"] == 7_500


def test_the_daily_task_snapshots_each_provider_once_and_the_latest_is_current() -> None:
    first, second, idle = UserFactory(), UserFactory(), UserFactory()
    minute(node(first), END - timedelta(hours=2), calls_ok=10)
    node(second)
    node(idle, active=False)  # no active node: not scored
    earlier = provider_trust_snapshot(provider_id=first.pk, end=END - timedelta(days=1))

    with time_machine.travel(END + timedelta(hours=1), tick=False):
        assert snapshot_trust_scores() == {"providers": 2, "scored": 2}
        assert snapshot_trust_scores() == {"providers": 2, "scored": 0}  # the same day again

    assert TrustScore.objects.filter(provider=idle).count() == 0
    current = trust_current(provider_id=first.pk)
    assert current is not None
    assert current.day == (END - timedelta(days=1)).date()
    assert current.score == trust_compute(provider_id=first.pk, end=END).score
    assert current.uptime_bps == 10_000
    assert current.weights == WEIGHTS
    assert [s.day for s in trust_history(provider_id=first.pk)] == [earlier.day, current.day]
    # A snapshot is written once: asking again returns the stored one.
    assert provider_trust_snapshot(provider_id=first.pk, end=END).pk == current.pk


def test_attestations_count_the_window_minutes_a_node_was_attested_healthy() -> None:
    """Over a one-day window (the registry's lower bound), every minute attested is 100%; one
    minute without a passing probe (or with no probe at all) takes 1/1440 off."""
    Parameter.objects.filter(key="reputation.window_seconds").update(value=86_400)
    cache.delete(parameter_cache_key("reputation.window_seconds"))
    always, once_down = UserFactory(), UserFactory()
    start = END - timedelta(days=1)
    for provider, down in ((always, None), (once_down, 600)):
        gpu, spare = node(provider), node(provider, name="spare")
        NodeMinute.objects.bulk_create(
            NodeMinute(
                node=gpu, minute=start + timedelta(minutes=m), probes=6, probes_ok=0 if m == down else 6
            )
            for m in range(1440)
        )
        # The spare node passing in the same minutes adds no minute: a minute is attested once.
        minute(spare, start + timedelta(minutes=5))

    assert trust_compute(provider_id=always.pk, end=END).parts["attestations"] == 10_000
    assert trust_compute(provider_id=once_down.pk, end=END).parts["attestations"] == 1439 * 10_000 // 1440
