"""Reads of payments through the rails, and the one pay step every payment shows (an order's, a
top-up's): `payment_instructions` feeds templates/tokenomics/_pay_panel.html, static/js/pay.js
drives it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from accounts.models import User
from accounts.selectors import wallet_list
from core.exceptions import ApplicationError
from core.fields import WideSum
from tokenomics.chain_client import erc20_transfer_calldata
from tokenomics.errors import REASON_TEXT, InvalidState, PaymentNotFound
from tokenomics.models import LedgerEntry, Payment, Rail
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.models.rails import PaymentStatus
from tokenomics.money import format_amount, money_json
from tokenomics.selectors.parameters import parameter_get
from tokenomics.selectors.rates import prepaid_bonus

# A payment the payer can still pay (a failed card attempt may be retried).
OPEN_STATUSES = (PaymentStatus.AWAITING, PaymentStatus.PROCESSING, PaymentStatus.FAILED)


def confirmations_required() -> int:
    """Blocks a transaction's block needs (itself included) before it counts (the registry's
    `payments.agr_confirmations`, at least 1)."""
    return parameter_get("payments.agr_confirmations")


@dataclass(frozen=True)
class AgrPaymentInstructions:
    """What the buyer's wallet needs: send `amount` base units of `token_address` to
    `deposit_address` on `chain_id` (`transfer_data` is the ERC-20 call for eth_sendTransaction
    with `to` = the token), then submit the transaction hash with `reference`."""

    reference: str
    chain_id: int
    token_address: str
    deposit_address: str
    amount: int  # AGR base units still due
    transfer_data: str
    confirmations: int


def agr_payment_instructions(*, payment: Payment) -> AgrPaymentInstructions:
    """How to pay an AGR payment. Raises InvalidState for a payment of another rail."""
    if payment.rail != Rail.AGR or not payment.token_address or payment.chain_id is None:
        raise InvalidState("This is not an AGR payment.", detail={"payment": payment.reference})
    due = max(payment.amount - payment.received_amount, 0)
    return AgrPaymentInstructions(
        reference=payment.reference,
        chain_id=payment.chain_id,
        token_address=payment.token_address,
        deposit_address=payment.deposit_address,
        amount=due,
        transfer_data=erc20_transfer_calldata(to=payment.deposit_address, amount=due),
        confirmations=confirmations_required(),
    )


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


def payment_bonus_shown(*, payment: Payment, bonus_applies: bool) -> int:
    """The prepaid bonus to show beside a payment: what the ledger granted for what arrived, plus,
    for what is still due, what deposit_post will grant when it arrives (the same rule at today's
    rate). Once paid in full it is exactly what the ledger credited."""
    if not bonus_applies:
        return 0
    due = max(payment.amount - payment.received_amount, 0)
    still = prepaid_bonus(amount=due) if due and payment.status in OPEN_STATUSES else 0
    return payment_bonus_granted(payment=payment) + still


def payment_instructions(*, payment: Payment, user: User, bonus_applies: bool) -> dict[str, Any]:
    """Everything the pay panel (templates/tokenomics/_pay_panel.html) shows for a payment of
    `user`'s: the amount, the prepaid bonus (payment_bonus_shown) and what the wallet receives;
    while it is open, the card form or the AGR transfer to make (with the payer's linked wallets
    and the words for each verification refusal). `pay_error` says why it cannot be paid now
    (the chain is not configured...). Reads only: showing it calls no Stripe API."""
    bonus = payment_bonus_shown(payment=payment, bonus_applies=bonus_applies)
    received = payment.received_amount
    context: dict[str, Any] = {
        "payment": payment,
        "open": payment.status in OPEN_STATUSES,
        "amount_display": format_amount(amount=payment.amount, asset=payment.asset),
        "bonus": bonus,
        "receives": payment.amount + bonus,
        # What the ledger credited so far (the bonus granted then, not today's rate).
        "credited": received + payment_bonus_granted(payment=payment) if received else 0,
        "pay_error": "",
    }
    if not context["open"]:
        return context
    if payment.rail == Rail.CARD:
        return context | card_form_context(payment=payment)
    try:
        context["agr"] = agr_payment_instructions(payment=payment)
    except ApplicationError as exc:
        context["pay_error"] = exc.message
        return context
    context["wallets"] = list(wallet_list(user=user))
    context["reason_text"] = REASON_TEXT
    return context


def card_instructions(payment: Payment, *, client_secret: str | None) -> dict[str, Any] | None:
    """What Stripe.js needs to pay a card payment (None without a client secret)."""
    if payment.rail != Rail.CARD or not client_secret:
        return None
    return {
        "payment_intent": payment.stripe_payment_intent_id,
        "client_secret": client_secret,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "stripe_js_url": settings.STRIPE_JS_URL,
    }


def agr_instructions(payment: Payment) -> dict[str, Any] | None:
    """What a wallet sends to pay an AGR payment still due (None once paid or for a card)."""
    if payment.rail != Rail.AGR or payment.status == Payment.Status.SUCCEEDED:
        return None
    how = agr_payment_instructions(payment=payment)
    return {
        "chain_id": how.chain_id,
        "token_address": how.token_address,
        "deposit_address": how.deposit_address,
        "amount": money_json(amount=how.amount, asset=payment.asset),
        "reference": how.reference,
        "transfer_data": how.transfer_data,
        "confirmations": how.confirmations,
    }
