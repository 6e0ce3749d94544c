"""Celery tasks of metered inference: primitive arguments in, one service call."""

from __future__ import annotations

from celery import shared_task

from compute.services.metering import reservations_release
from compute.services.settlement import metering_settle


@shared_task(name="compute.settle_inference", acks_late=True)
def settle_inference() -> dict[str, int]:
    """Store the request log from the stream and settle served prepaid calls in batches."""
    return metering_settle()


@shared_task(name="compute.release_reservations", acks_late=True)
def release_reservations() -> int:
    """Return unused prepaid reservations (whole cents) to the buyers' wallets."""
    return reservations_release()
