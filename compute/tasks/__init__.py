"""Celery autodiscovery imports this package: each module's tasks register on import."""

from __future__ import annotations

from compute.tasks import health, metering, pricing  # noqa: F401
