"""Celery autodiscovery imports this package: each module's tasks register on import."""

from __future__ import annotations

from compute.tasks import health, metering, sla  # noqa: F401
