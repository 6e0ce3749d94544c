"""Celery task of SLA slashing: one service call."""

from __future__ import annotations

from celery import shared_task

from compute.services.sla import sla_evaluate_day


@shared_task(name="compute.evaluate_sla", acks_late=True)
def evaluate_sla() -> dict[str, int]:
    """Judge every provider's last whole UTC day from the measured history (once a day each)."""
    return sla_evaluate_day()
