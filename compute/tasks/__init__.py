"""Celery autodiscovery imports this package: each module's tasks register on import."""

from __future__ import annotations

from compute.tasks import batch, health, metering, pricing, sla  # noqa: F401
