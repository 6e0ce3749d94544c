"""System checks for deployment (`manage.py check --deploy`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"


@register(Tags.caches, Tags.security, deploy=True)
def rate_limits_need_redis(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """API throttles and allauth's login limits count in the default cache. Anything but Redis
    gives each web process its own count: N processes allow N times the limit."""
    if settings.CACHES["default"]["BACKEND"] == REDIS_CACHE:
        return []
    return [
        Error(
            "Rate limits (API throttles, login limits) need the default cache on Redis.",
            hint="Set REDIS_URL so every web process shares one count.",
            id="core.E001",
        )
    ]
