"""Choosing a node for a call, calling it, and failing over: the gateway's only retry loop.

Candidates are the active nodes serving the version whose last probe (within 3 periods) found them
and the model ready, less those passively ejected. Among them the power of two choices picks the one
with the lower observed latency (an EWMA per node) times its calls in flight, in this process.
A call is retried at most twice, each time on another node, after a connection error, a timeout, a
5xx or an output that does not fit the spec; never after a 4xx (the input was refused). Everything
runs under one end-to-end deadline (`inference.deadline_ms`); an attempt may use at most half of it,
so a hung node leaves time to fail over. A timeout that only the deadline's remainder caused (ours,
not the node's) is not counted against the provider.

Seam for the provider economy: `candidate_filters` / `candidate_preferences` (stake gates, tiers)
are lists of functions the provider-economy work registers.

The priority lane (issue 15 item 3): a priority call goes to the fastest node left (the lowest
measured latency, the EWMA, or the advertised one before any call) instead of the power of two
choices, and gets reserved concurrency: a node admits at most `compute.node_concurrency` calls in
flight from this process, of which normal calls may hold all but the reserved priority share
(`compute.priority_reserved_bps`); priority calls may use every slot. A node with no slot left for
the call's lane is passed over; when every node is full the call is refused as no provider
available (503, nothing charged). Admission is per process, like the in-flight counts it uses.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from compute import node_state
from compute.models_nodes import NodeVersion
from compute.tensors import TensorValidationError, validate_outputs
from compute.triton_client import (
    Tensor,
    TritonError,
    TritonInputRejected,
    TritonTimeout,
    infer,
)
from tokenomics.selectors.parameters import parameter_get, parameters_get

PROBE_PERIOD_SECONDS = 10  # compute.tasks.health runs this often
STALE_AFTER_SECONDS = 3 * PROBE_PERIOD_SECONDS  # a status older than 3 periods is unhealthy
MAX_RETRIES = 2
CANDIDATE_CACHE_SECONDS = 2.0
EWMA_ALPHA = 0.3


class NoProviderAvailable(Exception):
    """No healthy node serves the version: 503, nothing charged."""


class ProviderFailed(Exception):
    """Every attempt failed: 502, nothing charged."""

    def __init__(self, message: str, *, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


@dataclass(frozen=True)
class Candidate:
    node_id: int
    url: str
    model_name: str
    provider_id: int
    advertised_latency_ms: int


@dataclass(frozen=True)
class RoutedResult:
    outputs: list[dict[str, Any]]
    node_id: int
    latency_ms: float
    attempts: int


# Seams for the provider economy (stake gates, tiers, priority): filters drop candidates,
# preferences reorder them; each gets (candidates, version, priority).
candidate_filters: list[Callable[[list[Candidate], Any, bool], list[Candidate]]] = []
candidate_preferences: list[Callable[[list[Candidate], Any, bool], list[Candidate]]] = []

_state_lock = threading.Lock()
_ewma_ms: dict[int, float] = {}
_in_flight: dict[int, int] = {}
_candidates_cache: dict[int, tuple[float, list[Candidate]]] = {}


# (expires at, monotonic; seconds): the registry's deadline, read once per process per
# DEADLINE_CACHE_SECONDS instead of one cache round trip per call.
DEADLINE_CACHE_SECONDS = 10.0
_deadline_cache: list[tuple[float, float]] = []


def deadline_seconds() -> float:
    """`inference.deadline_ms` in seconds; a change applies within DEADLINE_CACHE_SECONDS."""
    now = time.monotonic()
    if _deadline_cache and _deadline_cache[0][0] > now:
        return _deadline_cache[0][1]
    value = parameter_get("inference.deadline_ms") / 1000
    _deadline_cache[:] = [(now + DEADLINE_CACHE_SECONDS, value)]
    return value


_lanes_cache: list[tuple[float, int, int]] = []


def lane_limits() -> tuple[int, int]:
    """(normal, priority): the calls in flight a node admits from this process in each lane
    (registry values, re-read every DEADLINE_CACHE_SECONDS)."""
    now = time.monotonic()
    if _lanes_cache and _lanes_cache[0][0] > now:
        return _lanes_cache[0][1], _lanes_cache[0][2]
    values = parameters_get(["compute.node_concurrency", "compute.priority_reserved_bps"])
    total = values["compute.node_concurrency"]
    reserved = total * values["compute.priority_reserved_bps"] // 10_000
    _lanes_cache[:] = [(now + DEADLINE_CACHE_SECONDS, total - reserved, total)]
    return total - reserved, total


def _admit(node_id: int, limit: int) -> bool:
    """Take one of the node's slots if it has one under `limit` (released by `_attempt`)."""
    with _state_lock:
        held = _in_flight.get(node_id, 0)
        if held >= limit:
            return False
        _in_flight[node_id] = held + 1
        return True


