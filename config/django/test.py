"""The test suite: PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set, embedded defaults otherwise."""

from __future__ import annotations

from config.django.base import *  # noqa: F403
from config.django.base import CACHES
from config.env import env

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
