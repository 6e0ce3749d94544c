"""Prometheus metrics of the inference gateway (issue 17, item 9), exported on `/metrics`.

The gateway and the router call the small functions below; nothing else touches prometheus-client.

Several gunicorn workers: a counter kept in one worker's memory would show each scrape a different
worker's share. With `PROMETHEUS_MULTIPROC_DIR` set in the environment of every worker (an empty
directory created before gunicorn starts, and emptied on each deploy), prometheus-client writes each
process's values to memory-mapped files there and `/metrics` sums them across live and dead workers
(its `MultiProcessCollector`); gunicorn's `child_exit` hook should call `worker_exited(pid)` so a
dead worker's gauges leave the sums. Without the variable (tests, `runserver`, one process) the
metrics live in the process's default registry.

Label values are bounded: listings by slug (one series per listed model), nodes by id, outcomes by
the gateway's own codes; never a user or a request id.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Latency of the provider call, seconds: a demo model answers in ~1 ms, a large one in seconds.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

CALLS = Counter(
    "agora_inference_calls",
    "Calls through the inference gateway, by listing, serving node and outcome (ok or an error code).",
    ["listing", "node", "outcome"],
)
LATENCY = Histogram(
    "agora_inference_latency_seconds",
    "Latency of served calls (the provider call as the router measures it), by listing.",
    ["listing"],
    buckets=LATENCY_BUCKETS,
)
RETRIES = Counter(
    "agora_inference_retries",
    "Retries on another node, by listing and the reason the previous attempt failed.",
    ["listing", "reason"],
)
EJECTIONS = Counter(
    "agora_node_ejections",
    "Nodes taken out of rotation by passive ejection, by node.",
    ["node"],
)
SETTLEMENT_LAG = Gauge(
    "agora_settlement_lag_seconds",
    "Age of the oldest consumed call not yet settled, as the last settlement run saw it.",
    multiprocess_mode="mostrecent",
)
SETTLED_CALLS = Counter(
    "agora_settled_calls",
    "Calls billed by the settlement task.",
)

NO_NODE = "none"
UNKNOWN_LISTING = "unknown"


def call_observed(*, listing: str, node_id: int | None, outcome: str, latency_s: float | None = None) -> None:
    """One call answered by the gateway: `outcome` is "ok" or the error code it answered
    (e.g. provider_failed, validation_error). The latency is recorded for served calls only."""
    CALLS.labels(listing=listing, node=NO_NODE if node_id is None else str(node_id), outcome=outcome).inc()
    if outcome == "ok" and latency_s is not None:
        LATENCY.labels(listing=listing).observe(max(latency_s, 0.0))


def retry_observed(*, listing: str, reason: str) -> None:
    """The router tries another node after `reason` (connection, timeout, 5xx, malformed_output)."""
    RETRIES.labels(listing=listing, reason=reason).inc()


def ejection_observed(*, node_id: int) -> None:
    """Passive ejection took `node_id` out of rotation."""
    EJECTIONS.labels(node=str(node_id)).inc()


def settlement_observed(*, calls: int, lag_s: float) -> None:
    """A settlement run billed `calls`; `lag_s` is how old the oldest call still waiting is (0: none)."""
    if calls:
        SETTLED_CALLS.inc(calls)
    SETTLEMENT_LAG.set(max(lag_s, 0.0))


def multiprocess_enabled() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def worker_exited(pid: int) -> None:
    """gunicorn's `child_exit` hook: drop a dead worker's live gauges from the sums."""
    if multiprocess_enabled():
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def exposition(names: Iterable[str] | None = None) -> tuple[bytes, str]:
    """The text exposition of every metric (summed over workers in multiprocess mode) and its
    content type. `names` restricts it to those metric names (tests)."""
    if multiprocess_enabled():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    if names is not None:
        return generate_latest(registry.restricted_registry(list(names))), CONTENT_TYPE_LATEST
    return generate_latest(registry), CONTENT_TYPE_LATEST
