"""Reputation (SPEC §6): a provider's trust score 0-1000 and the reward multipliers it earns.

**The trust score** is computed over the rolling `reputation.window_seconds` (90 days) ending at a
UTC midnight, from five parts, each worth 0-10,000 bps of its own best:

- **latency** against advertised: per node, the median's bucket lower bound (the same p50 SLA
  slashing judges, `compute.selectors.measurements`): 100% at or under the advertised latency,
  0% at the slashing line (`slashing.latency_factor_bps` x advertised, 2x), linear between; the
  provider's part is its nodes' parts weighed by the calls each served;
- **uptime**: health probes passed / probes made;
- **success rate**: calls served / (served + failed by the node's fault; failures the gateway
  caused are never recorded against a node, `compute.services.routing`);
- **attestations**: the minutes of the window in which the health checker found at least one of the
  provider's nodes live and ready, of all the window's minutes: presence attested over time, so a
  new provider earns it day by day and cannot arrive with a perfect score;
- **ratings**: buyers' 1-5 star ratings of served calls, as a mean pulled toward 3 stars by
  `RATING_PRIOR_COUNT` phantom ratings (so one 5-star rating is not a perfect record), mapped
  1 star -> 0%, 5 stars -> 100%.

A part without data in the window (no calls: no latency or success rate; no probes: no uptime)
counts `NEUTRAL_BPS` (50%): unproven is neither good nor bad. The score is the parts' average
weighed by the registry's `reputation.weight.*` (they add up to 100%), times 1000, rounded down.

Deregistered nodes' history still counts: a provider cannot shed a bad record by re-registering.

**Reward multipliers** (`reward_multiplier_bps`) of an epoch `[start, end)`, multiplied together:
- speed: `reputation.fast_multiplier_bps` (1.2x) when the provider's p50 over the epoch (its nodes'
  calls together, bucket lower bound) is under `reputation.fast_p50_ms` (100 ms);
- quality: 1x at trust score 0 up to `reputation.max_quality_multiplier_bps` (1.5x) at 1000,
  linear, from the latest snapshot of a day before the epoch's end (1x without one);
- uptime: `reputation.uptime_bonus_multiplier_bps` (1.1x) when probes passed over the epoch are
  strictly above `reputation.uptime_bonus_threshold_bps` (99.5%).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from accounts.models import User
from compute.models_gateway import Entitlement, InferenceRequest, Outcome
from compute.models_reputation import STARS_MAX, STARS_MIN, CallRating, TrustScore
from compute.selectors.measurements import (
    NodeMeasure,
    attested_minutes,
    node_measurements,
    p50_lower_bound_ms,
    provider_histogram,
)
from tokenomics.selectors.parameters import parameters_get

BPS = 10_000
MAX_SCORE = 1000
NEUTRAL_BPS = 5_000  # a part without data in the window
# Phantom ratings of RATING_PRIOR_STARS added to every provider's: a handful of real ratings moves
# the part, one does not make it.
RATING_PRIOR_COUNT = 5
RATING_PRIOR_STARS = 3

PARTS = ("latency", "uptime", "success", "attestations", "ratings")
WEIGHT_KEYS = {part: f"reputation.weight.{part}_bps" for part in PARTS}
HISTORY_DAYS = 90


# --------------------------------------------------------------------------- pure parts


def ratio_bps(ok: int, total: int) -> int | None:
    """ok / total in bps, rounded down; None without data."""
    if total < 0 or not 0 <= ok <= total:
        raise ValueError(f"a ratio needs 0 <= ok <= total, got {ok}/{total}")
    return None if total == 0 else ok * BPS // total


def latency_part_bps(*, p50_floor_ms: int | None, advertised_ms: int, factor_bps: int) -> int | None:
    """100% at or under the advertised latency, 0% at `factor_bps` x advertised and beyond, linear
    between; None for a node that served nothing."""
    if p50_floor_ms is None:
        return None
    if p50_floor_ms <= advertised_ms:
        return BPS
    line = factor_bps * advertised_ms  # the slashing line, in ms x BPS
    if p50_floor_ms * BPS >= line:
        return 0
    return BPS * (line - p50_floor_ms * BPS) // (line - advertised_ms * BPS)


def ratings_part_bps(*, count: int, stars_total: int) -> int:
    """The ratings' mean with RATING_PRIOR_COUNT phantom ratings of RATING_PRIOR_STARS, mapped
    1 star -> 0 and 5 stars -> 10,000 bps (no rating: the prior alone, 50%)."""
    if count < 0 or not STARS_MIN * count <= stars_total <= STARS_MAX * count:
        raise ValueError(f"{count} ratings cannot add up to {stars_total} stars")
    n = count + RATING_PRIOR_COUNT
    stars = stars_total + RATING_PRIOR_COUNT * RATING_PRIOR_STARS
    return BPS * (stars - STARS_MIN * n) // ((STARS_MAX - STARS_MIN) * n)


def score_from_parts(parts: dict[str, int], weights: dict[str, int]) -> int:
    """The parts' weighed average as a score 0..1000, rounded down."""
    total_weight = sum(weights[part] for part in PARTS)
    if total_weight <= 0:
        raise ValueError("the trust score's weights add up to nothing")
    weighed = sum(weights[part] * parts[part] for part in PARTS)
    return weighed * MAX_SCORE // (BPS * total_weight)


