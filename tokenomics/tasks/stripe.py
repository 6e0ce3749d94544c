"""Celery tasks of the Stripe rail: event processing and reconciliation."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from tokenomics.errors import PaymentProviderUnavailable
from tokenomics.services.stripe_events import stripe_event_process, stripe_reconcile

# Stripe outages are usually minutes: 10 s, 20 s, 40 s... capped at 10 minutes; after that the
# reconciliation task picks the event up again.
MAX_RETRIES = 8


@shared_task(name="tokenomics.stripe_process_event", bind=True, acks_late=True, max_retries=MAX_RETRIES)
def process_stripe_event(self: Any, event_id: str) -> str:
    """Apply one stored Stripe event (once, whatever the repetition); retried while Stripe is away."""
    try:
        return str(stripe_event_process(event_id=event_id).status)
    except PaymentProviderUnavailable as exc:
        raise self.retry(exc=exc, countdown=min(600, 10 * 2**self.request.retries)) from exc


@shared_task(name="tokenomics.stripe_reconcile", acks_late=True)
def reconcile_stripe() -> dict[str, int]:
    """Backfill events the webhook missed and settle payments and refunds still in flight."""
    report = stripe_reconcile()
    return dict(report.__dict__)
