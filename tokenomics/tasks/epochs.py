"""Celery tasks of revenue epochs and burns: one service call each, retry policy here.

Schedules (config/settings/celery.py): `tokenomics.close_due_epochs` hourly (an epoch lasts a week;
the task closes each one once, whenever it first runs after its end) and
`tokenomics.chain_process_burns` hourly (one batched transfer to the burn address at a time).
"""

from __future__ import annotations

from celery import shared_task

from tokenomics.services.burns import chain_burns_process
from tokenomics.services.epochs import epochs_close_due
from tokenomics.tasks.chain import RETRY


@shared_task(name="tokenomics.close_due_epochs", acks_late=True)
def close_due_epochs() -> list[int]:
    """Distribute and emit for every epoch that has ended; the numbers of those closed now."""
    return [epoch.number for epoch in epochs_close_due()]


@shared_task(name="tokenomics.chain_process_burns", **RETRY)
def chain_process_burns() -> dict[str, int | str]:
    """Send what the ledger burned to the burn address, batched, and follow it to confirmation."""
    run = chain_burns_process()
    return {"batched": str(run.batched), "confirmed": run.confirmed, "failed": run.failed}


__all__ = ["chain_process_burns", "close_due_epochs"]
