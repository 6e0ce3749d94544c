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
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from core.enqueue import task_on_commit
from core.fields import WideSum
from tokenomics import stripe_client
from tokenomics.errors import (
    AmountInvalid,
    IdempotencyConflict,
    InvalidState,
    PaymentProviderRejected,
    PaymentProviderUnavailable,
    TokenomicsError,
    WebhookPayloadInvalid,
    WebhookSignatureInvalid,
)
from tokenomics.models import (
    Asset,
    LedgerTransaction,
    Payment,
    PaymentRefund,
    Rail,
    StripeCustomer,
    StripeEvent,
    StripeSubscription,
)
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.models.rails import PaymentStatus
from tokenomics.selectors.payments import payment_bonus_granted
from tokenomics.services.ledger import (
    Leg,
    system_account_get_or_create,
    transaction_post,
    transaction_reverse,
    user_account_get_or_create,
)
from tokenomics.services.payments import payment_create, payment_credit, payment_mark
from tokenomics.services.wallet import deposit_post

logger = logging.getLogger(__name__)

CURRENCY = "usd"  # the card rail's one currency; amounts are US cents
SUBSCRIPTION_INTERVALS = ("day", "week", "month", "year")
# An event that failed this many times for a reason of ours (a business conflict, a bug) is left to
# staff, its error saying why; one that failed because Stripe was away is retried by every
# reconciliation for as long as the look-back window keeps it.
MAX_EVENT_ATTEMPTS = 8
UNAVAILABLE_PREFIX = "Stripe unavailable: "
_DONE = (StripeEvent.Status.PROCESSED, StripeEvent.Status.IGNORED)
_SUBSCRIPTION_TERMINAL = frozenset({"canceled", "incomplete_expired"})


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


def _from_unix(seconds: int | None) -> datetime | None:
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


def _payment_intent_apply(intent: stripe_client.PaymentIntent) -> str:
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
        _payment_intent_apply(intent)


# ---------------------------------------------------------------- refunds


def payment_refund(*, payment: Payment, amount: int, reason: str = "") -> PaymentRefund:
    """Refund `amount` US cents of a succeeded card payment to the card.

    The refund row is recorded and the payer's USD wallet debited to external_stripe (once, key
    "refund:<pk>") in one transaction *before* Stripe is called with key "refund-<pk>", so money
    never leaves through Stripe that the wallet no longer holds; a refusal by Stripe puts it back.
    Raises AmountInvalid (beyond what is left to refund), InvalidState, InsufficientFunds (already
    spent; nothing recorded), PaymentProviderRejected (the refund failed, money back in the
    wallet), PaymentProviderUnavailable (it stays pending; payment_refund_submit or
    reconciliation sends it again under the same key)."""
    if type(amount) is not int or amount <= 0:
        raise AmountInvalid("A refund is a positive whole number of cents.")
    with transaction.atomic(durable=True):
        # Only the payment row: locking its user too (FOR UPDATE) would block the deferred key
        # check of every other posting naming that user at commit, and deadlock with them.
        locked = Payment.objects.select_for_update(of=("self",)).select_related("user").get(pk=payment.pk)
        if locked.rail != Rail.CARD or not locked.stripe_payment_intent_id:
            raise InvalidState(
                "Only card payments are refunded through Stripe.", detail={"payment": locked.reference}
            )
        if locked.status != PaymentStatus.SUCCEEDED:
            raise InvalidState(
                "Only a succeeded payment can be refunded.", detail={"payment": locked.reference}
            )
        # WideSum: plain SUM over the TEXT amounts of SQLite would go through a float.
        taken = locked.refunds.exclude(status=PaymentRefund.Status.FAILED).aggregate(total=WideSum("amount"))[
            "total"
        ]
        refundable = locked.received_amount - taken
        if amount > refundable:
            raise AmountInvalid(
                "That is more than is left to refund.",
                detail={"refundable": str(refundable), "asked": str(amount)},
            )
        refund = PaymentRefund.objects.create(payment=locked, amount=amount, reason=reason[:255])
        wallet = user_account_get_or_create(user=locked.user, kind=AccountKind.WALLET, asset=Asset.USD)
        stripe_side = system_account_get_or_create(kind=AccountKind.EXTERNAL_STRIPE, asset=Asset.USD)
        legs = [Leg(wallet, -amount), Leg(stripe_side, amount)]
        # A refunded top-up gives back the prepaid bonus it earned, in proportion. The share is
        # rounded down cumulatively (what all refunds so far owe, less what the earlier ones took),
        # so partial refunds never take back more than was granted and, summing to the whole
        # payment, take back all of it.
        granted = payment_bonus_granted(payment=locked)
        received = locked.received_amount
        bonus_back = granted * (taken + amount) // received - granted * taken // received
        if bonus_back:
            promotions = system_account_get_or_create(kind=AccountKind.PROMOTIONS, asset=Asset.USD)
            legs = [
                Leg(wallet, -(amount + bonus_back)),
                Leg(stripe_side, amount),
                Leg(promotions, bonus_back),
            ]
        posted = transaction_post(
            kind=TransactionKind.REFUND,
            legs=legs,
            idempotency_key=f"refund:{refund.pk}",
            memo=f"Card refund of {locked.reference}",
            reference=locked.reference,
            party=locked.user,
        )
        refund.ledger_transaction = posted.transaction
        refund.save(update_fields=["ledger_transaction", "updated_at"])
    # The row was committed just now: there is no earlier attempt to look for.
    return _refund_send(refund_id=refund.pk, look_for_earlier=False)


