"""Celery tasks of the AGR rail: Transfer-log scans, payment verification and payout sending.

A node that cannot be reached (`ChainUnavailable`) is retried with exponential backoff; every
service called here is idempotent, so a retry or a duplicate delivery changes nothing twice.
Schedules (config/settings/celery.py): `tokenomics.chain_scan_transfers` and
`tokenomics.chain_process_payouts`, each every minute.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from tokenomics.chain_client import ChainUnavailable
from tokenomics.errors import PaymentNotVerified
from tokenomics.services.chain_payouts import chain_payout_send, chain_payouts_process
from tokenomics.services.chain_rail import agr_payment_verify
from tokenomics.services.chain_scan import transfers_scan_recent

RETRY = {
    "autoretry_for": (ChainUnavailable,),
    "retry_backoff": 5,  # seconds, doubled per attempt
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
    "acks_late": True,
}
# A payment not yet mined or not deep enough is looked at again this often, this many times.
VERIFY_COUNTDOWN_SECONDS = 15
VERIFY_MAX_ATTEMPTS = 40


@shared_task(name="tokenomics.chain_scan_transfers", **RETRY)
def chain_scan_transfers() -> dict[str, int]:
    """Credit or record AGR Transfer logs to the deposit address since the last scan."""
    result = transfers_scan_recent()
    return {"credited": result.credited, "unmatched": result.unmatched, "to_block": result.to_block}


@shared_task(name="tokenomics.chain_process_payouts", **RETRY)
def chain_process_payouts() -> dict[str, int]:
    """Sign, (re-)broadcast and confirm every open AGR payout."""
    run = chain_payouts_process()
    return {
        "signed": run.signed,
        "broadcast": run.broadcast,
        "confirmed": run.confirmed,
        "failed": run.failed,
    }


@shared_task(name="tokenomics.chain_payout_send", **RETRY)
def chain_payout_send_task(payout_id: int) -> str:
    """Sign and broadcast one payout (enqueue on commit after chain_payout_create)."""
    return chain_payout_send(payout_id=payout_id).status


@shared_task(bind=True, name="tokenomics.chain_payment_verify", **RETRY)
def chain_payment_verify(self: Any, payment_id: int, tx_hash: str) -> str:
    """Verify a submitted transaction hash; checks that may pass later (not mined, not deep
    enough) are tried again; a definitive rejection ends the task with its reason."""
    try:
        return agr_payment_verify(payment_id=payment_id, tx_hash=tx_hash).payment.status
    except PaymentNotVerified as exc:
        if exc.retryable and self.request.retries < VERIFY_MAX_ATTEMPTS:
            raise self.retry(countdown=VERIFY_COUNTDOWN_SECONDS, max_retries=VERIFY_MAX_ATTEMPTS) from exc
        return f"rejected:{exc.reason}"
