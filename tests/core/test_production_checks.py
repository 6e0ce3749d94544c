"""Production refuses every development default at start (issue 13, item 6).

The checks read a settings object, so each case below is a production-ready configuration with one
development default put back. Two subprocess tests run the real production settings module: once
with what `make demo` would give it (refused, every id named), once through the WSGI entry point.
"""

from __future__ import annotations

import os
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from core.checks import (
    GANACHE_ADDRESSES,
    GANACHE_KEYS,
    PRODUCTION_TAG,
    development_defaults,
    refuse_development_defaults,
)

GANACHE_ADDRESS_0, GANACHE_KEY_0 = GANACHE_ADDRESSES[0], GANACHE_KEYS[0]
GANACHE_ADDRESS_9, GANACHE_KEY_9 = GANACHE_ADDRESSES[9], GANACHE_KEYS[9]
SQLITE = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}


def _production_ready(**overrides: Any) -> SimpleNamespace:
    values: dict[str, Any] = {
        "DATABASES": {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "agora"}},
        "CACHES": {
            "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://r/0"}
        },
        "CELERY_BROKER_URL": "redis://r/0",
        "CELERY_TASK_ALWAYS_EAGER": False,
        "WEB3_CHAIN_ID": 8453,
        "SIWE_ALLOWED_CHAIN_IDS": [8453],
        "WEB3_PROVIDER_URL": "https://rpc.example.com",
        "WEB3_TOKEN_ADDRESS": "0x000000000000000000000000000000000000a9e0",
        "WEB3_DEPOSIT_ADDRESS": "",
        "WEB3_HOT_WALLET_KEY": "0x" + "ab" * 32,
        "WEB3_DEPLOYER_KEY": "",
        "STRIPE_API_BASE": "",
        "STRIPE_JS_URL": "https://js.stripe.com/v3/",
        "STRIPE_SECRET_KEY": "sk_live_abc",
        "STRIPE_PUBLISHABLE_KEY": "pk_live_abc",
        "STRIPE_WEBHOOK_SECRETS": ["whsec_abc"],
        "SECRET_KEY": "s" * 50,
        "ARTEFACT_MASTER_KEY": "c2VjcmV0LXByb2R1Y3Rpb24ta2V5LTAxMjM0NTY3ODk=",
        "ARTEFACT_DEV_MASTER_KEY": settings.ARTEFACT_DEV_MASTER_KEY,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "STORAGES": {"default": {"BACKEND": "storages.backends.s3.S3Storage"}},
        "METRICS_BEARER_TOKEN": "m" * 40,
    }
    values.update(overrides)
    return SimpleNamespace(**values)


def test_a_production_ready_configuration_passes():
    assert development_defaults(_production_ready()) == []


