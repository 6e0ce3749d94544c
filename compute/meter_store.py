"""The gateway's hot-path counters and its request-log stream, on Redis (or in process memory).

Every operation the hot path needs is one atomic step: a Lua script on Redis, so concurrent web
processes share exact counters (a quota of 100 lets exactly 100 calls through, however many race);
a process-wide lock around a dict when there is no REDIS_URL (local runs and the SQLite test
suite, where one process serves every request). No database access here.

Keys (under the cache's KEY_PREFIX, so the test suite's keys stay apart):
- `gw:count:<name>` — a capped counter (subscription quota per period, playground per day);
- `gw:credit:<user>` — the buyer's reserved prepaid credit left, micro-USD;
- `gw:log` — the request-log stream the settlement task drains.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings

_TAKE = """
local limit = tonumber(ARGV[1])
local current = redis.call('GET', KEYS[1])
if not current then
  current = tonumber(ARGV[3])
  redis.call('SET', KEYS[1], current, 'EX', ARGV[2])
else
  current = tonumber(current)
end
if current >= limit then return -1 end
local count = redis.call('INCR', KEYS[1])
return count
"""
_GIVE_BACK = "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end return 0"
_DRAW = """
local left = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
if left < amount then return -1 end
return redis.call('DECRBY', KEYS[1], amount)
"""
# Takes the whole cents of what is left (in micro-USD, so multiples of 10_000) and leaves the rest.
_TAKE_WHOLE = """
local left = tonumber(redis.call('GET', KEYS[1]) or '-1')
if left < 0 then return -1 end
local whole = left - (left % tonumber(ARGV[1]))
if whole > 0 then redis.call('DECRBY', KEYS[1], whole) end
return whole
"""

_lock = threading.Lock()
_memory: dict[str, Any] = {}
_expiry: dict[str, float] = {}
_stream: list[tuple[str, dict[str, str]]] = []
_stream_seq = [0]


def _redis() -> Any:
    """The raw redis client of the default cache, or None without Redis."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        return None
    from core.throttling import redis_client_of

    return redis_client_of(cache)


_batch = threading.local()


@contextmanager
def batched() -> Iterator[None]:
    """Writes made inside that need no answer (a served call's node counters, the request-log
    entry) go to Redis together, in one pipelined round trip, when the block ends (also when it
    raises). Nested blocks join the outer one; without Redis it changes nothing."""
    client = _redis()
    if client is None or getattr(_batch, "pipe", None) is not None:
        yield
        return
    _batch.pipe = client.pipeline(transaction=False)
    try:
        yield
    finally:
        pipe, _batch.pipe = _batch.pipe, None
        if len(pipe):
            pipe.execute()


def batch_pipeline() -> Any:
    """The pipeline of the `batched` block this thread is in, or None."""
    return getattr(_batch, "pipe", None)


def _key(name: str) -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return f"{prefix}:gw:{name}" if prefix else f"gw:{name}"


_scripts: dict[str, Any] = {}


def _script(client: Any, source: str) -> Any:
    found = _scripts.get(source)
    if found is None:
        found = client.register_script(source)
        _scripts[source] = found
    return found


def _memory_get(key: str) -> Any:
    expires = _expiry.get(key)
    if expires is not None and expires <= time.monotonic():
        _memory.pop(key, None)
        _expiry.pop(key, None)
    return _memory.get(key)


# --------------------------------------------------------------------------- capped counters


def counter_take(name: str, *, limit: int, ttl_seconds: int, initial: int = 0) -> int:
    """Count one use of `name` if fewer than `limit` were counted; returns the count after it, or
    -1 when the limit is reached (nothing counted). A missing counter starts at `initial` (e.g. the
    quota already used, as the database knows it) and expires after `ttl_seconds`."""
    client = _redis()
    if client is not None:
        args = [limit, max(ttl_seconds, 1), initial]
        return int(_script(client, _TAKE)(keys=[_key(f"count:{name}")], args=args))
    key = _key(f"count:{name}")
    with _lock:
        current = _memory_get(key)
        if current is None:
            current = initial
            _expiry[key] = time.monotonic() + max(ttl_seconds, 1)
        if current >= limit:
            _memory[key] = current
            return -1
        _memory[key] = current + 1
        return int(current + 1)


def counter_give_back(name: str) -> None:
    """Undo one `counter_take` (the call failed): the use is not counted."""
    client = _redis()
    if client is not None:
        _script(client, _GIVE_BACK)(keys=[_key(f"count:{name}")])
        return
    key = _key(f"count:{name}")
    with _lock:
        if _memory_get(key) is not None:
            _memory[key] -= 1


