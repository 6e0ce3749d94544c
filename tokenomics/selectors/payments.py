"""Reads of payments through the rails."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from accounts.models import User
from core.fields import WideSum
from tokenomics.errors import PaymentNotFound
from tokenomics.models import LedgerEntry, Payment, Rail
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.models.rails import PaymentStatus


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


def card_form_context(*, payment: Payment) -> dict[str, Any]:
    """What the card form (templates/tokenomics/_card_form.html) needs for an open card payment,
    or {} when the payment is not one the card form can pay (other rail, processing, closed).
    Reads settings only: showing the form calls no Stripe API."""
    if payment.rail != Rail.CARD or payment.status not in (PaymentStatus.AWAITING, PaymentStatus.FAILED):
        return {}
    return {
        "card_form": True,
        "payment": payment,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "stripe_js_url": settings.STRIPE_JS_URL,
        # Stripe's test keys (and localstripe's) charge nothing: the page names the test cards.
        "card_test_mode": settings.STRIPE_PUBLISHABLE_KEY.startswith("pk_test_"),
    }
