"""Rate limits for the API: an atomic counter in the shared cache, and the DRF classes that use it.

One limiter, `rate_limit_hit`, counts hits of a key in a window that starts at the key's first hit.
On Redis the count and the expiry are one Lua script, so concurrent requests from every web
process see one counter and none of them can slip past the limit between a read and a write (the
race in DRF's own SimpleRateThrottle, which reads a history, decides, then writes it back). On the
in-memory cache of local runs, `add` + `incr` are atomic within the one process that cache serves.

Used three ways (limits in settings.API_RATE_LIMITS):
- `ApiUserRateThrottle`: per API key, or per user for a session; after authentication.
- `ApiIpRateThrottle`: per client address (see `client_ip`), every request.
- `CredentialAttemptLimit`: wraps the API-key authentication so that each presented key costs an
  attempt from the client address *before* it is checked, refunded when it turns out valid.
  Throttle classes run only after authentication succeeded, so without this a stream of guessed
  keys (each a 401) would never be limited.
"""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest
from django.utils.module_loading import import_string
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}

# Several counters in one round trip: KEYS the counters, ARGV their windows in the same order.
# Returns {count1, ttl1, count2, ttl2, ...}; each counter behaves exactly as _HIT_SCRIPT.
_HIT_MANY_SCRIPT = """
local out = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIRE', key, ARGV[i]) end
  local ttl = redis.call('TTL', key)
  if ttl < 0 then redis.call('EXPIRE', key, ARGV[i]); ttl = tonumber(ARGV[i]) end
  out[#out + 1] = count
  out[#out + 1] = ttl
end
return out
"""
_REFUND_SCRIPT = "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end return 0"


@dataclass(frozen=True)
class Rate:
    limit: int  # hits allowed per window
    window: int  # seconds


def rate_parse(text: str) -> Rate:
    """ "10/minute" -> Rate(10, 60). Raises ValueError on anything else."""
    count, _, period = text.partition("/")
    if period not in _PERIODS or not count.isdigit() or int(count) < 1:
        raise ValueError(f"A rate is '<count>/<second|minute|hour|day>', not {text!r}.")
    return Rate(limit=int(count), window=_PERIODS[period])


@dataclass(frozen=True)
class Hit:
    allowed: bool
    count: int  # hits in the current window, this one included
    retry_after: int  # seconds until the window ends
    key: str  # the cache key before the cache's prefix (for a refund)


def redis_client_of(cache: RedisCache) -> Any:
    """The raw redis client of `cache` for writes (the cache's first server), built once per
    connection pool and kept on it. Django's RedisCacheClient.get_client builds a new redis.Redis
    (and its table of ~170 response callbacks) on every call; reusing one keeps that off the hot
    path. The client lives and dies with its pool (one per process and cache instance)."""
    backend: Any = cache._cache  # Django's RedisCacheClient: its pool and client class are private
    pool = backend._get_connection_pool(write=True)
    client = getattr(pool, "_agora_client", None)
    if client is None:
        client = backend._client(connection_pool=pool)
        pool._agora_client = client
    return client


def cache_get(key: str) -> Any:
    """`caches["default"].get(key)` (None when missing) on the reused client of `redis_client_of`:
    the same value, without Django building a new redis.Redis for the read (the API-key lookup of
    every call)."""
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        return cache.get(key)
    raw = redis_client_of(cache).get(cache.make_and_validate_key(key))
    backend: Any = cache._cache  # Django's RedisCacheClient: its serializer is private
    return None if raw is None else backend._serializer.loads(raw)


def _redis_client(cache: RedisCache, cache_key: str) -> Any:
    return redis_client_of(cache)


def rate_limit_hit(*, key: str, rate: Rate) -> Hit:
    """Count one hit of `key` and say whether it is within `rate`. Atomic on Redis; a hit over the
    limit still counts (an attacker who keeps trying keeps the window full)."""
    return rate_limits_hit([(key, rate)])[0]


def rate_limits_hit(limits: list[tuple[str, Rate]]) -> list[Hit]:
    """`rate_limit_hit` of several keys at once, in one Redis round trip (one Lua script); the hits
    in the order given. Every key counts its hit, whether or not another is over its limit."""
    cache = caches["default"]  # the backend itself: `django.core.cache.cache` is a proxy
    if not limits:
        return []
    if not isinstance(cache, RedisCache):
        return [_memory_hit(cache, f"ratelimit:{key}", rate) for key, rate in limits]
    cache_keys = [f"ratelimit:{key}" for key, _ in limits]
    full_keys = [cache.make_and_validate_key(key) for key in cache_keys]
    windows = [rate.window for _, rate in limits]
    # Every key on the one client of the first: the default cache is a single Redis server.
    raw = _redis_client(cache, full_keys[0]).eval(_HIT_MANY_SCRIPT, len(full_keys), *full_keys, *windows)
    hits = []
    for i, (cache_key, (_, rate)) in enumerate(zip(cache_keys, limits, strict=True)):
        count, ttl = int(raw[2 * i]), int(raw[2 * i + 1])
        hits.append(Hit(allowed=count <= rate.limit, count=count, retry_after=max(ttl, 1), key=cache_key))
    return hits


def _memory_hit(cache: Any, cache_key: str, rate: Rate) -> Hit:
    # LocMemCache: `add` is a no-op when the key exists, `incr` holds the cache's lock.
    cache.add(cache_key, 0, timeout=rate.window)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=rate.window)
        count = 1
    return Hit(allowed=count <= rate.limit, count=count, retry_after=rate.window, key=cache_key)


