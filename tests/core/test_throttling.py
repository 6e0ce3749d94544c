"""API rate limits (issue 13 item 5, figure W5): atomic on Redis, per key and per client address,
429 `rate_limited` with Retry-After; the client address believes X-Forwarded-For only behind the
configured number of proxies."""

from __future__ import annotations

import os
import threading
from collections import Counter

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from accounts.services import api_key_create, api_key_revoke
from config.settings import security as security_defaults
from core.throttling import Rate, client_ip, rate_limit_hit

PARALLEL = 200


def _require_redis() -> None:
    if not isinstance(caches["default"], RedisCache):
        if os.environ.get("CI"):
            pytest.fail("This test needs Redis; CI must export REDIS_URL=redis://...")
        pytest.skip("needs Redis: run with REDIS_URL=redis://127.0.0.1:6379/0")


def _in_parallel(count: int, work) -> list:
    """Run `work(i)` in `count` threads released together; each thread closes its DB connection."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# ----------------------------------------------------------------------------- the client address


def test_forwarded_for_is_ignored_without_trusted_proxies(rf, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    request = rf.get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(request) == "10.0.0.9"


def test_forwarded_for_is_read_from_the_right_behind_trusted_proxies(rf, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # The client wrote "6.6.6.6" itself; our one proxy appended the address it saw.
    request = rf.get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    assert client_ip(request) == "203.0.113.7"
    settings.TRUSTED_PROXY_COUNT = 2
    request = rf.get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7, 10.0.0.2")
    assert client_ip(request) == "203.0.113.7"
    # Fewer entries than proxies, or garbage: the peer address, never a 500.
    request = rf.get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="not-an-ip, 10.0.0.2")
    assert client_ip(request) == "10.0.0.9"


# ----------------------------------------------------------------------------- the limiter (W5)


def test_limiter_admits_exactly_the_limit_under_200_parallel_hits():
    _require_redis()
    rate = Rate(limit=10, window=60)
    hits = _in_parallel(PARALLEL, lambda i: rate_limit_hit(key="w5:limiter", rate=rate))
    assert sum(hit.allowed for hit in hits) == 10
    assert sorted(hit.count for hit in hits) == list(range(1, PARALLEL + 1))  # no lost increments
    assert all(0 < hit.retry_after <= 60 for hit in hits)


def test_limiter_counts_in_memory_too():
    rate = Rate(limit=2, window=60)
    assert [rate_limit_hit(key="mem", rate=rate).allowed for _ in range(3)] == [True, True, False]


# ----------------------------------------------------------------------------- through the API


@pytest.mark.django_db
def test_guessing_300_keys_ends_in_rate_limited(settings):
    settings.API_RATE_LIMITS = security_defaults.API_RATE_LIMITS
    api = APIClient()
    statuses = []
    for i in range(300):
        response = api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer agr_live_guess{i:03d}_nope")
        statuses.append(response.status_code)
    assert set(statuses) == {401, 429}
    assert statuses[-1] == 429
    assert statuses.index(429) == statuses.count(401)  # once limited, limited for the rest
    limited = api.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer agr_live_guess999_nope")
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 0 < int(limited["Retry-After"]) <= 60


@pytest.mark.django_db(transaction=True)
def test_200_parallel_key_guesses_reach_the_key_check_at_most_the_limit(settings):
    _require_redis()
    settings.API_RATE_LIMITS = {**security_defaults.API_RATE_LIMITS, "auth_failure": "10/minute"}

    def guess(i: int) -> int:
        return APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer agr_live_par{i:05d}_x").status_code

    statuses = Counter(_in_parallel(PARALLEL, guess))
    assert statuses == {401: 10, 429: PARALLEL - 10}


@pytest.mark.django_db
def test_a_valid_key_does_not_use_up_the_guessing_budget(settings, user):
    settings.API_RATE_LIMITS = {"user": "1000/minute", "ip": "1000/minute", "auth_failure": "3/minute"}
    key = api_key_create(user=user, name="ci", scopes=["read"]).secret
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert all(api.get("/api/v1/me").status_code == 200 for _ in range(10))


@pytest.mark.django_db
def test_a_cached_valid_key_costs_no_attempt_but_a_revoked_one_is_refused_at_once(settings, user):
    settings.API_RATE_LIMITS = {"user": "1000/minute", "ip": "1000/minute", "auth_failure": "2/minute"}
    created = api_key_create(user=user, name="ci", scopes=["read"])
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {created.secret}")
    assert api.get("/api/v1/me").status_code == 200  # now in the shared cache
    budget = rate_limit_hit(key="auth_failure:127.0.0.1", rate=Rate(limit=1000, window=60))
    assert budget.count == 1  # the valid key left the address's guessing budget untouched
    api_key_revoke(user=user, key_id=created.api_key.pk)
    refused = api.get("/api/v1/me")
    assert refused.status_code == 401
    assert rate_limit_hit(key="auth_failure:127.0.0.1", rate=Rate(limit=1000, window=60)).count == 3


@pytest.mark.django_db
def test_each_api_key_has_its_own_budget_and_429_says_when_to_retry(settings, user):
    settings.API_RATE_LIMITS = {"user": "3/minute", "ip": "1000/minute", "auth_failure": "1000/minute"}
    first, second = (
        APIClient(HTTP_AUTHORIZATION=f"Bearer {api_key_create(user=user, name=n, scopes=['read']).secret}")
        for n in "ab"
    )
    assert [first.get("/api/v1/me").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert second.get("/api/v1/me").status_code == 200
    limited = first.get("/api/v1/me")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert limited.json()["error"]["detail"]["retry_after_seconds"] > 0
    assert int(limited["Retry-After"]) > 0


@pytest.mark.django_db
def test_the_address_limit_counts_each_client_behind_the_proxy(settings):
    settings.API_RATE_LIMITS = {"user": "1000/minute", "ip": "2/minute", "auth_failure": "1000/minute"}
    settings.TRUSTED_PROXY_COUNT = 1
    api = APIClient(REMOTE_ADDR="10.0.0.2")
    one = {"HTTP_X_FORWARDED_FOR": "198.51.100.1"}
    assert [api.get("/api/v1/listings", **one).status_code for _ in range(3)] == [200, 200, 429]
    assert api.get("/api/v1/listings", HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 200
    # Without trusted proxies the header is the client's own word and changes nothing.
    settings.TRUSTED_PROXY_COUNT = 0
    cache.clear()
    spoofed = [
        api.get("/api/v1/listings", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(3)
    ]
    assert spoofed == [200, 200, 429]


# ----------------------------------------------------------------------------- login


@pytest.mark.django_db
def test_failed_logins_slow_the_attacker_without_locking_out_the_owner(settings, user, password):
    settings.ACCOUNT_RATE_LIMITS = security_defaults.ACCOUNT_RATE_LIMITS
    attacker = Client(REMOTE_ADDR="203.0.113.66")
    for _ in range(5):
        attacker.post("/accounts/login/", {"login": user.email, "password": "wrong-guess"})
    blocked = attacker.post("/accounts/login/", {"login": user.email, "password": password})
    assert blocked.status_code != 302  # the attacker's address is out of tries for this account
    owner = Client(REMOTE_ADDR="198.51.100.20")
    response = owner.post("/accounts/login/", {"login": user.email, "password": password})
    assert response.status_code == 302
    assert "_auth_user_id" in owner.session


def test_deploy_check_requires_redis_for_the_limits(settings):
    from django.core.checks import run_checks

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert "core.E001" in {message.id for message in run_checks(include_deployment_checks=True)}
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/3",
        }
    }
    assert "core.E001" not in {message.id for message in run_checks(include_deployment_checks=True)}


def test_ipv6_clients_are_counted_by_their_64(rf):
    from core.throttling import client_bucket

    one = rf.get("/", REMOTE_ADDR="2001:db8:1:2:aaaa::1")
    same_subscriber = rf.get("/", REMOTE_ADDR="2001:db8:1:2:bbbb::9")
    other = rf.get("/", REMOTE_ADDR="2001:db8:1:3::1")
    assert client_bucket(one) == client_bucket(same_subscriber) == "2001:db8:1:2::/64"
    assert client_bucket(other) != client_bucket(one)
    assert client_bucket(rf.get("/", REMOTE_ADDR="192.0.2.7")) == "192.0.2.7"
