"""Celery tasks of the catalog: primitive arguments in, one service call, retry policy here."""

from __future__ import annotations

from celery import shared_task

from marketplace.services.search import listings_trending_refresh


@shared_task(name="marketplace.refresh_trending", acks_late=True)
def refresh_trending() -> int:
    """Recompute every listing's trending score from recent sales; returns how many changed."""
    return listings_trending_refresh()
