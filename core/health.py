"""Readiness probes for /healthz: each returns "ok", "eager" (no broker configured) or an error."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.cache import cache
from django.db import connection


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # a probe reports every failure rather than raising
        return f"error: {type(exc).__name__}"
    return "ok"


def cache_status() -> str:
    key = f"healthz:{secrets.token_hex(8)}"
    try:
        cache.set(key, "1", timeout=5)
        ok = cache.get(key) == "1"
        cache.delete(key)
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok" if ok else "error: read-back mismatch"


def broker_status() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"
