"""The Stripe rail's refunds: a refund row committed first (its key `refund-<pk>`), submitted to
Stripe, and its ledger movement posted once, keyed by the row (see tokenomics.services.stripe_rail)."""

from __future__ import annotations

from django.db import transaction

from core.fields import WideSum
from tokenomics import stripe_client
from tokenomics.errors import (
    AmountInvalid,
    InvalidState,
    PaymentProviderRejected,
    PaymentProviderUnavailable,
)
from tokenomics.models import (
    Asset,
    Payment,
    PaymentRefund,
    Rail,
)
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.models.rails import PaymentStatus
from tokenomics.selectors.payments import payment_bonus_granted
from tokenomics.services.ledger import Leg, transaction_post, transaction_reverse
from tokenomics.services.ledger_accounts import system_account_get_or_create, user_account_get_or_create

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


def refund_apply(remote: stripe_client.Refund) -> str:
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


__all__ = [
    "payment_refund",
    "payment_refund_submit",
]
