"""Celery autodiscovery imports this package: each module's tasks register on import."""

from __future__ import annotations

from marketplace.tasks import catalog, orders  # noqa: F401
