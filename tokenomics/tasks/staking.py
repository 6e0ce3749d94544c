"""Celery task of staking: one service call."""

from __future__ import annotations

from celery import shared_task

from tokenomics.services.staking import unstakes_release_due


@shared_task(name="tokenomics.release_unstaked", acks_late=True)
def release_unstaked() -> int:
    """Release to wallets the unstaked AGR whose cool-down has ended."""
    return unstakes_release_due()