@pytest.mark.parametrize(
    ("overrides", "check_id"),
    [
        ({"DATABASES": SQLITE}, "agora.E001"),
        ({"CACHES": {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}}, "agora.E002"),
        ({"CELERY_BROKER_URL": "memory://", "CELERY_TASK_ALWAYS_EAGER": True}, "agora.E003"),
        ({"CELERY_TASK_ALWAYS_EAGER": True}, "agora.E003"),
        ({"WEB3_CHAIN_ID": 1337, "SIWE_ALLOWED_CHAIN_IDS": [1337]}, "agora.E004"),
        ({"SIWE_ALLOWED_CHAIN_IDS": [8453, 1337]}, "agora.E004"),
        ({"WEB3_HOT_WALLET_KEY": GANACHE_KEY_0}, "agora.E005"),
        ({"WEB3_HOT_WALLET_KEY": GANACHE_KEY_9.removeprefix("0x").upper()}, "agora.E005"),
        ({"WEB3_DEPLOYER_KEY": GANACHE_KEY_0}, "agora.E005"),
        ({"WEB3_DEPOSIT_ADDRESS": GANACHE_ADDRESS_9}, "agora.E005"),
        ({"WEB3_TOKEN_ADDRESS": GANACHE_ADDRESS_0.lower()}, "agora.E005"),
        # The AGR token `manage.py chain_deploy` deploys first on ganache (account 0, nonce 0).
        ({"WEB3_TOKEN_ADDRESS": "0xe78A0F7E598Cc8b0Bb87894B0F60dD2a88d6a8Ab"}, "agora.E005"),
        ({"WEB3_PROVIDER_URL": "tester"}, "agora.E006"),
        ({"WEB3_TOKEN_ADDRESS": ""}, "agora.E006"),
        ({"STRIPE_API_BASE": "http://127.0.0.1:8420"}, "agora.E007"),
        ({"STRIPE_API_BASE": "https://localhost:8420"}, "agora.E007"),
        ({"STRIPE_JS_URL": "http://127.0.0.1:8420/js.stripe.com/v3/"}, "agora.E007"),
        ({"STRIPE_SECRET_KEY": "sk_test_local"}, "agora.E008"),
        ({"STRIPE_PUBLISHABLE_KEY": "pk_test_local"}, "agora.E008"),
        ({"STRIPE_WEBHOOK_SECRETS": ["whsec_abc", "whsec_local_demo"]}, "agora.E008"),
        ({"SECRET_KEY": ""}, "agora.E009"),
        ({"STRIPE_WEBHOOK_SECRETS": [" "]}, "agora.E009"),
        ({"WEB3_HOT_WALLET_KEY": ""}, "agora.E009"),
        ({"ARTEFACT_MASTER_KEY": "  "}, "agora.E009"),
        ({"ARTEFACT_MASTER_KEY": settings.ARTEFACT_DEV_MASTER_KEY}, "agora.E010"),
        ({"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}, "agora.E011"),
        ({"STORAGES": {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}}, "agora.E012"),
        ({"METRICS_BEARER_TOKEN": " "}, "agora.E013"),
    ],
)
def test_each_development_default_is_refused(overrides, check_id):
    errors = development_defaults(_production_ready(**overrides))
    assert [e.id for e in errors] == [check_id]
    assert all(e.is_serious() for e in errors)


def test_the_checks_run_only_where_production_turns_them_on():
    from django.core.checks import run_checks

    # The test settings carry the development defaults (chain 1337, localstripe), yet pass...
    assert run_checks(tags=[PRODUCTION_TAG]) == []
    # ...until the production switch is on.
    with override_settings(AGORA_REFUSE_DEVELOPMENT_DEFAULTS=True):
        ids = {m.id for m in run_checks(tags=[PRODUCTION_TAG])}
        assert {"agora.E004", "agora.E007", "agora.E008"} <= ids
        with pytest.raises(Exception, match="Refusing to start on development defaults"):
            refuse_development_defaults()


def _production(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    # Only what `make demo` would have, plus the variables production.py cannot start without.
    base_env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "config.django.production",
        "DJANGO_SECRET_KEY": "x" * 50,
        "DJANGO_ALLOWED_HOSTS": "agora.example.com",
        "STRIPE_SECRET_KEY": "sk_test_local",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_local",
        "STRIPE_WEBHOOK_SECRETS": "whsec_local_demo",
        "STRIPE_API_BASE": "http://127.0.0.1:8420",
        "ARTEFACT_MASTER_KEY": "c2VjcmV0LXByb2R1Y3Rpb24ta2V5LTAxMjM0NTY3ODk=",
        **env,
    }
    return subprocess.run(
        [sys.executable, *args],
        env=base_env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )


def test_manage_py_refuses_production_on_development_defaults():
    result = _production(["manage.py", "check"])
    assert result.returncode != 0
    for check_id in ("E001", "E002", "E003", "E004", "E005", "E006", "E007", "E008", "E012", "E013"):
        assert f"agora.{check_id}" in result.stderr, result.stderr


def test_the_wsgi_application_refuses_to_start_on_development_defaults():
    result = _production(["-c", "import config.wsgi"])
    assert result.returncode != 0
    assert "Refusing to start on development defaults" in result.stderr
    assert "agora.E001" in result.stderr
