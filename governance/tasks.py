"""Celery tasks of governance: one service call each (schedule in config/settings/celery.py)."""

from __future__ import annotations

from celery import shared_task

from governance.services.proposals import proposals_tick


@shared_task(name="governance.tick", acks_late=True)
def tick() -> dict[str, int]:
    """Queue passed proposals, execute due ones (never before the ETA), settle ended bonds."""
    return proposals_tick()
