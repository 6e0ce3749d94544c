"""Celery autodiscovery imports this package: each module's tasks register on import."""

from __future__ import annotations

from compute.tasks import batch, health, metering, pricing, reputation, sla  # noqa: F401