def payment_refund_submit(*, refund_id: int) -> PaymentRefund:
    """Send a pending refund to Stripe (again) and apply the answer. A refund an earlier attempt
    already made is looked for first, by its metadata, and the create uses key "refund-<pk>", so
    this never refunds twice, even after Stripe has pruned the key (24 h). Raises
    PaymentProviderUnavailable (still pending), PaymentProviderRejected (now failed, the wallet
    debit reversed)."""
    return _refund_send(refund_id=refund_id, look_for_earlier=True)


def _refund_send(*, refund_id: int, look_for_earlier: bool) -> PaymentRefund:
    refund = PaymentRefund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != PaymentRefund.Status.PENDING or refund.stripe_refund_id:
        return refund  # already with Stripe: its events (or reconciliation) settle it
    payment = refund.payment
    intent_id = payment.stripe_payment_intent_id or ""
    metadata = {"agora_refund": str(refund.pk), "agora_reference": payment.reference}
    remote: stripe_client.Refund | None = None
    try:
        if look_for_earlier:
            try:
                remote = next(
                    (
                        r
                        for r in stripe_client.refund_list(payment_intent_id=intent_id)
                        if all(r.metadata.get(k) == v for k, v in metadata.items())
                    ),
                    None,
                )
            except stripe_client.StripeRejected:
                remote = None  # the list is only a precaution; the key still guards the create
        if remote is None:
            remote = stripe_client.refund_create(
                payment_intent_id=intent_id,
                amount=refund.amount,
                metadata=metadata,
                idempotency_key=f"refund-{refund.pk}",
            )
    except stripe_client.StripeUnavailable as exc:
        raise PaymentProviderUnavailable(detail={"refund": refund.pk, "stripe": exc.message}) from exc
    except stripe_client.StripeRejected as exc:
        with transaction.atomic(durable=True):
            _refund_transition(PaymentRefund.objects.select_for_update().get(pk=refund.pk), "failed", None)
        raise PaymentProviderRejected(
            exc.message, detail={"refund": refund.pk, "stripe_code": exc.code}
        ) from exc
    with transaction.atomic(durable=True):
        return _refund_transition(
            PaymentRefund.objects.select_for_update().get(pk=refund.pk), remote.status, remote.id
        )


_REFUND_TARGET = {
    "succeeded": PaymentRefund.Status.SUCCEEDED,
    "failed": PaymentRefund.Status.FAILED,
    "canceled": PaymentRefund.Status.FAILED,
}


def _refund_transition(
    refund: PaymentRefund, stripe_status: str, stripe_refund_id: str | None
) -> PaymentRefund:
    """pending -> succeeded -> failed, never back (a refund may fail after it succeeded). Failing
    reverses the wallet debit once (key "refund:<pk>:failed"). `refund` is locked by the caller."""
    update = []
    if stripe_refund_id and not refund.stripe_refund_id:
        refund.stripe_refund_id = stripe_refund_id
        update.append("stripe_refund_id")
    target = _REFUND_TARGET.get(stripe_status)
    current = refund.status
    if target is not None and current != PaymentRefund.Status.FAILED and target != current:
        if target == PaymentRefund.Status.FAILED and refund.ledger_transaction_id is not None:
            transaction_reverse(
                original=refund.ledger_transaction,  # type: ignore[arg-type]  # checked just above
                idempotency_key=f"refund:{refund.pk}:failed",
                memo=f"Card refund {refund.pk} failed at Stripe",
            )
        refund.status = target
        update.append("status")
    if update:
        refund.save(update_fields=[*update, "updated_at"])
    return refund


