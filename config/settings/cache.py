"""Cache and sessions: Redis when REDIS_URL is set (shared by every web process), memory otherwise."""

from __future__ import annotations

from config.env import env

REDIS_URL: str = env.str("REDIS_URL", default="")

if REDIS_URL:
    # https://docs.djangoproject.com/en/5.2/topics/cache/#redis
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("DJANGO_CACHE_KEY_PREFIX", default="agora"),
        }
    }
    # Sessions live in Redis so that web processes keep no state of their own.
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "agora",
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.db"