def candidates(version_id: int) -> list[Candidate]:
    """The version's healthy serving nodes (cached for 2 s per process: health changes every 10 s)."""
    now = time.monotonic()
    cached = _candidates_cache.get(version_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    fresh_after = timezone.now() - timedelta(seconds=STALE_AFTER_SECONDS)
    rows = (
        NodeVersion.objects.filter(
            version_id=version_id,
            ready=True,
            node__is_active=True,
            node__healthy=True,
            node__last_probe_at__gte=fresh_after,
        )
        .values_list(
            "node_id", "node__triton_url", "model_name", "node__provider_id", "node__advertised_latency_ms"
        )
        .order_by("node_id")
    )
    found = [Candidate(*row) for row in rows]
    _candidates_cache[version_id] = (now + CANDIDATE_CACHE_SECONDS, found)
    return found


def candidates_forget() -> None:
    """Drop the per-process candidate cache (after a probe or a registration in this process)
    and the cached deadline."""
    _candidates_cache.clear()
    _deadline_cache.clear()
    _lanes_cache.clear()


def _score(candidate: Candidate) -> float:
    latency = _ewma_ms.get(candidate.node_id, float(candidate.advertised_latency_ms))
    return latency * (1 + _in_flight.get(candidate.node_id, 0))


def _latency(candidate: Candidate) -> float:
    return _ewma_ms.get(candidate.node_id, float(candidate.advertised_latency_ms))


def _pick(pool: list[Candidate], *, priority: bool = False) -> Candidate:
    if len(pool) == 1:
        return pool[0]
    if priority:  # the fastest node, whatever its load (its reserved slots are for this)
        with _state_lock:
            return min(pool, key=lambda c: (_latency(c), c.node_id))
    first, second = random.sample(pool, 2)
    with _state_lock:
        return first if _score(first) <= _score(second) else second


def _observe(node_id: int, latency_ms: float) -> None:
    with _state_lock:
        previous = _ewma_ms.get(node_id)
        _ewma_ms[node_id] = (
            latency_ms if previous is None else EWMA_ALPHA * latency_ms + (1 - EWMA_ALPHA) * previous
        )


def _attempt(
    candidate: Candidate, version: Any, inputs: list[Tensor], timeout_s: float
) -> list[dict[str, Any]]:
    """Call the node on a slot `_admit` took; the slot is released when the call ends."""
    try:
        names = [str(t["name"]) for t in version.output_spec]
        outputs = infer(candidate.url, candidate.model_name, inputs, names, timeout_s=timeout_s)
        return validate_outputs(version.output_spec, outputs)
    finally:
        with _state_lock:
            _in_flight[candidate.node_id] -= 1


# Called with a node's id when it is ejected, and with (version, reason) when a call is retried on
# another node (compute's AppConfig registers the Prometheus counters here).
ejection_observers: list[Callable[[int], None]] = []
retry_observers: list[Callable[[Any, str], None]] = []


def _retrying(version: Any, reason: str) -> None:
    for observe in retry_observers:
        observe(version, reason)


def _failed(candidate: Candidate, pool: list[Candidate]) -> None:
    """Count a failure of the node's own making; eject it when its failures call for it."""
    eject = node_state.record(candidate.node_id, ok=False, latency_ms=None)
    if eject and node_state.eject(candidate.node_id, pool=[c.node_id for c in pool]):
        for observe in ejection_observers:
            observe(candidate.node_id)


def route_infer(
    version: Any, inputs: list[Tensor], *, deadline_s: float, priority: bool = False
) -> RoutedResult:
    """Run `inputs` (validated tensors) on a node serving `version`, failing over at most twice.
    Raises NoProviderAvailable (no healthy node) or ProviderFailed (every attempt failed)."""
    started = time.perf_counter()
    pool = candidates(version.pk)
    for keep in candidate_filters:
        pool = keep(pool, version, priority)
    out = node_state.ejected([c.node_id for c in pool])
    available = [c for c in pool if c.node_id not in out]
    if not available:
        raise NoProviderAvailable("No healthy node serves this model right now.")
    # Preferences (higher stake tiers first) pick the nodes tried first; the others are the
    # failover when every preferred node fails or is full, so a preference never costs a call.
    preferred = available
    for prefer in candidate_preferences:
        preferred = prefer(preferred, version, priority)
    preferred_ids = {c.node_id for c in preferred}
    groups = (preferred, [c for c in available if c.node_id not in preferred_ids])
    normal_limit, priority_limit = lane_limits()
    limit = priority_limit if priority else normal_limit
    tried: set[int] = set()
    attempts = 0
    full = False  # a node was passed over because the call's lane had no slot left on it
    last_error = "no attempt"
    while attempts <= MAX_RETRIES:
        remaining = deadline_s - (time.perf_counter() - started)
        choices: list[Candidate] = []
        with _state_lock:
            for group in groups:
                untried = [c for c in group if c.node_id not in tried]
                choices = [c for c in untried if _in_flight.get(c.node_id, 0) < limit]
                full = full or len(choices) < len(untried)
                if choices:
                    break
        if remaining <= 0 or not choices:
            break
        candidate = _pick(choices, priority=priority)
        tried.add(candidate.node_id)
        if not _admit(candidate.node_id, limit):  # taken meanwhile by another thread
            full = True
            continue
        attempts += 1
        cap = deadline_s / 2
        timeout_s = min(remaining, cap)
        attempt_started = time.perf_counter()
        try:
            outputs = _attempt(candidate, version, inputs, timeout_s)
        except TritonInputRejected as exc:
            # The node refused the input itself: not its failure, and another node would refuse it too.
            raise ProviderFailed(f"The model refused the input: {exc}", attempts=attempts) from exc
        except TritonTimeout:
            last_error = f"node {candidate.node_id} timed out"
            if timeout_s >= cap:  # the node had its full share of the deadline: its fault
                _failed(candidate, pool)
            if remaining - timeout_s <= 0:
                break
            _retrying(version, "timeout")
            continue
        except (TritonError, TensorValidationError) as exc:
            last_error = f"node {candidate.node_id}: {exc}"
            _failed(candidate, pool)
            _retrying(
                version, "malformed_output" if isinstance(exc, TensorValidationError) else type(exc).__name__
            )
            continue
        latency_ms = (time.perf_counter() - attempt_started) * 1000
        _observe(candidate.node_id, latency_ms)
        node_state.record(candidate.node_id, ok=True, latency_ms=latency_ms)
        return RoutedResult(
            outputs=outputs,
            node_id=candidate.node_id,
            latency_ms=(time.perf_counter() - started) * 1000,
            attempts=attempts,
        )
    if attempts == 0 and full:
        raise NoProviderAvailable("Every node serving this model is at capacity for this call's lane.")
    raise ProviderFailed(f"No node could serve the call ({last_error}).", attempts=attempts)
