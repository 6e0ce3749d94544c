"""`make demo` and local development: DEBUG on, console email, no services required."""

from __future__ import annotations

import secrets
from pathlib import Path

from config.django.base import *  # noqa: F403
from config.env import BASE_DIR, env
from config.settings.celery import CELERY_BROKER_URL, filesystem_broker

DEBUG = env.bool("DJANGO_DEBUG", default=True)


def _local_secret_key() -> str:
    # Generated once per checkout and kept out of git, so no secret ever lives in code.
    path = BASE_DIR / ".demo" / "secret_key"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or _local_secret_key()
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Without REDIS_URL (or an explicit CELERY_BROKER_URL) the demo's Celery broker is kombu's
# filesystem transport under .demo/celery: `make demo` starts a worker with beat on it, so tasks
# run in the background and periodic work runs, as in production (nothing runs eagerly). The demo
# loaders set CELERY_TASK_ALWAYS_EAGER=true for their one-shot run (Makefile).
if CELERY_BROKER_URL == "memory://":
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker(
        Path(env.str("CELERY_FILESYSTEM_BROKER_DIR", default="") or BASE_DIR / ".demo" / "celery")
    )
    CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
    # One consumer on one machine: no remote-control chatter between workers.
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
