"""The Stripe rail's subscriptions: start and cancel them, apply their invoices and state, and tell
the app that registered renewal handlers (see tokenomics.services.stripe_rail)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from tokenomics import stripe_client
from tokenomics.errors import (
    AmountInvalid,
    IdempotencyConflict,
    InvalidState,
)
from tokenomics.models import (
    Asset,
    Payment,
    Rail,
    StripeSubscription,
)
from tokenomics.models.ledger import AccountKind
from tokenomics.services.stripe_rail import (
    CURRENCY,
    SUBSCRIPTION_INTERVALS,
    SUBSCRIPTION_TERMINAL,
    from_unix,
    stripe_call,
    stripe_customer_get_or_create,
)
from tokenomics.services.wallet import deposit_post

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
    if row.status not in SUBSCRIPTION_TERMINAL and remote.status and remote.status != row.status:
        row.status = remote.status
        update.append("status")
    period_end = from_unix(remote.current_period_end)
    if period_end is not None and (row.current_period_end is None or period_end > row.current_period_end):
        row.current_period_end = period_end
        update.append("current_period_end")
    if update:
        row.save(update_fields=[*update, "updated_at"])
    return row


def subscription_apply(remote: stripe_client.Subscription) -> str:
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


def invoice_apply(invoice: stripe_client.Invoice) -> str:
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
            if row.status != "active" and row.status not in SUBSCRIPTION_TERMINAL:
                row.status = "active"
                row.save(update_fields=["status", "updated_at"])
            for paid in _renewal_paid:
                paid(row, invoice.amount_paid)
        return ""
    if invoice.payment_failed and row.status not in (*SUBSCRIPTION_TERMINAL, "past_due"):
        row.status = "past_due"
        row.save(update_fields=["status", "updated_at"])
        for failed in _renewal_failed:
            failed(row, invoice.failure_message)
    return ""


__all__ = [
    "card_payment_method_of",
    "stripe_renewal_handlers_register",
    "stripe_subscription_cancel",
    "stripe_subscription_start",
]
