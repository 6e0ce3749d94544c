"""Celery: Redis is the broker when REDIS_URL is set. Without it, tests run tasks eagerly in-process
(memory://), while `make demo` (config.django.local) uses an embedded broker: kombu's filesystem
transport, folders under `.demo/celery/`, shared by the web server, a worker and beat on one
machine (`filesystem_broker`), so the demo runs its periodic work as production does."""

from __future__ import annotations

from pathlib import Path

from config.env import env
from config.settings.cache import REDIS_URL
from config.settings.stripe import STRIPE_RECONCILE_SECONDS

# https://docs.celeryq.dev/en/stable/userguide/configuration.html
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool(
    "CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL.startswith(("redis", "amqp"))
)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Periodic tasks are listed here, one place, each with its schedule (ARCHITECTURE.md).
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Escrow releases when the 7-day refund window (or a subscription period) closes; five minutes
    # late at most. The one task releasing escrowed money: orders follow through the escrow hook.
    "release-due-escrows": {"task": "tokenomics.release_due_escrows", "schedule": 300.0},
    # Stripe events the webhook missed (an outage, a lost enqueue) are backfilled and applied once.
    "reconcile-stripe": {"task": "tokenomics.stripe_reconcile", "schedule": float(STRIPE_RECONCILE_SECONDS)},
    # AGR transfers to the deposit address that no client reported, and payouts still to send.
    "chain-scan-transfers": {"task": "tokenomics.chain_scan_transfers", "schedule": 60.0},
    "chain-process-payouts": {"task": "tokenomics.chain_process_payouts", "schedule": 60.0},
    # Subscriptions whose period ended renew from the prepaid balance or lapse (access revoked).
    "renew-subscriptions": {"task": "marketplace.renew_subscriptions", "schedule": 300.0},
    # Buyers renewing from their prepaid or AGR balance get one reminder a period, within
    # SUBSCRIPTION_RENEWAL_REMINDER_DAYS of the renewal (checked hourly).
    "remind-renewals": {"task": "marketplace.remind_renewals", "schedule": 3600.0},
    # Trending (weighted sales of the last 7 and 30 days) orders the catalog's default browse.
    "refresh-trending": {"task": "marketplace.refresh_trending", "schedule": 900.0},
    # Creator and provider payables paid out without fee once per payout.schedule_seconds period
    # (checked hourly; each period pays each balance once).
    "run-scheduled-payouts": {"task": "tokenomics.run_scheduled_payouts", "schedule": 3600.0},
    # AGR payouts marked paid or failed once their on-chain transfer is confirmed or reverted.
    "sync-payouts": {"task": "tokenomics.sync_payouts", "schedule": 60.0},
    # Weekly revenue-distribution epochs: each closes once, at the first run after its end.
    "close-due-epochs": {"task": "tokenomics.close_due_epochs", "schedule": 3600.0},
    # Dynamic compute prices (demand against healthy capacity, supply of healthy nodes) are
    # recomputed and cached, so a quoted price is the price charged until the next refresh.
    "refresh-prices": {"task": "compute.refresh_prices", "schedule": 15.0},
    # Unstaked AGR returns to the wallet once its cool-down has ended.
    "release-unstaked": {"task": "tokenomics.release_unstaked", "schedule": 300.0},
    # What the ledger burned goes to the burn address on chain, one batch at a time.
    "chain-process-burns": {"task": "tokenomics.chain_process_burns", "schedule": 3600.0},
    # Governance: passed proposals queued, queued ones executed once their ETA has passed, bonds
    # of ended proposals settled (a minute late at most; the ETA is checked under the row lock).
    "governance-tick": {"task": "governance.tick", "schedule": 60.0},
    # The gateway's request log leaves Redis for the database, and served prepaid calls are
    # billed to the ledger in batches (no posting per call); a killed run is redone exactly once.
    "settle-inference": {"task": "compute.settle_inference", "schedule": 10.0},
    # Every node is probed at least every 10 s (routing treats a status older than 30 s as unhealthy).
    "probe-nodes": {"task": "compute.probe_nodes", "schedule": 10.0},
    # Unused prepaid reservations go back to the buyers' wallets.
    "release-reservations": {"task": "compute.release_reservations", "schedule": 3600.0},
    # SLA slashing: each provider's last whole UTC day is judged from the measured history (checked
    # hourly; a day is judged once per provider: the slash's idempotency key is the day's end).
    "evaluate-sla": {"task": "compute.evaluate_sla", "schedule": 3600.0},
    # Reputation: each provider's trust score over the 90 days to the last UTC midnight is stored
    # as that day's snapshot (checked hourly; a day is scored once per provider).
    "snapshot-trust-scores": {"task": "compute.snapshot_trust_scores", "schedule": 3600.0},
}


def filesystem_broker(root: Path) -> dict[str, object]:
    """Transport options of kombu's `filesystem://` broker in `root`: one folder of messages that
    producers write and the worker reads (so both sides share a single setting), one for the
    exchange tables of fanout (Celery's remote control), none kept once processed. The folders are
    created here: the transport expects them to exist."""
    messages, control = root / "messages", root / "control"
    for folder in (messages, control):
        folder.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(messages),
        "data_folder_out": str(messages),
        "control_folder": str(control),
        "store_processed": False,
    }
