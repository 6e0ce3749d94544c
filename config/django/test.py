"""The test suite: PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set, embedded defaults otherwise."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

# Under pytest-xdist each worker ("gw0", "gw1", ...) gets its own Redis database, the suite's
# database plus the worker's number, as pytest-django gives each its own PostgreSQL database: the
# suite flushes its cache database between tests. The environment is rewritten before the settings
# read it so that the children a test starts (a Celery worker, gunicorn) inherit the same database;
# the marker keeps a child that loads these settings again from moving it twice.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if (
    _worker.startswith("gw")
    and os.environ.get("REDIS_URL")
    and os.environ.get("AGORA_XDIST_REDIS") != _worker
):
    _url = urlsplit(os.environ["REDIS_URL"])
    _db = int(_url.path.strip("/") or 0) + int(_worker[2:])
    os.environ["REDIS_URL"] = urlunsplit(_url._replace(path=f"/{_db}"))
    os.environ["AGORA_XDIST_REDIS"] = _worker

from config.django.base import *  # noqa: E402, F403
from config.django.base import CACHES  # noqa: E402
from config.env import env  # noqa: E402

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="test-only-secret-key-not-for-production-use-0123456789")
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
# allauth's rate limits count per client address; the suite signs up many users from one.
ACCOUNT_RATE_LIMITS = False
if "KEY_PREFIX" in CACHES["default"]:
    CACHES["default"]["KEY_PREFIX"] = "agora-test"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# The suite makes many API calls from one address within a minute; the rate-limit tests set the
# production limits themselves (config.settings.security).
API_RATE_LIMITS = {"user": "100000/minute", "ip": "100000/minute", "auth_failure": "100000/minute"}