def rate_limit_refund(hit: Hit) -> None:
    """Give back one hit that turned out not to count (a valid key after all)."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        full_key = cache.make_and_validate_key(hit.key)
        # Only while the window lives: a DECR on a missing key would create it at -1, forever.
        _redis_client(cache, full_key).eval(_REFUND_SCRIPT, 1, full_key)
        return
    with contextlib.suppress(ValueError):  # the window ended meanwhile: nothing to give back
        cache.decr(hit.key)


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT = N proxies that each append
    to X-Forwarded-For, the N-th entry from the right (the address the outermost proxy saw).
    Entries left of it are whatever the client sent and are never believed."""
    remote = str(request.META.get("REMOTE_ADDR") or "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            candidate = forwarded[-proxies]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass  # a proxy we trust would not write garbage; fall back to the peer
    return remote or "unknown"


def client_bucket(request: HttpRequest) -> str:
    """The client address as rate limits count it: IPv4 as is, IPv6 by its /64 network, since
    one subscriber is routinely handed a whole /64 (allauth's limits count the same way)."""
    address = client_ip(request)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False).network_address) + "/64"
    return address


class _CacheRateThrottle(BaseThrottle):
    """A DRF throttle over `rate_limit_hit`; subclasses name the scope and the identity."""

    scope = ""

    def __init__(self) -> None:
        self.rate = rate_parse(settings.API_RATE_LIMITS[self.scope])
        self.hit: Hit | None = None

    def ident(self, request: Request) -> str | None:
        raise NotImplementedError

    def limit(self, request: Request) -> tuple[str, Rate] | None:
        """The counter key and rate this request counts against (None: not counted)."""
        ident = self.ident(request)
        return None if ident is None else (f"{self.scope}:{ident}", self.rate)

    def allow_request(self, request: Request, view: Any) -> bool:
        limit = self.limit(request)
        if limit is None:
            return True
        self.hit = rate_limit_hit(key=limit[0], rate=limit[1])
        return self.hit.allowed

    def wait(self) -> float | None:
        return float(self.hit.retry_after) if self.hit is not None else None


class ApiUserRateThrottle(_CacheRateThrottle):
    """Per API key (each key its own budget), or per user for session requests."""

    scope = "user"

    def ident(self, request: Request) -> str | None:
        key_id = getattr(request.auth, "key_id", None)
        if key_id is not None:
            return f"key:{key_id}"
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return None


class ApiIpRateThrottle(_CacheRateThrottle):
    """Per client address, signed in or not."""

    scope = "ip"

    def ident(self, request: Request) -> str | None:
        return client_bucket(request)


class CredentialAttemptLimit(BaseAuthentication):
    """Wraps the API-key authentication (settings.API_KEY_AUTHENTICATION_CLASS): every request
    that presents an `Authorization` header costs one attempt from the client address's
    `auth_failure` budget before the key is looked up, and a key that authenticates gets it back
    (a valid key already in the shared cache skips the budget: `authenticate_cached`).
    Counting first is what makes the limit hold under concurrency: 200 parallel guesses against a
    limit of 10 reach the key lookup at most 10 times. The rest answer 429 `rate_limited`."""

    def __init__(self) -> None:
        self.inner: BaseAuthentication = import_string(settings.API_KEY_AUTHENTICATION_CLASS)()

    def authenticate(self, request: Request) -> Any:
        if not get_authorization_header(request):
            return None
        # A valid key the shared cache already holds is answered from that one read: it is no
        # guess, so it neither costs nor refunds an attempt (two Redis round trips fewer per call).
        # Anything else (unknown, not cached, wrong secret, revoked: dropped from the cache at
        # revocation) takes the counted path below, so guesses stay bounded exactly as before.
        cached = getattr(self.inner, "authenticate_cached", None)
        if cached is not None:
            found = cached(request)
            if found is not None:
                return found
        hit = rate_limit_hit(
            key=f"auth_failure:{client_bucket(request)}",
            rate=rate_parse(settings.API_RATE_LIMITS["auth_failure"]),
        )
        if not hit.allowed:
            raise exceptions.Throttled(wait=hit.retry_after)
        result = self.inner.authenticate(request)  # AuthenticationFailed: the attempt stays counted
        rate_limit_refund(hit)
        return result

    def authenticate_header(self, request: Request) -> str | None:
        header: str | None = self.inner.authenticate_header(request)
        return header


class DeferredThrottles:
    """A view mixin for the hot path: the API-wide limits of its throttle classes (per address, per
    key) are not counted before the view runs, one Redis round trip each, but handed to the view as
    `self.deferred_limits`, for the service it calls to count together with its own limits in one
    `rate_limits_hit` and then empty the list. Whatever is still in the list when the view fails
    (it failed before counting them: a malformed body, an unknown model) is counted here, and
    answered 429 `rate_limited` when over, as the throttles would have. Throttles that cannot be
    deferred (no `limit` method) run as usual."""

    deferred_limits: list[tuple[str, Rate]]

    def check_throttles(self, request: Request) -> None:
        self.deferred_limits = []
        waits: list[float] = []
        for throttle in self.get_throttles():  # type: ignore[attr-defined]
            limit = getattr(throttle, "limit", None)
            if limit is not None:
                found = limit(request)
                if found is not None:
                    self.deferred_limits.append(found)
            elif not throttle.allow_request(request, self):
                waits.append(throttle.wait() or 0)
        if waits:
            raise exceptions.Throttled(wait=max(waits))

    def handle_exception(self, exc: Exception) -> Any:
        pending = getattr(self, "deferred_limits", [])
        if pending:
            over = [hit.retry_after for hit in rate_limits_hit(pending) if not hit.allowed]
            pending.clear()
            if over:
                exc = exceptions.Throttled(wait=max(over))
        return super().handle_exception(exc)  # type: ignore[misc]
