"""Reads of payments through the rails."""

from __future__ import annotations

from accounts.models import User
from core.fields import WideSum
from tokenomics.errors import PaymentNotFound
from tokenomics.models import LedgerEntry, Payment
from tokenomics.models.ledger import AccountKind, TransactionKind


def payment_get_for_user(*, user: User, payment_id: int) -> Payment:
    """The user's own payment; PaymentNotFound for anyone else's (no hint that it exists)."""
    payment = Payment.objects.filter(pk=payment_id, user=user).first()
    if payment is None:
        raise PaymentNotFound()
    return payment


def payment_bonus_granted(*, payment: Payment) -> int:
    """The prepaid bonus the payment's deposits credited, from the ledger (0 for other purposes)."""
    funded: int = LedgerEntry.objects.filter(
        transaction__reference=payment.reference,
        transaction__kind=TransactionKind.DEPOSIT,
        account__kind=AccountKind.PROMOTIONS,
    ).aggregate(total=WideSum("amount"))["total"]
    return -funded  # promotions' entries are debits: negative