def _refund_apply(remote: stripe_client.Refund) -> str:
    """Apply a Stripe refund's current state to our refund row (inside the caller's transaction)."""
    refund = PaymentRefund.objects.select_for_update().filter(stripe_refund_id=remote.id).first()
    if refund is None and remote.metadata.get("agora_refund", "").isdigit():
        refund = (
            PaymentRefund.objects.select_for_update()
            .filter(
                pk=int(remote.metadata["agora_refund"]),
                payment__reference=remote.metadata.get("agora_reference"),
            )
            .first()
        )
    if refund is None:
        if (
            remote.payment_intent
            and Payment.objects.filter(stripe_payment_intent_id=remote.payment_intent).exists()
        ):
            # Money went back to the card without passing through payment_refund (the Dashboard):
            # the wallet still holds it. Left to staff rather than guessed at.
            raise InvalidState(
                "A refund of an Agora payment was made outside Agora; record it by hand.",
                detail={"refund": remote.id, "payment_intent": remote.payment_intent},
            )
        return f"{remote.id} is not an Agora refund"
    _refund_transition(refund, remote.status, remote.id)
    return ""


# ---------------------------------------------------------------- subscriptions


def _subscription_metadata(subscription: StripeSubscription) -> dict[str, str]:
    return {"agora_subscription": subscription.reference, "agora_user": str(subscription.user_id)}


def stripe_subscription_start(
    *,
    user: User,
    reference: str,
    amount: int,
    name: str,
    interval: str = "month",
    payment_method_id: str | None = None,
    trial_end: datetime | None = None,
) -> StripeSubscription:
    """Subscribe the user at Stripe to `amount` US cents per `interval`: the row first (unique
    `reference`, e.g. "subscription:9"), then Product, Plan and Subscription, each under a key from
    the row ("subscription-<pk>-product|plan|create"). Calling again with the same reference
    continues where a failure stopped. `payment_method_id` (from Stripe.js) becomes the customer's
    default for invoices. `trial_end`: the first invoice comes then (the period until then was paid
    another way, e.g. the first order's PaymentIntent). Each paid invoice is credited to the user's
    wallet and handed to the renewal handler (stripe_renewal_handlers_register).
    Raises AmountInvalid, IdempotencyConflict (the reference names another subscription),
    PaymentProviderUnavailable/Rejected."""
    if type(amount) is not int or amount <= 0:
        raise AmountInvalid("A subscription costs a positive whole number of cents.")
    if interval not in SUBSCRIPTION_INTERVALS:
        raise AmountInvalid("The interval is day, week, month or year.", detail={"interval": interval})
    with transaction.atomic(durable=True):
        row, _ = StripeSubscription.objects.get_or_create(
            reference=reference, defaults={"user": user, "amount": amount, "interval": interval}
        )
    if (row.user_id, row.amount, row.interval) != (user.pk, amount, interval):
        raise IdempotencyConflict(
            "This reference names another subscription.", detail={"reference": reference}
        )
    if row.stripe_subscription_id:
        return row
    customer = stripe_customer_get_or_create(user=user)
    metadata = _subscription_metadata(row)
    if payment_method_id:
        stripe_call(
            lambda: stripe_client.payment_method_attach(
                payment_method_id=payment_method_id,
                customer_id=customer.stripe_customer_id,
                idempotency_key=f"subscription-{row.pk}-payment-method",
            )
        )
    if not row.stripe_plan_id:
        product_id = stripe_call(
            lambda: stripe_client.product_create(
                name=name[:200] or reference,
                metadata=metadata,
                idempotency_key=f"subscription-{row.pk}-product",
            )
        )
        plan_id = stripe_call(
            lambda: stripe_client.plan_create(
                product_id=product_id,
                amount=amount,
                currency=CURRENCY,
                interval=interval,
                metadata=metadata,
                idempotency_key=f"subscription-{row.pk}-plan",
            )
        )
        StripeSubscription.objects.filter(pk=row.pk).update(stripe_plan_id=plan_id, updated_at=timezone.now())
        row.stripe_plan_id = plan_id
    plan = row.stripe_plan_id
    trial = int(trial_end.timestamp()) if trial_end is not None else None
    remote = stripe_call(
        lambda: stripe_client.subscription_create(
            customer_id=customer.stripe_customer_id,
            plan_id=plan,
            metadata=metadata,
            idempotency_key=f"subscription-{row.pk}-create",
            trial_end=trial,
        )
    )
    with transaction.atomic(durable=True):
        return _subscription_sync(StripeSubscription.objects.select_for_update().get(pk=row.pk), remote)


