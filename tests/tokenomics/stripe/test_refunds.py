"""Refunds against localstripe: full and partial, each once; never more than was paid; never from
a wallet that no longer holds the money; a refusal by Stripe puts the money back."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.tokenomics.stripe.conftest import LocalStripe, deliver, make_event
from tokenomics.errors import AmountInvalid, InsufficientFunds, InvalidState
from tokenomics.models import LedgerTransaction, Payment, PaymentRefund, StripeEvent
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.selectors.ledger import account_balance, user_balances
from tokenomics.services.ledger import Leg, transaction_post
from tokenomics.services.ledger_accounts import system_account_get_or_create, user_account_get_or_create
from tokenomics.services.payments import payment_create, payment_credit
from tokenomics.services.stripe_rail import PaymentProviderRejected, card_payment_start
from tokenomics.services.stripe_refunds import payment_refund, payment_refund_submit

pytestmark = pytest.mark.django_db


def usd_wallet(user) -> int:
    return next((b.wallet for b in user_balances(user=user) if b.asset == "USD"), 0)


@pytest.fixture
def paid(user, localstripe: LocalStripe, since: int, client: Client, django_capture_on_commit_callbacks):
    """A card payment of $10.00 that succeeded at Stripe and was credited through its event."""

    def make(amount: int = 1_000) -> Payment:
        started = card_payment_start(user=user, purpose="test_purchase", amount=amount)
        intent_id = started.payment.stripe_payment_intent_id
        localstripe.pay(intent_id)
        for event in localstripe.events_for(intent_id, since):
            with django_capture_on_commit_callbacks(execute=True):
                deliver(client, event)
        payment = Payment.objects.get(pk=started.payment.pk)
        assert payment.status == "succeeded"
        return payment

    return make


def _refund_postings(payment: Payment) -> int:
    return LedgerTransaction.objects.filter(kind=TransactionKind.REFUND, reference=payment.reference).count()


def test_a_full_refund_goes_back_to_the_card_once(user, paid, localstripe: LocalStripe) -> None:
    payment = paid(1_000)
    refund = payment_refund(payment=payment, amount=1_000, reason="requested_by_customer")
    assert refund.status == PaymentRefund.Status.SUCCEEDED
    assert refund.ledger_transaction is not None
    remote = localstripe.refunds_for(payment.stripe_payment_intent_id)
    assert [(r["id"], r["amount"], r["metadata"]) for r in remote] == [
        (
            refund.stripe_refund_id,
            1_000,
            {"agora_refund": str(refund.pk), "agora_reference": payment.reference},
        )
    ]
    assert usd_wallet(user) == 0
    assert _refund_postings(payment) == 1
    # Nothing is left to refund; asking again refunds nothing more.
    with pytest.raises(AmountInvalid):
        payment_refund(payment=payment, amount=1)
    assert payment_refund_submit(refund_id=refund.pk).status == PaymentRefund.Status.SUCCEEDED
    assert len(localstripe.refunds_for(payment.stripe_payment_intent_id)) == 1
    assert _refund_postings(payment) == 1


def test_partial_refunds_add_up_to_at_most_what_was_paid(user, paid, localstripe: LocalStripe) -> None:
    payment = paid(1_000)
    first = payment_refund(payment=payment, amount=300)
    second = payment_refund(payment=payment, amount=650)
    with pytest.raises(AmountInvalid) as too_much:
        payment_refund(payment=payment, amount=51)
    assert too_much.value.detail == {"refundable": "50", "asked": "51"}
    last = payment_refund(payment=payment, amount=50)
    assert [r.status for r in (first, second, last)] == ["succeeded"] * 3
    remote = sorted(r["amount"] for r in localstripe.refunds_for(payment.stripe_payment_intent_id))
    assert remote == [50, 300, 650]
    assert usd_wallet(user) == 0
    assert _refund_postings(payment) == 3


def test_refund_events_change_nothing_more(
    user, paid, localstripe: LocalStripe, client: Client, django_capture_on_commit_callbacks
) -> None:
    """localstripe does not emit refund events; these are built around the real refund object and
    signed like Stripe's. A refund already settled stays settled, once."""
    payment = paid(800)
    refund = payment_refund(payment=payment, amount=200)
    remote = localstripe.refunds_for(payment.stripe_payment_intent_id)[0]
    charge = {"id": remote["charge"], "object": "charge", "payment_intent": payment.stripe_payment_intent_id}
    for event in (
        make_event("evt_refund_created_1", "refund.created", remote),
        make_event("evt_charge_refunded_1", "charge.refunded", charge),
        make_event("evt_refund_created_1", "refund.created", remote),  # a repeat
    ):
        with django_capture_on_commit_callbacks(execute=True):
            assert deliver(client, event).status_code == 200
    assert StripeEvent.objects.filter(status="processed").count() >= 2
    refund.refresh_from_db()
    assert refund.status == PaymentRefund.Status.SUCCEEDED
    assert usd_wallet(user) == 600
    assert _refund_postings(payment) == 1


