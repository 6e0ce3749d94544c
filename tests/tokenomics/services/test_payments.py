"""Payments through a rail: each arrival credited once, status monotonic, purpose handlers once."""

from __future__ import annotations

import pytest

from tokenomics.errors import AmountInvalid, InvalidState
from tokenomics.models import LedgerTransaction, Payment
from tokenomics.models.rails import PaymentStatus
from tokenomics.money import agr
from tokenomics.selectors.ledger import user_balances
from tokenomics.services import payments
from tokenomics.services.payments import payment_create, payment_credit, payment_mark

pytestmark = pytest.mark.django_db


def wallet(user, asset: str) -> int:
    return next(b.wallet for b in user_balances(user=user) if b.asset == asset)


def test_a_payment_takes_its_asset_from_the_rail(user) -> None:
    card = payment_create(user=user, purpose="credit_top_up", rail="card", amount=5_000)
    chain = payment_create(user=user, purpose="credit_top_up", rail="agr", amount=agr(10))
    assert (card.asset, chain.asset) == ("USD", "AGR")
    assert card.status == PaymentStatus.AWAITING
    assert card.reference.startswith("credit_top_up:")
    assert LedgerTransaction.objects.count() == 0  # nothing moves until money arrives


@pytest.mark.parametrize("amount", [0, -1, 1.5, True])
def test_a_payment_needs_a_positive_whole_amount(user, amount: object) -> None:
    with pytest.raises(AmountInvalid):
        payment_create(user=user, purpose="credit_top_up", rail="card", amount=amount)  # type: ignore[arg-type]
    assert not Payment.objects.exists()


def test_a_top_up_credits_the_amount_plus_the_prepaid_bonus_once(user) -> None:
    payment = payment_create(user=user, purpose="credit_top_up", rail="card", amount=5_000)
    for _ in range(3):  # the same arrival reported three times (webhook, reconciliation, retry)
        payment = payment_credit(payment_id=payment.pk, amount=5_000, idempotency_key="stripe:pi:pi_1")
    assert wallet(user, "USD") == 5_500  # 10% bonus, rounded down
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.received_amount == 5_000
    assert payment.paid_at is not None
    assert LedgerTransaction.objects.filter(reference=payment.reference).count() == 1


def test_an_order_payment_gets_no_bonus_and_runs_its_handler_once(user, monkeypatch) -> None:
    seen: list[str] = []
    monkeypatch.setitem(payments._handlers, "order", lambda p: seen.append(p.reference))
    payment = payment_create(user=user, purpose="order", rail="agr", amount=agr(100), reference="order:1")
    payment_credit(payment_id=payment.pk, amount=agr(60), idempotency_key="chain:1337:0xa:0")
    assert seen == []  # not paid in full yet
    payment = payment_credit(payment_id=payment.pk, amount=agr(50), idempotency_key="chain:1337:0xb:0")
    payment_credit(payment_id=payment.pk, amount=agr(50), idempotency_key="chain:1337:0xb:0")
    assert seen == ["order:1"]
    assert payment.received_amount == agr(110)
    assert wallet(user, "AGR") == agr(110)  # the 10 AGR overpaid stays in the buyer's wallet


def test_a_canceled_payment_refuses_credits(user) -> None:
    payment = payment_create(user=user, purpose="credit_top_up", rail="card", amount=100)
    payment_mark(payment_id=payment.pk, status=PaymentStatus.CANCELED)
    with pytest.raises(InvalidState):
        payment_credit(payment_id=payment.pk, amount=100, idempotency_key="stripe:pi:pi_2")
    assert wallet(user, "USD") == 0


def test_status_only_moves_forward(user) -> None:
    payment = payment_create(user=user, purpose="credit_top_up", rail="card", amount=100)
    assert payment_mark(payment_id=payment.pk, status=PaymentStatus.PROCESSING).status == "processing"
    assert payment_mark(payment_id=payment.pk, status=PaymentStatus.AWAITING).status == "processing"
    assert payment_mark(payment_id=payment.pk, status=PaymentStatus.FAILED).status == "failed"
    # A failed card may be retried by the buyer: processing again is allowed.
    assert payment_mark(payment_id=payment.pk, status=PaymentStatus.PROCESSING).status == "processing"
    payment_credit(payment_id=payment.pk, amount=100, idempotency_key="stripe:pi:pi_3")
    for late in (PaymentStatus.FAILED, PaymentStatus.CANCELED, PaymentStatus.PROCESSING):
        assert payment_mark(payment_id=payment.pk, status=late).status == "succeeded"
