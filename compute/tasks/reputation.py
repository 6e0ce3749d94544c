"""Celery task of reputation: one service call."""

from __future__ import annotations

from celery import shared_task

from compute.services.reputation import trust_scores_snapshot


@shared_task(name="compute.snapshot_trust_scores", acks_late=True)
def snapshot_trust_scores() -> dict[str, int]:
    """Store every provider's trust score for the last whole UTC day (once a day each)."""
    return trust_scores_snapshot()
