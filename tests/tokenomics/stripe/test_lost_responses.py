"""S1: a Stripe write whose response is lost after Stripe committed, retried with the same key,
has one effect. The loss is injected by `faults.DroppingProxy` (a tiny HTTP proxy in front of
localstripe that executes the request, then drops the answer 1-3 times; it also plays Stripe's
idempotency-key replay, which localstripe lacks). The stripe library retries twice by itself
(STRIPE_MAX_NETWORK_RETRIES); a third loss reaches our code, and the retry there must reuse the
key derived from the committed row."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.test import Client

from tests.tokenomics.stripe.conftest import LocalStripe, deliver
from tests.tokenomics.stripe.faults import DroppingProxy
from tokenomics.models import LedgerTransaction, Payment, PaymentRefund
from tokenomics.models.ledger import TransactionKind
from tokenomics.models.rails import PaymentStatus
from tokenomics.selectors.ledger import user_balances
from tokenomics.services.stripe_rail import (
    PaymentProviderUnavailable,
    card_payment_intent_ensure,
    card_payment_start,
)
from tokenomics.services.stripe_refunds import payment_refund, payment_refund_submit

pytestmark = pytest.mark.django_db

LIBRARY_RETRIES = 2


@pytest.fixture
def lossy(localstripe: LocalStripe, settings) -> Iterator[Callable[[str, int], DroppingProxy]]:
    proxies: list[DroppingProxy] = []

    def make(path: str, drops: int) -> DroppingProxy:
        proxy = DroppingProxy(target=localstripe.url, drop_path=path, drops=drops).start()
        proxies.append(proxy)
        settings.STRIPE_API_BASE = proxy.url
        settings.STRIPE_MAX_NETWORK_RETRIES = LIBRARY_RETRIES
        return proxy

    yield make
    for proxy in proxies:
        proxy.stop()


def usd_wallet(user) -> int:
    return next((b.wallet for b in user_balances(user=user) if b.asset == "USD"), 0)


@pytest.mark.parametrize("drops", [1, 2, 3])
def test_a_lost_payment_intent_response_makes_one_intent_and_one_credit(
    drops: int,
    user,
    localstripe: LocalStripe,
    lossy,
    settings,
    since: int,
    client: Client,
    django_capture_on_commit_callbacks,
) -> None:
    proxy = lossy("/v1/payment_intents", drops)
    if drops <= LIBRARY_RETRIES:
        card_payment_start(user=user, purpose="test_purchase", amount=2_000)
    else:
        with pytest.raises(PaymentProviderUnavailable):
            card_payment_start(user=user, purpose="test_purchase", amount=2_000)
        payment = Payment.objects.get(user=user)
        assert payment.stripe_payment_intent_id is None  # the row is kept, awaiting its intent
        card_payment_intent_ensure(payment=payment)  # what the checkout page does on retry

    payment = Payment.objects.get(user=user)
    creates = proxy.requests(method="POST", path="/v1/payment_intents")
    assert len(creates) == drops + 1
    assert {c.key for c in creates} == {f"payment-{payment.pk}-intent"}
    assert [c.outcome for c in creates] == ["forwarded"] + ["replayed"] * drops  # executed once
    assert sum(c.dropped for c in creates) == drops

    intents = localstripe.intents_for(payment.reference)  # asked of localstripe directly
    assert [i["id"] for i in intents] == [payment.stripe_payment_intent_id]

    settings.STRIPE_API_BASE = localstripe.url
    localstripe.pay(payment.stripe_payment_intent_id)
    for event in localstripe.events_for(payment.stripe_payment_intent_id, since):
        with django_capture_on_commit_callbacks(execute=True):
            assert deliver(client, event).status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert LedgerTransaction.objects.filter(reference=payment.reference).count() == 1
    assert usd_wallet(user) == 2_000


def _paid(user, localstripe: LocalStripe, since: int, client: Client, capture, amount: int) -> Payment:
    started = card_payment_start(user=user, purpose="test_purchase", amount=amount)
    localstripe.pay(started.payment.stripe_payment_intent_id)
    for event in localstripe.events_for(started.payment.stripe_payment_intent_id, since):
        with capture(execute=True):
            deliver(client, event)
    return Payment.objects.get(pk=started.payment.pk)


@pytest.mark.parametrize("drops", [1, 3])
def test_a_lost_refund_response_makes_one_refund_and_one_debit(
    drops: int,
    user,
    localstripe: LocalStripe,
    lossy,
    since: int,
    client: Client,
    django_capture_on_commit_callbacks,
) -> None:
    payment = _paid(user, localstripe, since, client, django_capture_on_commit_callbacks, 1_500)
    assert usd_wallet(user) == 1_500
    proxy = lossy("/v1/refunds", drops)

    if drops <= LIBRARY_RETRIES:
        refund = payment_refund(payment=payment, amount=600)
    else:
        with pytest.raises(PaymentProviderUnavailable):
            payment_refund(payment=payment, amount=600)
        refund = PaymentRefund.objects.get(payment=payment)
        assert refund.status == PaymentRefund.Status.PENDING
        assert usd_wallet(user) == 900  # taken from the wallet before Stripe was called
        refund = payment_refund_submit(refund_id=refund.pk)  # what reconciliation does

    creates = proxy.requests(method="POST", path="/v1/refunds")
    assert {c.key for c in creates} == {f"refund-{refund.pk}"}
    assert [c.outcome for c in creates][:1] == ["forwarded"]
    assert sum(c.outcome == "forwarded" for c in creates) == 1
    assert refund.status == PaymentRefund.Status.SUCCEEDED
    remote = localstripe.refunds_for(payment.stripe_payment_intent_id)
    assert [(r["id"], r["amount"]) for r in remote] == [(refund.stripe_refund_id, 600)]
    assert (
        LedgerTransaction.objects.filter(kind=TransactionKind.REFUND, reference=payment.reference).count()
        == 1
    )
    assert usd_wallet(user) == 900