def quality_multiplier_bps(*, score: int | None, max_bps: int) -> int:
    """1x at score 0 (or none) up to `max_bps` at the top score, linear, rounded down."""
    if score is None:
        return BPS
    return BPS + (max_bps - BPS) * min(max(score, 0), MAX_SCORE) // MAX_SCORE


# --------------------------------------------------------------------------- the score


@dataclass(frozen=True)
class TrustBreakdown:
    provider_id: int
    start: datetime
    end: datetime
    score: int
    parts: dict[str, int]  # part -> bps, neutral filled in
    weights: dict[str, int]
    measurements: dict[str, Any]


def _latency_bps(measures: dict[int, NodeMeasure], factor_bps: int) -> int | None:
    weighed = calls = 0
    for measure in measures.values():
        part = latency_part_bps(
            p50_floor_ms=measure.p50_floor_ms,
            advertised_ms=measure.advertised_latency_ms,
            factor_bps=factor_bps,
        )
        if part is None:
            continue
        weighed += part * measure.calls_ok
        calls += measure.calls_ok
    return None if calls == 0 else weighed // calls


def trust_compute(*, provider_id: int, end: datetime) -> TrustBreakdown:
    """The provider's trust score over the window ending at `end`, with its parts and the counts
    they came from (the daily snapshot stores this)."""
    params = parameters_get(
        [*WEIGHT_KEYS.values(), "reputation.window_seconds", "slashing.latency_factor_bps"]
    )
    start = end - timedelta(seconds=params["reputation.window_seconds"])
    measures = node_measurements(provider_id=provider_id, start=start, end=end, active_only=False)
    probes = sum(m.probes for m in measures.values())
    probes_ok = sum(m.probes_ok for m in measures.values())
    calls_ok = sum(m.calls_ok for m in measures.values())
    calls_failed = sum(m.calls_failed for m in measures.values())
    minutes = int((end - start).total_seconds() // 60)
    attested = attested_minutes(provider_id=provider_id, start=start, end=end)
    ratings = list(
        CallRating.objects.filter(provider_id=provider_id, created_at__gte=start, created_at__lt=end)
        .values_list("stars", flat=True)
        .iterator()
    )
    measured: dict[str, int | None] = {
        "latency": _latency_bps(measures, params["slashing.latency_factor_bps"]),
        "uptime": ratio_bps(probes_ok, probes),
        "success": ratio_bps(calls_ok, calls_ok + calls_failed),
        "attestations": ratio_bps(min(attested, minutes), minutes),
        "ratings": ratings_part_bps(count=len(ratings), stars_total=sum(ratings)),
    }
    parts = {part: NEUTRAL_BPS if value is None else value for part, value in measured.items()}
    weights = {part: params[key] for part, key in WEIGHT_KEYS.items()}
    return TrustBreakdown(
        provider_id=provider_id,
        start=start,
        end=end,
        score=score_from_parts(parts, weights),
        parts=parts,
        weights=weights,
        measurements={
            "window": {"start": start.isoformat(), "end": end.isoformat()},
            "probes": probes,
            "probes_ok": probes_ok,
            "calls_ok": calls_ok,
            "calls_failed": calls_failed,
            "attested_minutes": attested,
            "window_minutes": minutes,
            "ratings": len(ratings),
            "stars": sum(ratings),
            "unmeasured": sorted(part for part, value in measured.items() if value is None),
            "latency_factor_bps": params["slashing.latency_factor_bps"],
            "nodes": [
                {
                    "node": m.node,
                    "advertised_latency_ms": m.advertised_latency_ms,
                    "p50_floor_ms": m.p50_floor_ms,
                    "calls_ok": m.calls_ok,
                }
                for m in measures.values()
            ],
        },
    )


# --------------------------------------------------------------------------- reads


def trust_current(*, provider_id: int) -> TrustScore | None:
    """The provider's current trust score: its latest daily snapshot (None before the first)."""
    return TrustScore.objects.filter(provider_id=provider_id).order_by("-day").first()


def trust_before(*, provider_id: int, day: date) -> TrustScore | None:
    """The latest snapshot of a day before `day`."""
    return TrustScore.objects.filter(provider_id=provider_id, day__lt=day).order_by("-day").first()


def trust_history(*, provider_id: int, days: int = HISTORY_DAYS) -> list[TrustScore]:
    """The provider's snapshots of the last `days` snapshot days, oldest first."""
    return list(reversed(TrustScore.objects.filter(provider_id=provider_id).order_by("-day")[:days]))


def trust_parts_view(snapshot: TrustScore) -> dict[str, int]:
    """A snapshot's parts by name, each 0..10,000 bps."""
    return {part: getattr(snapshot, f"{part}_bps") for part in PARTS}


# --------------------------------------------------------------------------- reward multipliers


@dataclass(frozen=True)
class RewardMultiplier:
    total_bps: int
    speed_bps: int
    quality_bps: int
    uptime_bps: int
    p50_floor_ms: int | None
    uptime: dict[str, int]
    score: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def reward_multiplier(*, provider_id: int, start: datetime, end: datetime) -> RewardMultiplier:
    """The provider's reward multiplier for the epoch `[start, end)` (see the module's docstring)."""
    params = parameters_get(
        [
            "reputation.fast_p50_ms",
            "reputation.fast_multiplier_bps",
            "reputation.max_quality_multiplier_bps",
            "reputation.uptime_bonus_threshold_bps",
            "reputation.uptime_bonus_multiplier_bps",
        ]
    )
    measures = node_measurements(provider_id=provider_id, start=start, end=end, active_only=False)
    p50 = p50_lower_bound_ms(provider_histogram(measures))
    speed = (
        params["reputation.fast_multiplier_bps"]
        if p50 is not None and p50 < params["reputation.fast_p50_ms"]
        else BPS
    )
    probes = sum(m.probes for m in measures.values())
    probes_ok = sum(m.probes_ok for m in measures.values())
    uptime = (
        params["reputation.uptime_bonus_multiplier_bps"]
        if probes and probes_ok * BPS > params["reputation.uptime_bonus_threshold_bps"] * probes
        else BPS
    )
    snapshot = trust_before(provider_id=provider_id, day=end.date())
    score = snapshot.score if snapshot is not None else None
    quality = quality_multiplier_bps(score=score, max_bps=params["reputation.max_quality_multiplier_bps"])
    return RewardMultiplier(
        total_bps=speed * quality * uptime // (BPS * BPS),
        speed_bps=speed,
        quality_bps=quality,
        uptime_bps=uptime,
        p50_floor_ms=p50,
        uptime={"probes": probes, "probes_ok": probes_ok},
        score=score,
    )


PART_LABELS = {
    "latency": "Latency against advertised",
    "uptime": "Uptime (health probes passed)",
    "success": "Calls served successfully",
    "attestations": "Time attested healthy by the checker",
    "ratings": "Buyers' ratings of calls",
}


def percent_text(bps: int) -> str:
    """bps as a percentage to one decimal, rounded down: 9,987 -> "99.8%"."""
    return f"{bps // 100}.{bps % 100 // 10}%"


def trust_part_rows(snapshot: TrustScore) -> list[dict[str, Any]]:
    """A snapshot's parts for a page: name, label, value and weight (as percentages), and whether
    it was measured or counted neutral for want of data."""
    weights = snapshot.weights if isinstance(snapshot.weights, dict) else {}
    measurements = snapshot.measurements if isinstance(snapshot.measurements, dict) else {}
    unmeasured = set(measurements.get("unmeasured", []))
    return [
        {
            "name": part,
            "label": PART_LABELS[part],
            "bps": bps,
            "percent": percent_text(bps),
            "weight": percent_text(int(weights.get(part, 0))),
            "measured": part not in unmeasured,
        }
        for part, bps in trust_parts_view(snapshot).items()
    ]


# --------------------------------------------------------------------------- the buyer's side

RECENT_CALLS = 10


@dataclass(frozen=True)
class RecentCall:
    call: InferenceRequest
    stars: int | None  # the buyer's rating, if made
    can_rate: bool  # not rated and still within the rating window


def recent_calls_to_rate(*, user: User, now: datetime, limit: int = RECENT_CALLS) -> list[RecentCall]:
    """The buyer's latest served calls that may be rated (not playground calls, not served by the
    buyer's own node), newest first, each with its rating or whether it may still be rated (the
    usage page's rate control)."""
    window = timedelta(
        seconds=parameters_get(["reputation.rating_window_seconds"])["reputation.rating_window_seconds"]
    )
    calls = list(
        InferenceRequest.objects.filter(user=user, outcome=Outcome.OK, provider__isnull=False)
        .exclude(entitlement=Entitlement.PLAYGROUND)
        .exclude(provider=user)
        .select_related("listing")
        .order_by("-created_at", "-pk")[:limit]
    )
    stars = dict(CallRating.objects.filter(call__in=calls).values_list("call_id", "stars"))
    return [
        RecentCall(
            call=call,
            stars=stars.get(call.pk),
            can_rate=call.pk not in stars and now <= call.created_at + window,
        )
        for call in calls
    ]
