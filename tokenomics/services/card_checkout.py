"""Paying an open card payment from the browser, by a call sequence that works with Stripe.js and
with localstripe's stand-in for it alike.

1. `card_setup_start`: a SetupIntent for the payer's Stripe customer. The browser collects the card
   with `stripe.confirmCardSetup(secret, {payment_method: {card}})`, which saves it to the customer
   (3-D Secure, when the card asks for it, happens there).
2. `card_payment_confirm`: the server charges the payment's PaymentIntent with that saved card
   (set the method, then confirm). A card that asks for authentication again leaves the intent
   `requires_action`; the browser then calls `stripe.confirmCardPayment(intent_secret)` with no card
   data, which both Stripe.js and the stand-in handle.

Why not `confirmCardPayment(secret, {payment_method: {card}})` alone, as Stripe's own guide does:
localstripe's stand-in never attaches the card in that call (it only completes an authentication),
so the demo could not take a card. Saving the card first is also what a subscription's renewals
need (the customer's default method, charged off-session).

The outcome the server learns while confirming is applied at once (`payment_intent_sync`, keyed
by the intent like the webhook's), so the page does not wait for the webhook; the webhook then
changes nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from tokenomics import stripe_client
from tokenomics.errors import InvalidState, PaymentProviderRejected, PaymentProviderUnavailable
from tokenomics.models import Payment, Rail
from tokenomics.models.rails import PaymentStatus
from tokenomics.services.stripe_rail import (
    card_payment_intent_for_attempt,
    payment_intent_sync,
    payment_metadata,
    stripe_call,
    stripe_customer_get_or_create,
)

# What the browser does next, by the PaymentIntent's status after the server confirmed it.
PAID = "succeeded"  # or processing: the status block follows it
AUTHENTICATE = "requires_action"  # confirmCardPayment(client_secret) completes 3-D Secure
DECLINED = "declined"  # nothing was charged; another card may be tried


@dataclass(frozen=True)
class CardConfirmation:
    outcome: str  # PAID, AUTHENTICATE or DECLINED
    client_secret: str  # the PaymentIntent's, only for AUTHENTICATE; never logged
    message: str  # for the payer: why a card was declined


def _check_open(payment: Payment) -> None:
    if payment.rail != Rail.CARD:
        raise InvalidState("Only a card payment is paid by card.", detail={"payment": payment.reference})
    if payment.status not in (PaymentStatus.AWAITING, PaymentStatus.FAILED):
        raise InvalidState(f"This payment is {payment.status}.", detail={"payment": payment.reference})


def card_setup_start(*, payment: Payment) -> str:
    """The client secret of a new SetupIntent that saves a card for this open card payment.
    Calls Stripe. Each attempt gets its own SetupIntent: one left unused moves no money, so the
    key only guards one request's retries. Raises InvalidState, PaymentProviderUnavailable/Rejected."""
    _check_open(payment)
    customer = stripe_customer_get_or_create(user=payment.user)
    key = f"payment-{payment.pk}-setup-{secrets.token_hex(8)}"
    setup = stripe_call(
        lambda: stripe_client.setup_intent_create(
            customer_id=customer.stripe_customer_id, metadata=payment_metadata(payment), idempotency_key=key
        )
    )
    return setup.client_secret


def card_payment_confirm(*, payment: Payment, setup_intent_id: str) -> CardConfirmation:
    """Charge the payment's PaymentIntent with the card saved by `setup_intent_id` (which must have
    been made for this payment and have succeeded). Calls Stripe; the same SetupIntent confirmed
    twice is one charge (the keys derive from it). Raises InvalidState (not this payment's card, not
    saved yet, payment not open), PaymentProviderUnavailable/Rejected."""
    _check_open(payment)
    try:
        setup = stripe_client.setup_intent_retrieve(setup_intent_id=setup_intent_id)
    except stripe_client.StripeUnavailable as exc:
        raise PaymentProviderUnavailable(detail={"stripe": exc.message}) from exc
    except stripe_client.StripeRejected as exc:
        raise InvalidState("No such saved card.", detail={"setup_intent": setup_intent_id}) from exc
    customer = stripe_customer_get_or_create(user=payment.user)
    if (
        setup.metadata.get("agora_payment") != str(payment.pk)
        or setup.customer != customer.stripe_customer_id
    ):
        raise InvalidState("This card was not collected for this payment.", detail={"setup_intent": setup.id})
    if setup.status != "succeeded" or not setup.payment_method:
        raise InvalidState(
            "The card has not been saved yet; complete the card form first.", detail={"status": setup.status}
        )
    intent_id = card_payment_intent_for_attempt(payment=payment)
    method = setup.payment_method
    try:
        intent = stripe_call(
            lambda: stripe_client.payment_intent_pay(
                payment_intent_id=intent_id,
                payment_method_id=method,
                idempotency_key=f"payment-{payment.pk}-pay-{setup.id}",
            )
        )
    except PaymentProviderRejected as exc:
        if not isinstance(exc.__cause__, stripe_client.StripeCardDeclined):
            raise
        # Record the failed attempt now (the payment_failed webhook would, later).
        payment_intent_sync(
            intent=stripe_call(lambda: stripe_client.payment_intent_retrieve(payment_intent_id=intent_id))
        )
        return CardConfirmation(outcome=DECLINED, client_secret="", message=_declined(exc.message))
    payment_intent_sync(intent=intent)
    if intent.status in ("succeeded", "processing"):
        return CardConfirmation(outcome=PAID, client_secret="", message="")
    if intent.status == "requires_action":
        return CardConfirmation(outcome=AUTHENTICATE, client_secret=intent.client_secret, message="")
    return CardConfirmation(
        outcome=DECLINED, client_secret="", message=_declined(intent.last_payment_error or "")
    )


def _declined(reason: str) -> str:
    detail = f" ({reason})" if reason else ""
    return f"Your card was declined{detail}. Nothing was charged; try another card."
