from __future__ import annotations

import hashlib
import io

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services
from accounts.errors import ApiKeyInvalid, ApiKeyNotFound, ApiKeyScopesInvalid
from accounts.models import ApiKey

pytestmark = pytest.mark.django_db


def test_created_key_has_prefix_and_only_its_hash_is_stored(user):
    created = services.api_key_create(user=user, name="laptop", scopes=["read"])
    assert created.secret.startswith("agr_live_")
    assert created.secret.startswith(created.api_key.prefix + "_")
    row = ApiKey.objects.get(pk=created.api_key.pk)
    assert row.key_hash == hashlib.sha256(created.secret.encode()).hexdigest()
    secret_part = created.secret.split("_", 3)[3]
    assert secret_part not in row.prefix
    assert len(secret_part) >= 40  # 32 random bytes, base64url


def test_database_dump_contains_no_key_secret(user):
    created = services.api_key_create(user=user, name="ci", scopes=["read", "write"])
    secret_part = created.secret.split("_", 3)[3]
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    assert created.api_key.prefix in dump.getvalue()  # the dump really has the key row
    assert secret_part not in dump.getvalue()
    assert created.secret not in dump.getvalue()


def test_authenticate_resolves_user_and_scopes(user):
    created = services.api_key_create(user=user, name="ci", scopes=["inference", "read"])
    authed_user, principal = services.api_key_authenticate(raw_key=created.secret)
    assert authed_user == user
    assert principal.scopes == frozenset({"read", "inference"})


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"),  # one character of the secret changed
        lambda s: s.replace("agr_live_", "agr_test_"),
        lambda s: s[:17],  # the prefix alone
        lambda s: "",
        lambda s: "agr_live_",
        lambda s: s + "x",
    ],
)
def test_authenticate_rejects_wrong_keys(user, mangle):
    created = services.api_key_create(user=user, name="ci", scopes=["read"])
    with pytest.raises(ApiKeyInvalid):
        services.api_key_authenticate(raw_key=mangle(created.secret))


def test_hot_path_is_served_from_cache(user):
    created = services.api_key_create(user=user, name="ci", scopes=["read"])
    services.api_key_authenticate(raw_key=created.secret)  # warms the cache, touches last_used_at
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            services.api_key_authenticate(raw_key=created.secret)
    assert len(queries) == 0


def test_wrong_secret_with_cached_prefix_is_still_rejected(user):
    created = services.api_key_create(user=user, name="ci", scopes=["read"])
    services.api_key_authenticate(raw_key=created.secret)
    forged = created.api_key.prefix + "_" + "A" * 43
    with pytest.raises(ApiKeyInvalid):
        services.api_key_authenticate(raw_key=forged)


def test_last_used_at_is_written_at_most_once_a_minute(user):
    created = services.api_key_create(user=user, name="ci", scopes=["read"])
    with time_machine.travel("2026-11-21 10:00:00Z", tick=False):
        services.api_key_authenticate(raw_key=created.secret)
    first = ApiKey.objects.get(pk=created.api_key.pk).last_used_at
    assert first is not None
    with time_machine.travel("2026-11-21 10:00:30Z", tick=False):
        services.api_key_authenticate(raw_key=created.secret)
    assert ApiKey.objects.get(pk=created.api_key.pk).last_used_at == first
    cache.delete(f"apikey-touch:{created.api_key.pk}")  # the minute has passed
    with time_machine.travel("2026-11-21 10:01:30Z", tick=False):
        services.api_key_authenticate(raw_key=created.secret)
    assert ApiKey.objects.get(pk=created.api_key.pk).last_used_at > first


def test_revoked_key_fails_on_the_next_call_even_when_cached(user, django_capture_on_commit_callbacks):
    created = services.api_key_create(user=user, name="ci", scopes=["read"])
    services.api_key_authenticate(raw_key=created.secret)  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        services.api_key_revoke(user=user, key_id=created.api_key.pk)
    with pytest.raises(ApiKeyInvalid):
        services.api_key_authenticate(raw_key=created.secret)


def test_only_the_owner_can_revoke(user, other_user):
    created = services.api_key_create(user=user, name="ci", scopes=["read"])
    with pytest.raises(ApiKeyNotFound):
        services.api_key_revoke(user=other_user, key_id=created.api_key.pk)
    assert ApiKey.objects.get(pk=created.api_key.pk).revoked_at is None


def test_deactivated_user_is_refused(user):
    created = services.api_key_create(user=user, name="ci", scopes=["read"])
    user.is_active = False
    user.save()
    with pytest.raises(ApiKeyInvalid):
        services.api_key_authenticate(raw_key=created.secret)


@pytest.mark.parametrize("scopes", [[], ["admin"], ["read", "root"]])
def test_unknown_or_missing_scopes_are_refused(user, scopes):
    with pytest.raises(ApiKeyScopesInvalid):
        services.api_key_create(user=user, name="ci", scopes=scopes)
    assert not ApiKey.objects.exists()


def test_revocation_drops_a_copy_recached_before_commit(user, django_capture_on_commit_callbacks):
    created = services.api_key_create(user=user, name="ci", scopes=["read"])
    stale = None
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.api_key_authenticate(raw_key=created.secret)
        stale = cache.get(f"apikey:{created.api_key.prefix}")
        services.api_key_revoke(user=user, key_id=created.api_key.pk)
        # A concurrent request that read the row before the revocation committed re-caches it.
        cache.set(f"apikey:{created.api_key.prefix}", stale)
    assert stale is not None
    for callback in callbacks:
        callback()
    with pytest.raises(ApiKeyInvalid):
        services.api_key_authenticate(raw_key=created.secret)
