"""Celery tasks of the money app: primitive arguments in, one service call, retry policy here."""

from __future__ import annotations

from celery import shared_task

from tokenomics.services.escrow import escrows_release_due


@shared_task(name="tokenomics.release_due_escrows", acks_late=True)
def release_due_escrows() -> int:
    """Release held payments whose refund window has closed (frozen ones wait for staff)."""
    return escrows_release_due()
