"""Payments through a rail: create what is due, then credit what arrived, exactly once.

Every arrival (a succeeded PaymentIntent, one AGR Transfer log) is credited to the payer's wallet
under an idempotency key naming that arrival, then handed to the handler registered for the
payment's purpose. tokenomics handles "credit_top_up" (the prepaid bonus); higher apps register
theirs in their AppConfig.ready() (an order moves the money on into escrow), so this lower app
never imports them (ARCHITECTURE.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from tokenomics.errors import AmountInvalid, InvalidState
from tokenomics.models import Asset, Payment, Rail
from tokenomics.models.ledger import AccountKind
from tokenomics.models.rails import PaymentStatus
from tokenomics.services.notifications import top_up_receipt_notify
from tokenomics.services.wallet import deposit_post

CREDIT_TOP_UP = "credit_top_up"
RAIL_ASSET = {Rail.CARD: Asset.USD, Rail.AGR: Asset.AGR}
RAIL_SOURCE = {Rail.CARD: AccountKind.EXTERNAL_STRIPE, Rail.AGR: AccountKind.EXTERNAL_CHAIN}

PaymentHandler = Callable[[Payment], None]
_handlers: dict[str, PaymentHandler] = {}
# Purposes whose arrivals are prepaid credit and earn the prepaid bonus (SPEC §3).
_prepaid_purposes: set[str] = {CREDIT_TOP_UP}


def payment_handler_register(purpose: str, handler: PaymentHandler, *, prepaid_credit: bool = False) -> None:
    """Call `handler(payment)` inside the crediting transaction once a payment of `purpose` is
    paid in full (once per payment). `prepaid_credit`: its arrivals earn the prepaid bonus, like a
    top-up. Registered from an AppConfig.ready()."""
    _handlers[purpose] = handler
    if prepaid_credit:
        _prepaid_purposes.add(purpose)


def payment_create(
    *, user: User, purpose: str, rail: Rail | str, amount: int, reference: str | None = None
) -> Payment:
    """Record money due through `rail` (card: USD cents; agr: AGR base units). No money moves."""
    if type(amount) is not int or amount <= 0:
        raise AmountInvalid(
            "A payment is a positive whole amount in minor units.",
            detail={"amount": ["Enter an amount above zero."]},
        )
    rail = Rail(rail)
    return Payment.objects.create(
        user=user,
        purpose=purpose,
        reference=reference or f"{purpose}:{uuid.uuid4().hex}",
        rail=rail,
        asset=RAIL_ASSET[rail],
        amount=amount,
    )


def payment_credit(*, payment_id: int, amount: int, idempotency_key: str, memo: str = "") -> Payment:
    """Credit `amount` that arrived for the payment to the payer's wallet (plus the prepaid bonus
    for a top-up), once per `idempotency_key`; marks it succeeded and runs its purpose's handler
    when the received total first reaches what was due. A replay changes nothing. Raises
    AmountInvalid, InvalidState for a canceled payment."""
    if type(amount) is not int or amount <= 0:
        raise AmountInvalid("A credit is a positive whole amount in minor units.")
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.status == PaymentStatus.CANCELED:
            raise InvalidState("This payment was canceled.", detail={"payment": payment.reference})
        posted = deposit_post(
            user=payment.user,
            asset=payment.asset,
            amount=amount,
            source_kind=RAIL_SOURCE[Rail(payment.rail)],
            idempotency_key=idempotency_key,
            memo=memo or f"Payment {payment.reference} received",
            prepaid_bonus_applies=payment.purpose in _prepaid_purposes,
            reference=payment.reference,
        )
        if not posted.created:
            return payment
        payment.received_amount += amount
        update = ["received_amount", "updated_at"]
        if payment.credit_transaction_id is None:
            payment.credit_transaction = posted.transaction
            update.append("credit_transaction")
        if payment.status != PaymentStatus.SUCCEEDED and payment.received_amount >= payment.amount:
            payment.status = PaymentStatus.SUCCEEDED
            payment.paid_at = timezone.now()
            update += ["status", "paid_at"]
            payment.save(update_fields=update)
            if payment.purpose == CREDIT_TOP_UP:
                top_up_receipt_notify(payment=payment)
            handler = _handlers.get(payment.purpose)
            if handler is not None:
                handler(payment)
            return payment
        payment.save(update_fields=update)
        return payment


def payment_mark(*, payment_id: int, status: PaymentStatus) -> Payment:
    """Move a payment that has not succeeded to processing, failed or canceled (monotonic: a
    succeeded payment never goes back, a canceled one stays canceled). No money moves."""
    order = {
        PaymentStatus.AWAITING: 0,
        PaymentStatus.PROCESSING: 1,
        PaymentStatus.FAILED: 2,
        PaymentStatus.CANCELED: 3,
        PaymentStatus.SUCCEEDED: 4,
    }
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        current = PaymentStatus(payment.status)
        # A failed attempt may be retried into processing again; everything else is monotonic.
        retry = current == PaymentStatus.FAILED and status == PaymentStatus.PROCESSING
        terminal = current in (PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED)
        if terminal or (order[status] <= order[current] and not retry):
            return payment
        payment.status = status
        payment.save(update_fields=["status", "updated_at"])
        return payment