def stripe_subscription_cancel(
    *, subscription: StripeSubscription, at_period_end: bool = False
) -> StripeSubscription:
    """Cancel the subscription at Stripe and record it: now (key "subscription-<pk>-cancel"), or
    `at_period_end`: no more invoices, it ends with its current period (key "subscription-<pk>-stop").
    Raises InvalidState if it never reached Stripe, PaymentProviderUnavailable/Rejected."""
    if not subscription.stripe_subscription_id:
        raise InvalidState(
            "This subscription was never created at Stripe.", detail={"reference": subscription.reference}
        )
    stripe_id = subscription.stripe_subscription_id
    if at_period_end:
        remote = stripe_call(
            lambda: stripe_client.subscription_cancel_at_period_end(
                subscription_id=stripe_id, idempotency_key=f"subscription-{subscription.pk}-stop"
            )
        )
    else:
        remote = stripe_call(
            lambda: stripe_client.subscription_cancel(
                subscription_id=stripe_id, idempotency_key=f"subscription-{subscription.pk}-cancel"
            )
        )
    with transaction.atomic(durable=True):
        return _subscription_sync(
            StripeSubscription.objects.select_for_update().get(pk=subscription.pk), remote
        )


def _subscription_sync(row: StripeSubscription, remote: stripe_client.Subscription) -> StripeSubscription:
    """Copy Stripe's status and period end; a canceled subscription stays canceled and the period
    end only moves forward (a stale copy changes nothing). `row` is locked by the caller."""
    update = []
    if not row.stripe_subscription_id:
        row.stripe_subscription_id = remote.id
        update.append("stripe_subscription_id")
    if row.status not in _SUBSCRIPTION_TERMINAL and remote.status and remote.status != row.status:
        row.status = remote.status
        update.append("status")
    period_end = _from_unix(remote.current_period_end)
    if period_end is not None and (row.current_period_end is None or period_end > row.current_period_end):
        row.current_period_end = period_end
        update.append("current_period_end")
    if update:
        row.save(update_fields=[*update, "updated_at"])
    return row


def _subscription_apply(remote: stripe_client.Subscription) -> str:
    row = StripeSubscription.objects.select_for_update().filter(stripe_subscription_id=remote.id).first()
    if row is None and remote.metadata.get("agora_subscription"):
        row = (
            StripeSubscription.objects.select_for_update()
            .filter(reference=remote.metadata["agora_subscription"])
            .first()
        )
    if row is None:
        return f"{remote.id} is not an Agora subscription"
    _subscription_sync(row, remote)
    return ""


def card_payment_method_of(*, payment: Payment) -> str | None:
    """The card a succeeded card payment was paid with (to bill a subscription's renewals to it).
    Calls Stripe; raises PaymentProviderUnavailable/Rejected."""
    intent_id = payment.stripe_payment_intent_id
    if payment.rail != Rail.CARD or not intent_id:
        return None
    return stripe_call(
        lambda: stripe_client.payment_intent_retrieve(payment_intent_id=intent_id)
    ).payment_method


# What a paid renewal invoice buys and what a declined one means belong to the app that sells the
# plan (marketplace registers them in its AppConfig.ready()), so this app never imports it.
RenewalPaid = Callable[[StripeSubscription, int], None]  # (subscription, cents now in the wallet)
RenewalFailed = Callable[[StripeSubscription, str], None]  # (subscription, the decline's message)
_renewal_paid: list[RenewalPaid] = []
_renewal_failed: list[RenewalFailed] = []


