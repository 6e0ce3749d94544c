"""Celery tasks of payouts: the scheduled (weekly, no-fee) run, and AGR payouts' status sync.

Both services are idempotent (the scheduled run once per user, account, asset and period; the
sync only moves processing payouts whose transfer is settled), so a duplicate delivery or a run
every hour changes nothing twice. Schedules (config/settings/celery.py):
`tokenomics.run_scheduled_payouts` hourly (it pays each period once, whenever it first runs in it)
and `tokenomics.sync_payouts` every minute, after `tokenomics.chain_process_payouts`.
"""

from __future__ import annotations

from celery import shared_task

from tokenomics.services.payouts import payouts_run_scheduled, payouts_sync_chain


@shared_task(name="tokenomics.run_scheduled_payouts", acks_late=True)
def run_scheduled_payouts() -> dict[str, int]:
    """Pay out every creator and provider payable balance at or above the minimum, once a period."""
    run = payouts_run_scheduled()
    return {"period": run.period, "created": run.created, "existing": run.existing, "skipped": run.skipped}


@shared_task(name="tokenomics.sync_payouts", acks_late=True)
def sync_payouts() -> dict[str, int]:
    """Mark AGR payouts paid or failed once their on-chain transfer is confirmed or reverted."""
    sync = payouts_sync_chain()
    return {"paid": sync.paid, "failed": sync.failed}
