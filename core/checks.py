"""System checks that make production refuse to start on a development default.

`make demo` and `make test` run with no services: an embedded SQLite file, an in-memory cache,
eager Celery, the local chain (id 1337) with ganache's public deterministic keys, and localstripe.
Each of those is a safe default on a laptop and a disaster in production (money in a file, rate
limits per process, a hot wallet anyone can drain, card payments that go nowhere). Django's own
`check --deploy` says nothing about any of them, so these checks do.

They run only where `AGORA_REFUSE_DEVELOPMENT_DEFAULTS` is true (config/django/production.py), on
every management command that runs checks (`check`, `migrate`, `runserver`), and when the WSGI/ASGI
application or a Celery worker starts there (`refuse_development_defaults`). None connects to anything.

Ids are stable: operators and tests match on them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.core.checks import CheckMessage, Error, Tags, register
from django.core.checks import run_checks as _run_checks
from django.core.exceptions import ImproperlyConfigured

# The tag of every check here, so that `manage.py check --tag agora_production` runs them alone.
PRODUCTION_TAG = "agora_production"

DEV_CHAIN_ID = 1337

# ganache `--wallet.deterministic` (mnemonic "myth like bonus scare over problem client lizard
# pioneer submit female collect"), accounts 0-9: published in ganache's documentation, so anything
# they control belongs to whoever reads it first.
GANACHE_ADDRESSES: tuple[str, ...] = (
    "0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1",
    "0xFFcf8FDEE72ac11b5c542428B35EEF5769C409f0",
    "0x22d491Bde2303f2f43325b2108D26f1eAbA1e32b",
    "0xE11BA2b4D45Eaed5996Cd0823791E0C93114882d",
    "0xd03ea8624C8C5987235048901fB614fDcA89b117",
    "0x95cED938F7991cd0dFcb48F0a06a40FA1aF46EBC",
    "0x3E5e9111Ae8eB78Fe1CC3bb8915d5D461F3Ef9A9",
    "0x28a8746e75304c0780E011BEd21C72cD78cd535E",
    "0xACa94ef8bD5ffEE41947b4585a84BdA5a3d3DA6E",
    "0x1dF62f291b2E969fB0849d99D9Ce41e2F137006e",
)
GANACHE_KEYS: tuple[str, ...] = (
    "0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d",
    "0x6cbed15c793ce57650b9877cf6fa156fbef513c4e6134f022a85b1ffdd59b2a1",
    "0x6370fd033278c143179d81c5526140625662b8daa446c22ee2d73db3707e620c",
    "0x646f1ce2fdad0e6deeeb5c7e8e5543bdde65e86029e2fd9fc169899c440a7913",
    "0xadd53f9a7e588d003326d1cbf9e4a43c061aadd9bc938c843a79e7b4fd2ad743",
    "0x395df67f0c2d2d9fe1ad08d1bc8b6627011959b79c53d7dd6a3536a33ab8a4fd",
    "0xe485d098507f54e7733a205420dfddbe58db035fa577fc294ebd14db90767a52",
    "0xa453611d9419d0e56f499079478fd72c37b251a94bfde4d19872c44cf65386e3",
    "0x829e924fdf021ba3dbbc4225edfece9aca04b929d6e75613329ca6f1d31c0bb4",
    "0xb0057716d5917badaf911b193b12b910811c1497b5bada8d7711f758981c3773",
)
_GANACHE_ADDRESSES = frozenset(address.lower() for address in GANACHE_ADDRESSES)
_GANACHE_KEYS = frozenset(key.lower().removeprefix("0x") for key in GANACHE_KEYS)
# Contracts those accounts create get addresses fixed by (deployer, nonce): the demo's AGR token is
# the first one account 0 deploys, and anyone holding the public key can deploy there on any chain.
_GANACHE_CONTRACT_NONCES = range(5)


@functools.cache
def _ganache_contract_addresses() -> frozenset[str]:
    # Imported here: web3 is heavy, and only a production start needs this.
    from eth_typing import HexAddress, HexStr
    from web3.types import Nonce
    from web3.utils.address import get_create_address

    return frozenset(
        get_create_address(HexAddress(HexStr(address)), Nonce(nonce)).lower()
        for address in GANACHE_ADDRESSES
        for nonce in _GANACHE_CONTRACT_NONCES
    )


# The placeholders config/settings/stripe.py falls back to for localstripe.
STRIPE_PLACEHOLDERS = frozenset({"sk_test_local", "pk_test_local", "whsec_local_demo"})
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})  # noqa: S104

# Backends that keep mail in the process or print it: nobody would ever receive a receipt.
_DEV_EMAIL_BACKENDS = frozenset(
    {
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
    }
)


def _is_loopback_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in _LOOPBACK_HOSTS or host.startswith("127.")


def _database_problems(s: Any) -> list[CheckMessage]:
    engine = s.DATABASES.get("default", {}).get("ENGINE", "")
    if engine != "django.db.backends.postgresql":
        return [
            Error(
                f"The database is {engine or 'not configured'}, not PostgreSQL.",
                hint="Set DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/NAME. The ledger's balance "
                "trigger, row locks and search need PostgreSQL; the embedded SQLite file is for the demo.",
                id="agora.E001",
            )
        ]
    return []


def _cache_problems(s: Any) -> list[CheckMessage]:
    backend = s.CACHES.get("default", {}).get("BACKEND", "")
    if backend != "django.core.cache.backends.redis.RedisCache":
        return [
            Error(
                f"The cache is {backend or 'not configured'}, not Redis.",
                hint="Set REDIS_URL=redis://HOST:6379/0. Sessions, API-key lookups and rate limits must "
                "be shared by every web process; an in-memory cache keeps them per process.",
                id="agora.E002",
            )
        ]
    return []


def _celery_problems(s: Any) -> list[CheckMessage]:
    broker = str(getattr(s, "CELERY_BROKER_URL", "") or "")
    if getattr(s, "CELERY_TASK_ALWAYS_EAGER", False) or not broker.startswith(("redis", "amqp")):
        return [
            Error(
                f"Celery runs tasks in the web process (broker {broker or 'unset'!r}, eager "
                f"{getattr(s, 'CELERY_TASK_ALWAYS_EAGER', False)}).",
                hint="Set REDIS_URL (or CELERY_BROKER_URL=redis://... / amqp://...) and leave "
                "CELERY_TASK_ALWAYS_EAGER unset: escrow releases, payouts and renewals run on workers "
                "and beat.",
                id="agora.E003",
            )
        ]
    return []


def _chain_problems(s: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    chain_ids = [int(s.WEB3_CHAIN_ID), *(int(c) for c in s.SIWE_ALLOWED_CHAIN_IDS)]
    if DEV_CHAIN_ID in chain_ids:
        errors.append(
            Error(
                f"Chain id {DEV_CHAIN_ID} (the local ganache/eth-tester chain) is configured "
                f"(WEB3_CHAIN_ID={s.WEB3_CHAIN_ID}, "
                f"SIWE_ALLOWED_CHAIN_IDS={list(s.SIWE_ALLOWED_CHAIN_IDS)}).",
                hint="Set WEB3_CHAIN_ID (and SIWE_ALLOWED_CHAIN_IDS) to the chain the AGR token lives on.",
                id="agora.E004",
            )
        )
    public_keys = [
        name
        for name in ("WEB3_HOT_WALLET_KEY", "WEB3_DEPLOYER_KEY")
        if str(getattr(s, name, "") or "").lower().removeprefix("0x") in _GANACHE_KEYS
    ]
    public_addresses = [
        name
        for name in ("WEB3_DEPOSIT_ADDRESS", "WEB3_TOKEN_ADDRESS")
        if str(getattr(s, name, "") or "").lower() in _GANACHE_ADDRESSES | _ganache_contract_addresses()
    ]
    if public_keys or public_addresses:
        errors.append(
            Error(
                f"{', '.join(public_keys + public_addresses)} is one of ganache's public deterministic "
                "accounts or a contract address they deploy to: anyone can sign for it.",
                hint="Generate the hot wallet's key and addresses for production; never reuse "
                "development ones.",
                id="agora.E005",
            )
        )
    provider = str(s.WEB3_PROVIDER_URL or "")
    if provider == "tester" or not s.WEB3_TOKEN_ADDRESS:
        errors.append(
            Error(
                "The AGR rail is not configured for a real chain "
                f"(WEB3_PROVIDER_URL={provider!r}, WEB3_TOKEN_ADDRESS={s.WEB3_TOKEN_ADDRESS!r}).",
                hint="Set WEB3_PROVIDER_URL to a JSON-RPC node and WEB3_TOKEN_ADDRESS to the AGR contract; "
                "without it the address is read from the demo's .demo/chain.json.",
                id="agora.E006",
            )
        )
    return errors


def _stripe_problems(s: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    base = str(s.STRIPE_API_BASE or "")
    js = str(s.STRIPE_JS_URL or "")
    if (base and (not base.startswith("https://") or _is_loopback_url(base))) or not js.startswith(
        "https://js.stripe.com/"
    ):
        errors.append(
            Error(
                f"Stripe points at a local stand-in (STRIPE_API_BASE={base!r}, STRIPE_JS_URL={js!r}).",
                hint="Leave STRIPE_API_BASE empty (api.stripe.com) and STRIPE_JS_URL at "
                "https://js.stripe.com/v3/; localstripe is for the demo and tests.",
                id="agora.E007",
            )
        )
    values = {
        "STRIPE_SECRET_KEY": str(s.STRIPE_SECRET_KEY or ""),
        "STRIPE_PUBLISHABLE_KEY": str(s.STRIPE_PUBLISHABLE_KEY or ""),
        **{f"STRIPE_WEBHOOK_SECRETS[{i}]": str(v) for i, v in enumerate(s.STRIPE_WEBHOOK_SECRETS)},
    }
    placeholders = [name for name, value in values.items() if value in STRIPE_PLACEHOLDERS]
    if placeholders:
        errors.append(
            Error(
                f"{', '.join(placeholders)} is a localstripe placeholder.",
                hint="Set the Stripe account's keys and the webhook endpoint's signing secret.",
                id="agora.E008",
            )
        )
    return errors


def _secret_problems(s: Any) -> list[CheckMessage]:
    required: dict[str, object] = {
        "DJANGO_SECRET_KEY": s.SECRET_KEY,
        "STRIPE_SECRET_KEY": s.STRIPE_SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": s.STRIPE_PUBLISHABLE_KEY,
        "STRIPE_WEBHOOK_SECRETS": [v for v in s.STRIPE_WEBHOOK_SECRETS if str(v).strip()],
        "ARTEFACT_MASTER_KEY": s.ARTEFACT_MASTER_KEY,
        "WEB3_HOT_WALLET_KEY": s.WEB3_HOT_WALLET_KEY,
    }
    missing = [name for name, v in required.items() if not (v.strip() if isinstance(v, str) else v)]
    errors: list[CheckMessage] = []
    if missing:
        errors.append(
            Error(
                f"Missing secrets: {', '.join(missing)}.",
                hint="Production reads every secret from the environment; see .env.example.",
                id="agora.E009",
            )
        )
    if str(s.ARTEFACT_MASTER_KEY).strip() == s.ARTEFACT_DEV_MASTER_KEY:
        errors.append(
            Error(
                "ARTEFACT_MASTER_KEY is the public development key.",
                hint="Generate one: python -c 'import base64, secrets; "
                "print(base64.b64encode(secrets.token_bytes(32)).decode())'.",
                id="agora.E010",
            )
        )
    return errors


def _email_problems(s: Any) -> list[CheckMessage]:
    if s.EMAIL_BACKEND in _DEV_EMAIL_BACKENDS:
        return [
            Error(
                f"EMAIL_BACKEND is {s.EMAIL_BACKEND}: no mail would leave the server.",
                hint="Use SMTP (the production default) or a provider's backend via DJANGO_EMAIL_BACKEND.",
                id="agora.E011",
            )
        ]
    return []


def _storage_problems(s: Any) -> list[CheckMessage]:
    backend = s.STORAGES.get("default", {}).get("BACKEND", "")
    if backend.endswith("FileSystemStorage"):
        return [
            Error(
                "Uploads (model artefacts, evidence) are stored on this process's local disk, so web "
                "processes are not stateless and a second server cannot serve them.",
                hint="Set AWS_STORAGE_BUCKET_NAME (and AWS_S3_ENDPOINT_URL for an S3-compatible store).",
                id="agora.E012",
            )
        ]
    return []


def _metrics_problems(s: Any) -> list[CheckMessage]:
    if not str(getattr(s, "METRICS_BEARER_TOKEN", "") or "").strip():
        return [
            Error(
                "METRICS_BEARER_TOKEN is empty: only staff sessions could read /metrics, not the scraper.",
                hint="Set a long random token and give it to Prometheus as its bearer token.",
                id="agora.E013",
            )
        ]
    return []


def development_defaults(s: Any) -> list[CheckMessage]:
    """Every development default `s` (a settings object) still carries; empty when production-ready."""
    return [
        *_database_problems(s),
        *_cache_problems(s),
        *_celery_problems(s),
        *_chain_problems(s),
        *_stripe_problems(s),
        *_secret_problems(s),
        *_email_problems(s),
        *_storage_problems(s),
        *_metrics_problems(s),
    ]


@register(Tags.security, PRODUCTION_TAG)
def check_development_defaults(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    from django.conf import settings

    if not getattr(settings, "AGORA_REFUSE_DEVELOPMENT_DEFAULTS", False):
        return []
    return development_defaults(settings)


def refuse_development_defaults(messages: Iterable[CheckMessage] | None = None) -> None:
    """Raise ImproperlyConfigured when a production process would start on a development default.

    `manage.py` commands run the checks themselves; the WSGI/ASGI application and Celery workers
    do not, so they call this once at start.
    """
    found = list(_run_checks(tags=[PRODUCTION_TAG]) if messages is None else messages)
    errors = [m for m in found if m.is_serious()]
    if errors:
        lines = "\n".join(f"  {m.id}: {m.msg} {m.hint}" for m in errors)
        raise ImproperlyConfigured(f"Refusing to start on development defaults:\n{lines}")


# Whatever the settings module: `check --deploy` also refuses rate limits counted per process.
REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"


@register(Tags.caches, Tags.security, deploy=True)
def rate_limits_need_redis(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """API throttles and allauth's login limits count in the default cache. Anything but Redis
    gives each web process its own count: N processes allow N times the limit."""
    from django.conf import settings

    if settings.CACHES["default"]["BACKEND"] == REDIS_CACHE:
        return []
    return [
        Error(
            "Rate limits (API throttles, login limits) need the default cache on Redis.",
            hint="Set REDIS_URL so every web process shares one count.",
            id="core.E001",
        )
    ]