def counter_get(name: str) -> int | None:
    """The current count, None when it has no counter yet (or it expired)."""
    client = _redis()
    if client is not None:
        value = client.get(_key(f"count:{name}"))
        return None if value is None else int(value)
    with _lock:
        value = _memory_get(_key(f"count:{name}"))
        return None if value is None else int(value)


# --------------------------------------------------------------------------- reserved credit


def credit_draw(user_id: int, amount: int) -> int:
    """Take `amount` micro-USD from the user's reserved credit; returns what is left, or -1 when
    the reservation holds less (nothing taken)."""
    client = _redis()
    if client is not None:
        return int(_script(client, _DRAW)(keys=[_key(f"credit:{user_id}")], args=[amount]))
    key = _key(f"credit:{user_id}")
    with _lock:
        left = int(_memory.get(key, 0))
        if left < amount:
            return -1
        _memory[key] = left - amount
        return left - amount


def credit_add(user_id: int, amount: int) -> int:
    """Add `amount` micro-USD to the user's reserved credit (a new chunk, or a failed call's draw
    given back); returns the new total."""
    client = _redis()
    if client is not None:
        return int(client.incrby(_key(f"credit:{user_id}"), amount))
    key = _key(f"credit:{user_id}")
    with _lock:
        _memory[key] = int(_memory.get(key, 0)) + amount
        return int(_memory[key])


def credit_left(user_id: int) -> int | None:
    """The user's reserved credit left, micro-USD; None when there is no reservation record."""
    client = _redis()
    if client is not None:
        value = client.get(_key(f"credit:{user_id}"))
        return None if value is None else int(value)
    with _lock:
        value = _memory.get(_key(f"credit:{user_id}"))
        return None if value is None else int(value)


def credit_take_whole(user_id: int, unit: int) -> int:
    """Take the largest multiple of `unit` from the user's reserved credit (to return it to the
    wallet in whole cents); returns it (0 when less than a unit is left, -1 with no record)."""
    client = _redis()
    if client is not None:
        return int(_script(client, _TAKE_WHOLE)(keys=[_key(f"credit:{user_id}")], args=[unit]))
    key = _key(f"credit:{user_id}")
    with _lock:
        if key not in _memory:
            return -1
        left = int(_memory[key])
        whole = left - left % unit
        _memory[key] = left - whole
        return whole


def credit_users() -> list[int]:
    """Users with a reservation record (for the release of unused credit)."""
    client = _redis()
    if client is not None:
        pattern = _key("credit:*")
        return sorted(int(key.rsplit(b":", 1)[1]) for key in client.scan_iter(match=pattern, count=500))
    prefix = _key("credit:")
    with _lock:
        return sorted(int(key[len(prefix) :]) for key in _memory if key.startswith(prefix))


# --------------------------------------------------------------------------- the request-log stream


def log_append(fields: dict[str, str]) -> None:
    """Append one request-log entry (string fields) to the stream."""
    pipe = batch_pipeline()
    if pipe is not None:
        pipe.xadd(_key("log"), fields)
        return
    client = _redis()
    if client is not None:
        client.xadd(_key("log"), fields)
        return
    with _lock:
        _stream_seq[0] += 1
        _stream.append((f"{_stream_seq[0]}-0", dict(fields)))


def log_read(count: int) -> list[tuple[str, dict[str, str]]]:
    """The oldest `count` entries, still in the stream (remove them with `log_delete` once they
    are stored): a reader that dies in between reads them again, and storing is idempotent."""
    client = _redis()
    if client is not None:
        entries = client.xrange(_key("log"), count=count)
        return [
            (entry_id.decode(), {k.decode(): v.decode() for k, v in fields.items()})
            for entry_id, fields in entries
        ]
    with _lock:
        return [(entry_id, dict(fields)) for entry_id, fields in _stream[:count]]


def log_delete(entry_ids: Iterable[str]) -> None:
    ids = list(entry_ids)
    if not ids:
        return
    client = _redis()
    if client is not None:
        client.xdel(_key("log"), *ids)
        return
    gone = set(ids)
    with _lock:
        _stream[:] = [entry for entry in _stream if entry[0] not in gone]


def log_length() -> int:
    client = _redis()
    if client is not None:
        return int(client.xlen(_key("log")))
    with _lock:
        return len(_stream)


def reset_for_tests() -> None:
    """Forget every counter, reservation and log entry (tests only)."""
    client = _redis()
    if client is not None:
        for key in client.scan_iter(match=_key("*"), count=1000):
            client.delete(key)
        return
    with _lock:
        _memory.clear()
        _expiry.clear()
        _stream.clear()
