"""Reads of payments through the rails."""

from __future__ import annotations

from accounts.models import User
from tokenomics.errors import PaymentNotFound
from tokenomics.models import Payment


def payment_get_for_user(*, user: User, payment_id: int) -> Payment:
    """The user's own payment; PaymentNotFound for anyone else's (no hint that it exists)."""
    payment = Payment.objects.filter(pk=payment_id, user=user).first()
    if payment is None:
        raise PaymentNotFound()
    return payment
