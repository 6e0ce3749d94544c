"""Celery task of dynamic pricing: one service call."""

from __future__ import annotations

from celery import shared_task

from compute.services.pricing import prices_refresh


@shared_task(name="compute.refresh_prices", acks_late=True, expires=15)
def refresh_prices() -> int:
    """Recompute and cache every published listing's demand multiplier and supply factor."""
    return prices_refresh()
