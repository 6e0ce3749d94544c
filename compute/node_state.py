"""Shared, fast state of the nodes: passive ejection and per-minute call counters, on Redis.

Every web process sees the same ejections (a node taken out by one worker's failures is out for all
by their next request); without Redis (local runs, SQLite tests) the state lives in this process.
The health probe drains the minute counters into `NodeMinute` rows and lets ejected nodes back.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

from compute.meter_store import _key, _redis, batch_pipeline
from compute.models_nodes import LATENCY_BUCKETS_MS

CONSECUTIVE_FAILURES = 3  # eject after this many failures in a row
WINDOW_SECONDS = 60  # ... or when at least half of the calls of the last minute failed
WINDOW_SLOT = 10
WINDOW_MIN_CALLS = 6  # (with at least this many calls in it, so one failed call is not 100%)
COOLDOWN_BASE_SECONDS = 10  # the n-th ejection lasts base * 2^(n-1), up to the cap
COOLDOWN_MAX_SECONDS = 600
EJECTION_MEMORY_SECONDS = 86_400  # ejections older than a day no longer lengthen the next

_lock = threading.Lock()
_memory: dict[str, Any] = {}
_minutes: dict[tuple[int, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))


def _bucket(latency_ms: float) -> int:
    for index, bound in enumerate(LATENCY_BUCKETS_MS):
        if latency_ms <= bound:
            return index
    return len(LATENCY_BUCKETS_MS)


def _slots(now: float) -> list[int]:
    current = int(now // WINDOW_SLOT)
    return [current - n for n in range(WINDOW_SECONDS // WINDOW_SLOT)]


def record(node_id: int, *, ok: bool, latency_ms: float | None, now: float | None = None) -> bool:
    """Count one call the node served (`ok`) or failed by its own fault; returns True when the
    failures now call for ejecting it (the caller decides, knowing the pool)."""
    now = time.time() if now is None else now
    minute = int(now // 60) * 60
    slot = int(now // WINDOW_SLOT)
    field = "ok" if ok else "failed"
    client = _redis()
    if client is None:
        with _lock:
            counts = _minutes[(node_id, minute)]
            counts[field] += 1
            if ok and latency_ms is not None:
                counts[f"b{_bucket(latency_ms)}"] += 1
            totals = _memory.setdefault(f"win:{node_id}", defaultdict(lambda: [0, 0]))
            totals[slot][0] += 1
            totals[slot][1] += 0 if ok else 1
            consecutive = 0 if ok else int(_memory.get(f"consec:{node_id}", 0)) + 1
            _memory[f"consec:{node_id}"] = consecutive
            window = [totals.get(s, [0, 0]) for s in _slots(now)]
        calls, fails = sum(w[0] for w in window), sum(w[1] for w in window)
    else:
        # A served call's counters need no answer: they join the caller's batch when there is one
        # (meter_store.batched: sent with the request-log entry, one round trip).
        batch = batch_pipeline() if ok else None
        pipe = batch if batch is not None else client.pipeline(transaction=False)
        stats = _key(f"node:{node_id}:min:{minute}")
        pipe.hincrby(stats, field, 1)
        if ok and latency_ms is not None:
            pipe.hincrby(stats, f"b{_bucket(latency_ms)}", 1)
        pipe.expire(stats, 7200)
        calls_key, fails_key = _key(f"node:{node_id}:calls:{slot}"), _key(f"node:{node_id}:fails:{slot}")
        pipe.incr(calls_key)
        pipe.expire(calls_key, WINDOW_SECONDS * 2)
        consec_key = _key(f"node:{node_id}:consec")
        if ok:
            pipe.set(consec_key, 0)
            if batch is None:
                pipe.execute()
            return False
        pipe.incr(fails_key)
        pipe.expire(fails_key, WINDOW_SECONDS * 2)
        pipe.incr(consec_key)
        slots = _slots(now)
        pipe.mget([_key(f"node:{node_id}:calls:{s}") for s in slots])
        pipe.mget([_key(f"node:{node_id}:fails:{s}") for s in slots])
        results = pipe.execute()
        consecutive = int(results[-3])
        calls = sum(int(v or 0) for v in results[-2])
        fails = sum(int(v or 0) for v in results[-1])
    if ok:
        return False
    return consecutive >= CONSECUTIVE_FAILURES or (calls >= WINDOW_MIN_CALLS and fails * 2 >= calls)


def ejected(node_ids: list[int], *, now: float | None = None) -> set[int]:
    """The nodes of `node_ids` now out of rotation (one Redis round trip)."""
    if not node_ids:
        return set()
    client = _redis()
    if client is None:
        with _lock:
            return {n for n in node_ids if f"ejected:{n}" in _memory}
    values = client.mget([_key(f"node:{n}:ejected") for n in node_ids])
    return {n for n, value in zip(node_ids, values, strict=True) if value is not None}


def eject(node_id: int, *, pool: list[int], now: float | None = None) -> bool:
    """Take the node out of rotation unless that would leave less than half of `pool` (the nodes
    serving the model) in it; the cool-down doubles with each ejection in the last day. Returns
    whether it was ejected."""
    now = time.time() if now is None else now
    out = ejected([n for n in pool if n != node_id], now=now)
    if (len(out) + 1) * 2 > len(pool):
        return False
    client = _redis()
    if client is None:
        with _lock:
            count = int(_memory.get(f"ejections:{node_id}", 0)) + 1
            _memory[f"ejections:{node_id}"] = count
            _memory[f"ejected:{node_id}"] = now + _cooldown(count)
            _memory[f"consec:{node_id}"] = 0
        return True
    count = int(client.incr(_key(f"node:{node_id}:ejections")))
    client.expire(_key(f"node:{node_id}:ejections"), EJECTION_MEMORY_SECONDS)
    client.set(_key(f"node:{node_id}:ejected"), str(now + _cooldown(count)))
    client.set(_key(f"node:{node_id}:consec"), 0)
    return True


def _cooldown(count: int) -> float:
    return float(min(COOLDOWN_MAX_SECONDS, COOLDOWN_BASE_SECONDS * 2 ** (count - 1)))


def ejected_until(node_id: int) -> float | None:
    client = _redis()
    if client is None:
        with _lock:
            value = _memory.get(f"ejected:{node_id}")
    else:
        value = client.get(_key(f"node:{node_id}:ejected"))
    return None if value is None else float(value)


def readmit_if_due(node_id: int, *, probe_ok: bool, now: float | None = None) -> bool:
    """Let an ejected node back once its cool-down has passed AND a probe passed; returns whether it
    was let back."""
    now = time.time() if now is None else now
    until = ejected_until(node_id)
    if until is None or until > now or not probe_ok:
        return False
    client = _redis()
    if client is None:
        with _lock:
            _memory.pop(f"ejected:{node_id}", None)
    else:
        client.delete(_key(f"node:{node_id}:ejected"))
    return True


def minutes_drain(node_id: int, *, before: float | None = None) -> dict[int, dict[str, int]]:
    """Take the node's finished minutes' counters (minute epoch -> {"ok", "failed", "b<i>"}) out of
    the shared store, for the probe to add to NodeMinute rows."""
    before = time.time() if before is None else before
    current = int(before // 60) * 60
    client = _redis()
    drained: dict[int, dict[str, int]] = {}
    if client is None:
        with _lock:
            for node, minute in [key for key in _minutes if key[0] == node_id and key[1] < current]:
                drained[minute] = dict(_minutes.pop((node, minute)))
        return drained
    pattern = _key(f"node:{node_id}:min:*")
    for key in client.scan_iter(match=pattern, count=500):
        name = key.decode() if isinstance(key, bytes) else str(key)
        minute = int(name.rsplit(":", 1)[1])
        if minute >= current:
            continue
        pipe = client.pipeline(transaction=True)
        pipe.hgetall(name)
        pipe.delete(name)
        values, _ = pipe.execute()
        drained[minute] = {
            (k.decode() if isinstance(k, bytes) else str(k)): int(v) for k, v in (values or {}).items()
        }
    return drained


def reset_for_tests() -> None:
    """Forget the in-process state (tests without Redis)."""
    with _lock:
        _memory.clear()
        _minutes.clear()
