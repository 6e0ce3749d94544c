"""The Stripe rail's events and reconciliation: events stored under their unique id before anything
else, processed by re-fetching the object and applying its current state once; `stripe_reconcile`
backfills what the webhook missed (see tokenomics.services.stripe_rail)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.enqueue import task_on_commit
from tokenomics import stripe_client
from tokenomics.errors import (
    PaymentProviderUnavailable,
    TokenomicsError,
    WebhookPayloadInvalid,
    WebhookSignatureInvalid,
)
from tokenomics.models import (
    Payment,
    PaymentRefund,
    Rail,
    StripeEvent,
)
from tokenomics.models.rails import PaymentStatus
from tokenomics.services.stripe_rail import (
    EVENT_DONE_STATUSES,
    MAX_EVENT_ATTEMPTS,
    UNAVAILABLE_PREFIX,
    from_unix,
    logger,
    payment_intent_apply,
    payment_intent_sync,
)
from tokenomics.services.stripe_refunds import payment_refund_submit, refund_apply
from tokenomics.services.stripe_subscriptions import invoice_apply, subscription_apply

# ---------------------------------------------------------------- events

StripeState = (
    stripe_client.PaymentIntent | stripe_client.Refund | stripe_client.Subscription | stripe_client.Invoice
)

_REFUND_EVENTS = frozenset({"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"})
_INVOICE_EVENTS = frozenset({"invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed"})


def stripe_event_handled(event_type: str) -> bool:
    """Whether events of this type change anything here (others are stored as ignored)."""
    return (
        event_type.startswith(("payment_intent.", "customer.subscription."))
        or event_type in _REFUND_EVENTS
        or event_type in _INVOICE_EVENTS
        or event_type == "charge.refunded"
    )


def _invoice_subscription_id(invoice: dict[str, Any]) -> str | None:
    sub = invoice.get("subscription")
    if sub is None:  # API versions since 2025-03-31 moved it under `parent`
        sub = ((invoice.get("parent") or {}).get("subscription_details") or {}).get("subscription")
    if isinstance(sub, dict):
        sub = sub.get("id")
    return str(sub) if sub else None


def _fetch_current(event_type: str, obj: dict[str, Any]) -> list[StripeState]:
    """The current state at Stripe of what the event is about (network; no transaction open)."""
    object_id = str(obj.get("id") or "")
    if not object_id:
        return []  # nothing to re-fetch: ignored, with a note
    if event_type.startswith("payment_intent."):
        return [stripe_client.payment_intent_retrieve(payment_intent_id=object_id)]
    if event_type in _REFUND_EVENTS:
        return [stripe_client.refund_retrieve(refund_id=object_id)]
    if event_type == "charge.refunded":
        intent_id = obj.get("payment_intent")
        intent_id = intent_id.get("id") if isinstance(intent_id, dict) else intent_id
        return list(stripe_client.refund_list(payment_intent_id=str(intent_id))) if intent_id else []
    if event_type.startswith("customer.subscription."):
        return [stripe_client.subscription_retrieve(subscription_id=object_id)]
    if event_type in _INVOICE_EVENTS:
        sub_id = _invoice_subscription_id(obj)
        if not sub_id:
            return []
        # The subscription first (its status and period), then the invoice, whose outcome wins.
        return [
            stripe_client.subscription_retrieve(subscription_id=sub_id),
            stripe_client.invoice_retrieve(invoice_id=object_id),
        ]
    return []


def _apply_states(states: Sequence[StripeState]) -> tuple[StripeEvent.Status, str]:
    notes = []
    applied = False
    for state in states:
        if isinstance(state, stripe_client.PaymentIntent):
            note = payment_intent_apply(state)
        elif isinstance(state, stripe_client.Refund):
            note = refund_apply(state)
        elif isinstance(state, stripe_client.Invoice):
            note = invoice_apply(state)
        else:
            note = subscription_apply(state)
        applied = applied or not note
        if note:
            notes.append(note)
    if applied:
        return StripeEvent.Status.PROCESSED, ""
    return StripeEvent.Status.IGNORED, "; ".join(notes) or "nothing at Stripe to apply"


@dataclass(frozen=True)
class EventReceived:
    event: StripeEvent
    created: bool  # False for a repeat delivery (nothing new was stored)


def stripe_webhook_receive(*, payload: bytes, signature_header: str | None) -> EventReceived:
    """Verify a webhook delivery against each secret in STRIPE_WEBHOOK_SECRETS (rotation) within
    the tolerance either way, then store its event (stripe_event_ingest). Raises
    WebhookSignatureInvalid or WebhookPayloadInvalid, having stored nothing."""
    try:
        event = stripe_client.webhook_event_construct(
            payload=payload,
            signature_header=signature_header,
            secrets=settings.STRIPE_WEBHOOK_SECRETS,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
        )
    except stripe_client.WebhookInvalid as exc:
        if exc.code == "payload_invalid":
            raise WebhookPayloadInvalid(exc.message) from exc
        raise WebhookSignatureInvalid(exc.message) from exc
    return stripe_event_ingest(event=event)


# One statement stores an event or finds its id taken, on both databases (SQLite 3.35+ and
# PostgreSQL): no savepoint, no IntegrityError to recover from, which keeps the webhook fast. Only
# the table and column names are interpolated (hence the noqa).
_EVENT_COLUMNS = (
    "created_at",
    "updated_at",
    "event_id",
    "type",
    "object_id",
    "stripe_created",
    "payload",
    "status",
)
_EVENT_FIELDS = sorted(
    (f for f in StripeEvent._meta.concrete_fields if f.name in _EVENT_COLUMNS),
    key=lambda f: _EVENT_COLUMNS.index(f.name),
)
_INSERT_EVENT = (
    f"INSERT INTO {StripeEvent._meta.db_table} ({', '.join(_EVENT_COLUMNS)}, attempts, error) "  # noqa: S608
    f"VALUES ({', '.join(['%s'] * len(_EVENT_COLUMNS))}, 0, %s) "
    "ON CONFLICT (event_id) DO NOTHING RETURNING id"
)


def event_store(event: stripe_client.Event) -> tuple[StripeEvent, bool]:
    """Insert the event row under its unique id, or return the row stored first (a concurrent
    insert of the same id waits on the unique index, then finds it taken)."""
    handled = stripe_event_handled(event.type)
    now = timezone.now()
    row = StripeEvent(
        created_at=now,
        updated_at=now,
        event_id=event.id,
        type=event.type[:100],
        object_id=event.object_id[:255],
        stripe_created=from_unix(event.created),
        payload=event.payload,
        status=StripeEvent.Status.RECEIVED if handled else StripeEvent.Status.IGNORED,
        error="" if handled else f"type {event.type} is not handled",
    )
    values = [field.get_db_prep_save(getattr(row, field.attname), connection) for field in _EVENT_FIELDS]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_EVENT, [*values, row.error])
        inserted = cursor.fetchone()
    if inserted is None:
        return StripeEvent.objects.get(event_id=event.id), False
    row.pk = int(inserted[0])
    row._state.adding = False
    row._state.db = connection.alias
    return row, True


def stripe_event_ingest(*, event: stripe_client.Event) -> EventReceived:
    """Store an event under its unique Stripe id with status received (ignored for types not
    handled) and, once committed, queue its processing. A repeat stores nothing; it queues the
    processing again only while the event is not yet processed. No Stripe call."""
    row, created = event_store(event)
    if row.status in (StripeEvent.Status.RECEIVED, StripeEvent.Status.FAILED):
        # After the row is committed (at once in autocommit, else with the caller's transaction).
        # robust: a broker hiccup must not turn a stored delivery into a 500; reconciliation picks
        # up events left received.
        task_on_commit("tokenomics.stripe_process_event", row.event_id)
    return EventReceived(event=row, created=created)


def _event_fail(pk: int, error: str) -> StripeEvent:
    StripeEvent.objects.filter(pk=pk).exclude(status__in=EVENT_DONE_STATUSES).update(
        status=StripeEvent.Status.FAILED,
        error=error[:4000],
        attempts=F("attempts") + 1,
        updated_at=timezone.now(),
    )
    return StripeEvent.objects.get(pk=pk)


def stripe_event_process(*, event_id: str) -> StripeEvent:
    """Apply a stored event exactly once. Its object is re-fetched from Stripe first (no transaction
    open), then, with the event row locked, the object's current state is applied and the row
    marked processed (or ignored) in the same transaction: a repeat, a concurrent worker or a late
    stale copy finds it done or finds nothing left to change. Raises PaymentProviderUnavailable
    when Stripe cannot be reached (the event is marked failed, to be retried); a business
    conflict (money for a canceled payment...) marks it failed with the error and returns it."""
    row = StripeEvent.objects.get(event_id=event_id)
    if row.status in EVENT_DONE_STATUSES:
        return row
    if not stripe_event_handled(row.type):
        StripeEvent.objects.filter(pk=row.pk).exclude(status__in=EVENT_DONE_STATUSES).update(
            status=StripeEvent.Status.IGNORED,
            error=f"type {row.type} is not handled",
            updated_at=timezone.now(),
        )
        return StripeEvent.objects.get(pk=row.pk)
    obj = ((row.payload or {}).get("data") or {}).get("object") or {}
    try:
        states = _fetch_current(row.type, obj)
    except stripe_client.StripeUnavailable as exc:
        _event_fail(row.pk, f"{UNAVAILABLE_PREFIX}{exc.message}")
        raise PaymentProviderUnavailable(detail={"event": event_id, "stripe": exc.message}) from exc
    except stripe_client.StripeRejected as exc:  # e.g. 404: not an object of this account
        return _event_fail(row.pk, f"Stripe refused the re-fetch: {exc.message}")
    try:
        with transaction.atomic(durable=True):
            locked = (
                StripeEvent.objects.select_for_update()
                .only("status", "error", "attempts", "processed_at", "updated_at")
                .get(pk=row.pk)
            )
            if locked.status in EVENT_DONE_STATUSES:
                return locked
            status, note = _apply_states(states)
            locked.status = status
            locked.error = note
            locked.attempts += 1
            locked.processed_at = timezone.now()
            locked.save(update_fields=["status", "error", "attempts", "processed_at", "updated_at"])
            return locked
    except TokenomicsError as exc:
        logger.warning("Stripe event %s failed: %s %s", event_id, exc.code, exc.message)
        return _event_fail(row.pk, f"{exc.code}: {exc.message} {exc.detail}")
    except Exception as exc:  # a bug or a database error: recorded, then retried by the task
        _event_fail(row.pk, f"{type(exc).__name__}: {exc}")
        raise


# ---------------------------------------------------------------- reconciliation


@dataclass(frozen=True)
class ReconcileReport:
    events_listed: int  # handled events Stripe listed in the window
    events_stored: int  # of those, how many were new here (missed by the webhook)
    events_processed: int  # stored events processed now (new ones and earlier failures)
    events_failed: int
    payments_synced: int  # open card payments re-fetched and applied
    refunds_synced: int  # pending refunds sent again or re-fetched


def stripe_reconcile(*, since: datetime | None = None) -> ReconcileReport:
    """Backfill what webhooks missed: store every handled event Stripe lists since `since` (default
    STRIPE_RECONCILE_LOOKBACK_SECONDS ago) that is not stored yet, process every stored event still
    received or failed, re-fetch open card payments and settle pending refunds. Safe to run at any
    time and concurrently with webhooks: everything it applies is applied once. Calls Stripe;
    raises PaymentProviderUnavailable if the event list cannot be read."""
    now = timezone.now()
    since = since or now - timedelta(seconds=settings.STRIPE_RECONCILE_LOOKBACK_SECONDS)
    listed = stored = 0
    try:
        for event in stripe_client.event_list(created_gte=int(since.timestamp())):
            if not stripe_event_handled(event.type):
                continue
            listed += 1
            stored += event_store(event)[1]
    except stripe_client.StripeUnavailable as exc:
        raise PaymentProviderUnavailable(detail={"stripe": exc.message}) from exc

    processed = failed = 0
    retry_failed = Q(attempts__lt=MAX_EVENT_ATTEMPTS) | Q(
        error__startswith=UNAVAILABLE_PREFIX, created_at__gte=since
    )
    pending = (
        StripeEvent.objects.filter(
            Q(status=StripeEvent.Status.RECEIVED) | (Q(status=StripeEvent.Status.FAILED) & retry_failed)
        )
        .order_by("stripe_created", "pk")
        .values_list("event_id", flat=True)
    )
    for event_id in list(pending):
        try:
            done = stripe_event_process(event_id=event_id)
        except PaymentProviderUnavailable:
            failed += 1
            continue
        if done.status in EVENT_DONE_STATUSES:
            processed += 1
        else:
            failed += 1

    payments_synced = 0
    open_payments = Payment.objects.filter(
        rail=Rail.CARD,
        stripe_payment_intent_id__isnull=False,
        status__in=[PaymentStatus.AWAITING, PaymentStatus.PROCESSING, PaymentStatus.FAILED],
        created_at__gte=since,
    ).values_list("stripe_payment_intent_id", flat=True)
    for intent_id in list(open_payments):
        try:
            payment_intent_sync(
                intent=stripe_client.payment_intent_retrieve(payment_intent_id=str(intent_id))
            )
            payments_synced += 1
        except (stripe_client.StripeClientError, TokenomicsError) as exc:
            logger.warning("reconciling %s failed: %s", intent_id, exc)

    refunds_synced = 0
    for refund in list(
        PaymentRefund.objects.filter(status=PaymentRefund.Status.PENDING).select_related("payment")
    ):
        try:
            if refund.stripe_refund_id is None:
                payment_refund_submit(refund_id=refund.pk)
            else:
                remote = stripe_client.refund_retrieve(refund_id=refund.stripe_refund_id)
                with transaction.atomic(durable=True):
                    refund_apply(remote)
            refunds_synced += 1
        except (stripe_client.StripeClientError, TokenomicsError) as exc:
            logger.warning("reconciling refund %s failed: %s", refund.pk, exc)

    return ReconcileReport(
        events_listed=listed,
        events_stored=stored,
        events_processed=processed,
        events_failed=failed,
        payments_synced=payments_synced,
        refunds_synced=refunds_synced,
    )


__all__ = [
    "EventReceived",
    "ReconcileReport",
    "WebhookPayloadInvalid",
    "WebhookSignatureInvalid",
    "stripe_event_handled",
    "stripe_event_ingest",
    "stripe_event_process",
    "stripe_reconcile",
    "stripe_webhook_receive",
]