def test_a_spent_wallet_cannot_be_refunded_to_the_card(user, paid, localstripe: LocalStripe) -> None:
    payment = paid(1_000)
    wallet = user_account_get_or_create(user=user, kind=AccountKind.WALLET, asset="USD")
    revenue = system_account_get_or_create(kind=AccountKind.PLATFORM_REVENUE, asset="USD")
    transaction_post(
        kind=TransactionKind.INFERENCE, legs=[Leg(wallet, -900), Leg(revenue, 900)], idempotency_key="spend:1"
    )
    with pytest.raises(InsufficientFunds):
        payment_refund(payment=payment, amount=500)
    assert not PaymentRefund.objects.exists()  # nothing recorded
    assert localstripe.refunds_for(payment.stripe_payment_intent_id) == []  # nothing sent
    assert usd_wallet(user) == 100


def test_a_refund_stripe_refuses_fails_and_gives_the_money_back(user, localstripe: LocalStripe) -> None:
    # Our books say succeeded, but the intent at Stripe was never paid (so Stripe refuses the refund).
    started = card_payment_start(user=user, purpose="test_purchase", amount=700)
    payment_credit(
        payment_id=started.payment.pk,
        amount=700,
        idempotency_key=f"stripe:pi:{started.payment.stripe_payment_intent_id}",
    )
    payment = Payment.objects.get(pk=started.payment.pk)
    with pytest.raises(PaymentProviderRejected):
        payment_refund(payment=payment, amount=700)
    refund = PaymentRefund.objects.get(payment=payment)
    assert refund.status == PaymentRefund.Status.FAILED
    assert usd_wallet(user) == 700  # debited, then put back
    assert LedgerTransaction.objects.filter(idempotency_key=f"refund:{refund.pk}:failed").count() == 1
    # The failed refund does not count against what can still be refunded.
    with pytest.raises(PaymentProviderRejected):
        payment_refund(payment=payment, amount=700)


def test_only_a_succeeded_card_payment_is_refunded(user) -> None:
    awaiting = card_payment_start(user=user, purpose="test_purchase", amount=500).payment
    with pytest.raises(InvalidState):
        payment_refund(payment=awaiting, amount=100)
    chain = payment_create(user=user, purpose="test_purchase", rail="agr", amount=10**18)
    with pytest.raises(InvalidState):
        payment_refund(payment=chain, amount=100)
    for amount in (0, -5, 1.5):
        with pytest.raises(AmountInvalid):
            payment_refund(payment=awaiting, amount=amount)  # type: ignore[arg-type]
    assert not PaymentRefund.objects.exists()


@pytest.fixture
def topped_up(user, localstripe: LocalStripe, since: int, client: Client, django_capture_on_commit_callbacks):
    """A $10.00 prepaid top-up, credited with its 10% bonus ($11.00 in the wallet)."""
    started = card_payment_start(user=user, purpose="credit_top_up", amount=1_000)
    intent_id = started.payment.stripe_payment_intent_id
    localstripe.pay(intent_id)
    for event in localstripe.events_for(intent_id, since):
        with django_capture_on_commit_callbacks(execute=True):
            deliver(client, event)
    assert usd_wallet(user) == 1_100
    return Payment.objects.get(pk=started.payment.pk)


def test_refunding_a_top_up_takes_back_its_bonus(user, topped_up: Payment) -> None:
    payment_refund(payment=topped_up, amount=1_000)
    assert usd_wallet(user) == 0  # the $1.00 bonus went back to promotions, not to the buyer


def test_partial_top_up_refunds_take_back_the_bonus_in_proportion(user, topped_up: Payment) -> None:
    payment_refund(payment=topped_up, amount=333)
    assert usd_wallet(user) == 1_100 - 333 - 33  # floor(100 * 333 / 1000)
    payment_refund(payment=topped_up, amount=667)
    # Cumulative floors (100 * 1000 // 1000 - 33 = 67 now): never more than was granted, and the
    # whole bonus once the whole payment is refunded.
    assert usd_wallet(user) == 0


def test_partial_top_up_refunds_summing_to_the_whole_take_back_the_whole_bonus(
    user, topped_up: Payment
) -> None:
    promotions = system_account_get_or_create(kind=AccountKind.PROMOTIONS, asset="USD")
    promotions.refresh_from_db()
    promotions_before = account_balance(account=promotions)
    taken_back = []
    for amount in (333, 333, 333, 1):
        before = usd_wallet(user)
        payment_refund(payment=topped_up, amount=amount)
        taken_back.append(before - usd_wallet(user) - amount)
    assert taken_back == [33, 33, 33, 1]  # cumulative floors of 100 * refunded / 1000
    assert sum(taken_back) == 100  # the whole $1.00 bonus, not 99 cents
    assert usd_wallet(user) == 0
    promotions.refresh_from_db()
    assert account_balance(account=promotions) - promotions_before == 100