def stripe_renewal_handlers_register(*, paid: RenewalPaid, failed: RenewalFailed) -> None:
    """Called inside the transaction that applies an invoice: `paid` once per paid invoice, after
    its amount was credited to the subscriber's wallet; `failed` when a renewal is first declined."""
    _renewal_paid.append(paid)
    _renewal_failed.append(failed)


def _invoice_apply(invoice: stripe_client.Invoice) -> str:
    """Apply a subscription invoice's current state (inside the caller's transaction). Paid: its
    amount is credited to the wallet once (key "stripe:in:<id>") and the renewal handler spends it
    on the next period. Declined: the subscription is past due (Stripe retries it)."""
    row = None
    if invoice.subscription:
        row = (
            StripeSubscription.objects.select_for_update()
            .select_related("user")
            .filter(stripe_subscription_id=invoice.subscription)
            .first()
        )
    if row is None:
        return f"{invoice.id} is not an Agora subscription's invoice"
    if invoice.status == "paid":
        if invoice.amount_paid <= 0:
            return ""  # a trial's empty first invoice: nothing was charged
        if invoice.currency != CURRENCY:
            raise InvalidState("A renewal must be in US dollars.", detail={"invoice": invoice.id})
        posted = deposit_post(
            user=row.user,
            asset=Asset.USD,
            amount=invoice.amount_paid,
            source_kind=AccountKind.EXTERNAL_STRIPE,
            idempotency_key=f"stripe:in:{invoice.id}",
            memo=f"Card renewal {row.reference} ({invoice.id})",
            prepaid_bonus_applies=False,
            reference=row.reference,
        )
        if posted.created:
            if row.status != "active" and row.status not in _SUBSCRIPTION_TERMINAL:
                row.status = "active"
                row.save(update_fields=["status", "updated_at"])
            for paid in _renewal_paid:
                paid(row, invoice.amount_paid)
        return ""
    if invoice.payment_failed and row.status not in (*_SUBSCRIPTION_TERMINAL, "past_due"):
        row.status = "past_due"
        row.save(update_fields=["status", "updated_at"])
        for failed in _renewal_failed:
            failed(row, invoice.failure_message)
    return ""


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
            note = _payment_intent_apply(state)
        elif isinstance(state, stripe_client.Refund):
            note = _refund_apply(state)
        elif isinstance(state, stripe_client.Invoice):
            note = _invoice_apply(state)
        else:
            note = _subscription_apply(state)
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


def _event_store(event: stripe_client.Event) -> tuple[StripeEvent, bool]:
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
        stripe_created=_from_unix(event.created),
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
    row, created = _event_store(event)
    if row.status in (StripeEvent.Status.RECEIVED, StripeEvent.Status.FAILED):
        # After the row is committed (at once in autocommit, else with the caller's transaction).
        # robust: a broker hiccup must not turn a stored delivery into a 500; reconciliation picks
        # up events left received.
        task_on_commit("tokenomics.stripe_process_event", row.event_id)
    return EventReceived(event=row, created=created)


def _event_fail(pk: int, error: str) -> StripeEvent:
    StripeEvent.objects.filter(pk=pk).exclude(status__in=_DONE).update(
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
    if row.status in _DONE:
        return row
    if not stripe_event_handled(row.type):
        StripeEvent.objects.filter(pk=row.pk).exclude(status__in=_DONE).update(
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
            if locked.status in _DONE:
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
            stored += _event_store(event)[1]
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
        if done.status in _DONE:
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
                    _refund_apply(remote)
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
    "CardPaymentStarted",
    "EventReceived",
    "PaymentProviderRejected",
    "PaymentProviderUnavailable",
    "ReconcileReport",
    "WebhookPayloadInvalid",
    "WebhookSignatureInvalid",
    "card_payment_intent_ensure",
    "card_payment_intent_for_attempt",
    "card_payment_method_of",
    "card_payment_start",
    "payment_intent_sync",
    "payment_metadata",
    "payment_refund",
    "payment_refund_submit",
    "stripe_call",
    "stripe_customer_get_or_create",
    "stripe_event_handled",
    "stripe_event_ingest",
    "stripe_event_process",
    "stripe_reconcile",
    "stripe_renewal_handlers_register",
    "stripe_subscription_cancel",
    "stripe_subscription_start",
    "stripe_webhook_receive",
]
