"""The Stripe rail: customers, card payments (PaymentIntents), refunds, subscriptions, and the events
through which Stripe tells us what happened.

Two rules make every effect happen once, whatever Stripe or the network does:

- **Writes to Stripe** carry an idempotency key derived from a row committed before the call
  (`payment-<pk>-intent`, `refund-<pk>`, `subscription-<pk>-...`, `customer-user-<pk>`), so a
  retry after a lost response is answered with the first result instead of acting twice.
- **Events** are stored under their unique Stripe id with a status before anything else
  (`stripe_event_ingest`). Processing re-fetches the object from Stripe, outside any transaction,
  and applies its *current* state in one transaction with the event row locked: crediting is keyed
  by the PaymentIntent (`stripe:pi:<id>`), status changes only move forward, and a refund's ledger
  movement is keyed by the refund row. So duplicates, reordering and a late stale copy all end in
  the state that in-order delivery gives (RELIABILITY-ANCHORS.md S2, S3).

`stripe_reconcile` (a Celery beat task) lists recent events from Stripe and processes any not yet
stored, and re-syncs card payments and refunds still in flight, so a webhook outage loses nothing
(S6). Only `tokenomics.stripe_client` talks to Stripe; amounts at this edge are US cents.

This module holds what the others share (the client call, the currency) and the customers and card
payments; refunds are tokenomics.services.stripe_refunds, subscriptions .stripe_subscriptions, and
the events and reconciliation .stripe_events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from tokenomics import stripe_client
from tokenomics.errors import (
    AmountInvalid,
    InvalidState,
    PaymentProviderRejected,
    PaymentProviderUnavailable,
)
from tokenomics.models import (
    LedgerTransaction,
    Payment,
    Rail,
    StripeCustomer,
    StripeEvent,
)
from tokenomics.models.rails import PaymentStatus
from tokenomics.services.payments import payment_create, payment_credit, payment_mark

logger = logging.getLogger(__name__)

CURRENCY = "usd"  # the card rail's one currency; amounts are US cents
SUBSCRIPTION_INTERVALS = ("day", "week", "month", "year")
# An event that failed this many times for a reason of ours (a business conflict, a bug) is left to
# staff, its error saying why; one that failed because Stripe was away is retried by every
# reconciliation for as long as the look-back window keeps it.
MAX_EVENT_ATTEMPTS = 8
UNAVAILABLE_PREFIX = "Stripe unavailable: "
EVENT_DONE_STATUSES = (StripeEvent.Status.PROCESSED, StripeEvent.Status.IGNORED)
SUBSCRIPTION_TERMINAL = frozenset({"canceled", "incomplete_expired"})


T = TypeVar("T")


def stripe_call(call: Callable[[], T]) -> T:
    """Call the client, turning its errors into this app's (the outcome of an unavailable call is
    unknown: the caller retries it with the same key)."""
    try:
        return call()
    except stripe_client.StripeUnavailable as exc:
        raise PaymentProviderUnavailable(detail={"stripe": exc.message}) from exc
    except stripe_client.StripeRejected as exc:
        raise PaymentProviderRejected(exc.message, detail={"stripe_code": exc.code}) from exc


def from_unix(seconds: int | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds else None


# ---------------------------------------------------------------- customers


def stripe_customer_get_or_create(*, user: User) -> StripeCustomer:
    """The user's Stripe customer, created at Stripe at most once (key "customer-user-<pk>").
    Calls Stripe when there is none yet; raises PaymentProviderUnavailable/Rejected."""
    existing = StripeCustomer.objects.filter(user=user).first()
    if existing is not None:
        return existing
    customer = stripe_call(
        lambda: stripe_client.customer_create(
            email=user.email,
            metadata={"agora_user": str(user.pk)},
            idempotency_key=f"customer-user-{user.pk}",
        )
    )
    try:
        with transaction.atomic():
            return StripeCustomer.objects.create(user=user, stripe_customer_id=customer.id)
    except IntegrityError:  # a concurrent call stored it first (the same customer, by the key)
        return StripeCustomer.objects.get(user=user)


# ---------------------------------------------------------------- card payments


@dataclass(frozen=True)
class CardPaymentStarted:
    payment: Payment
    client_secret: str  # for Stripe.js confirmCardPayment in the browser; never logged


def payment_metadata(payment: Payment) -> dict[str, str]:
    return {"agora_payment": str(payment.pk), "agora_reference": payment.reference}


# Stripe's own limits on one card charge (not economic parameters of ours).
CARD_MINIMUM_CENTS = 50
CARD_MAXIMUM_CENTS = 99_999_999


def card_amount_check(amount: int) -> None:
    """Raise AmountInvalid unless `amount` US cents is within what one card charge may be."""
    if type(amount) is int and not CARD_MINIMUM_CENTS <= amount <= CARD_MAXIMUM_CENTS:
        raise AmountInvalid(
            "A card payment is between $0.50 and $999,999.99.",
            detail={"amount": [f"Enter {CARD_MINIMUM_CENTS} to {CARD_MAXIMUM_CENTS} cents."]},
        )


def card_payment_start(
    *, user: User, purpose: str, amount: int, reference: str | None = None
) -> CardPaymentStarted:
    """Record a card payment of `amount` US cents, then (once the row is committed) create its
    PaymentIntent under key "payment-<pk>-intent" and return the client secret for Stripe.js.
    Nothing is credited here: the succeeded event does that. Raises AmountInvalid (nothing
    recorded), PaymentProviderUnavailable/Rejected (the payment stays awaiting; retry with
    card_payment_intent_ensure, which reuses the key)."""
    card_amount_check(amount)
    with transaction.atomic(durable=True):
        payment = payment_create(
            user=user, purpose=purpose, rail=Rail.CARD, amount=amount, reference=reference
        )
    return CardPaymentStarted(payment=payment, client_secret=card_payment_intent_ensure(payment=payment))


def card_payment_intent_ensure(*, payment: Payment) -> str:
    """The client secret of the payment's PaymentIntent, created at Stripe at most once (the same key
    on every call; an intent already recorded is fetched instead). Calls Stripe; raises
    InvalidState for a payment that is not an open card payment, PaymentProviderUnavailable/Rejected."""
    if payment.rail != Rail.CARD:
        raise InvalidState("Only card payments have a PaymentIntent.", detail={"payment": payment.reference})
    if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED):
        raise InvalidState(f"This payment is {payment.status}.", detail={"payment": payment.reference})
    if payment.stripe_payment_intent_id:
        intent_id = payment.stripe_payment_intent_id
        return stripe_call(
            lambda: stripe_client.payment_intent_retrieve(payment_intent_id=intent_id)
        ).client_secret
    intent = _intent_create(payment, idempotency_key=f"payment-{payment.pk}-intent")
    Payment.objects.filter(pk=payment.pk, stripe_payment_intent_id__isnull=True).update(
        stripe_payment_intent_id=intent.id, updated_at=timezone.now()
    )
    payment.stripe_payment_intent_id = intent.id
    return intent.client_secret


def _intent_create(payment: Payment, *, idempotency_key: str) -> stripe_client.PaymentIntent:
    customer = stripe_customer_get_or_create(user=payment.user)
    return stripe_call(
        lambda: stripe_client.payment_intent_create(
            amount=payment.amount,
            currency=CURRENCY,
            customer_id=customer.stripe_customer_id,
            metadata=payment_metadata(payment),
            idempotency_key=idempotency_key,
        )
    )


def card_payment_intent_for_attempt(*, payment: Payment) -> str:
    """The id of the payment's PaymentIntent, ready to take a card. After a declined attempt the
    intent is replaced: Stripe would take a new card on the same intent, but localstripe keeps the
    failed charge as the intent's latest and refuses to confirm it again. The failed intent is
    canceled (it can then never succeed) and its successor is created under a key derived from it,
    so a retried call makes the same one. Calls Stripe; raises as card_payment_intent_ensure."""
    card_payment_intent_ensure(payment=payment)
    current = str(Payment.objects.values_list("stripe_payment_intent_id", flat=True).get(pk=payment.pk))
    intent = stripe_call(lambda: stripe_client.payment_intent_retrieve(payment_intent_id=current))
    if intent.status != "requires_payment_method" or not intent.last_payment_error:
        return current
    stripe_call(
        lambda: stripe_client.payment_intent_cancel(
            payment_intent_id=current, idempotency_key=f"payment-{payment.pk}-cancel-{current}"
        )
    )
    successor = _intent_create(payment, idempotency_key=f"payment-{payment.pk}-intent-after-{current}")
    Payment.objects.filter(pk=payment.pk, stripe_payment_intent_id=current).update(
        stripe_payment_intent_id=successor.id, updated_at=timezone.now()
    )
    return str(Payment.objects.values_list("stripe_payment_intent_id", flat=True).get(pk=payment.pk))


def _payment_for_intent(intent: stripe_client.PaymentIntent) -> Payment | None:
    """Our payment for a PaymentIntent: by the reference we put in its metadata (unique, so an intent
    from another environment sharing the account never matches), else by the recorded intent id."""
    reference = intent.metadata.get("agora_reference")
    if reference:
        payment = Payment.objects.filter(reference=reference, rail=Rail.CARD).first()
        if payment is not None and intent.metadata.get("agora_payment") == str(payment.pk):
            return payment
    return Payment.objects.filter(stripe_payment_intent_id=intent.id).first()


def payment_intent_apply(intent: stripe_client.PaymentIntent) -> str:
    """Apply the intent's current state to our payment (inside the caller's transaction). Moves
    only forward: a credit is keyed by the intent, payment_mark never goes back. Returns a note."""
    payment = _payment_for_intent(intent)
    if payment is None:
        return f"{intent.id} is not an Agora payment"
    if intent.currency != CURRENCY:
        raise InvalidState(
            "A card payment must be in US dollars.",
            detail={"payment_intent": intent.id, "currency": intent.currency},
        )
    if payment.stripe_payment_intent_id is None:
        Payment.objects.filter(pk=payment.pk, stripe_payment_intent_id__isnull=True).update(
            stripe_payment_intent_id=intent.id, updated_at=timezone.now()
        )
    # The checks before each call only skip work that would change nothing (repeats are the
    # common case); payment_credit's key and payment_mark's lock are what guarantee once-only.
    superseded = payment.stripe_payment_intent_id not in (None, intent.id)
    if superseded and intent.status != "succeeded":
        # An intent replaced after a declined attempt (card_payment_intent_for_attempt): its late
        # events say nothing about the payment, which its successor now carries.
        return f"{intent.id} was replaced by {payment.stripe_payment_intent_id}"
    if intent.status == "succeeded":
        key = f"stripe:pi:{intent.id}"
        if intent.amount_received > 0 and not LedgerTransaction.objects.filter(idempotency_key=key).exists():
            payment_credit(
                payment_id=payment.pk,
                amount=intent.amount_received,
                idempotency_key=key,
                memo=f"Card payment {payment.reference} ({intent.id})",
            )
        return ""
    target = None
    if intent.status == "processing":
        target = PaymentStatus.PROCESSING
    elif intent.status == "requires_payment_method" and intent.last_payment_error:
        target = PaymentStatus.FAILED
    elif intent.status == "canceled":
        target = PaymentStatus.CANCELED
    if target is not None and payment.status not in (target, PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED):
        payment_mark(payment_id=payment.pk, status=target)
    return ""


def payment_intent_sync(*, intent: stripe_client.PaymentIntent) -> None:
    """Apply a PaymentIntent's state as fetched from Stripe to our payment, in its own transaction
    (the same once-only application as a webhook's; for reconciliation and for the pay step, which
    knows the outcome before the webhook arrives)."""
    with transaction.atomic(durable=True):
        payment_intent_apply(intent)


__all__ = [
    "CardPaymentStarted",
    "PaymentProviderRejected",
    "PaymentProviderUnavailable",
    "card_payment_intent_ensure",
    "card_payment_intent_for_attempt",
    "card_payment_start",
    "payment_intent_sync",
    "payment_metadata",
    "stripe_call",
    "stripe_customer_get_or_create",
]
