"""S2: the same event delivered 1-5 times in a row, or by 12 threads at once on PostgreSQL (each with
its own connection, as separate web workers would be), has its effect exactly once."""

from __future__ import annotations

import random
from typing import Any

import pytest
from django.test import Client

from tests.tokenomics.concurrency.threads import race
from tests.tokenomics.stripe.conftest import SECRET_NEW, SECRET_OLD, LocalStripe, deliver
from tokenomics.models import LedgerTransaction, Payment, StripeEvent
from tokenomics.models.rails import PaymentStatus
from tokenomics.selectors.ledger import ledger_verify, user_balances
from tokenomics.services.stripe_events import stripe_event_ingest, stripe_event_process
from tokenomics.services.stripe_rail import card_payment_start
from tokenomics.stripe_client import event_from_payload

THREADS = 12


def usd_wallet(user) -> int:
    return next((b.wallet for b in user_balances(user=user) if b.asset == "USD"), 0)


def _succeeded_event(
    user, localstripe: LocalStripe, since: int, amount: int
) -> tuple[Payment, dict[str, Any]]:
    started = card_payment_start(user=user, purpose="test_purchase", amount=amount)
    intent_id = started.payment.stripe_payment_intent_id
    localstripe.pay(intent_id)
    [event] = localstripe.events_for(intent_id, since)
    assert event["type"] == "payment_intent.succeeded"
    return started.payment, event


def _assert_credited_once(user, payment: Payment, event: dict[str, Any], amount: int) -> None:
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.received_amount == amount
    assert LedgerTransaction.objects.filter(reference=payment.reference).count() == 1
    assert usd_wallet(user) == amount
    stored = StripeEvent.objects.get(event_id=event["id"])
    assert (stored.status, stored.attempts) == ("processed", 1)
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("copies", [1, 2, 3, 4, 5])
def test_sequential_copies_have_one_effect(
    copies: int,
    user,
    localstripe: LocalStripe,
    since: int,
    client: Client,
    django_capture_on_commit_callbacks,
) -> None:
    payment, event = _succeeded_event(user, localstripe, since, 3_000)
    duplicates = []
    for n in range(copies):
        with django_capture_on_commit_callbacks(execute=True):
            # Stripe re-signs each retry; during a rotation either secret may be used.
            response = deliver(client, event, secret=SECRET_NEW if n % 2 == 0 else SECRET_OLD)
        assert response.status_code == 200
        duplicates.append(response.json()["duplicate"])
    assert duplicates == [False] + [True] * (copies - 1)
    _assert_credited_once(user, payment, event, 3_000)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_copies_have_one_effect(user, localstripe: LocalStripe, since: int) -> None:
    payment, event = _succeeded_event(user, localstripe, since, 4_000)

    def post(index: int) -> int:
        secret = SECRET_NEW if index % 2 == 0 else SECRET_OLD
        return int(deliver(Client(), event, secret=secret).status_code)

    outcomes = race(THREADS, post)
    assert [o.error for o in outcomes] == [None] * THREADS
    assert [o.value for o in outcomes] == [200] * THREADS
    _assert_credited_once(user, payment, event, 4_000)
    assert ledger_verify().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_processing_of_one_stored_event_applies_it_once(
    user, localstripe: LocalStripe, since: int
) -> None:
    """Workers racing on the same stored event (a retried task, reconciliation, a duplicate's
    enqueue): the event row lock lets one apply it; the others find it processed."""
    payment, event = _succeeded_event(user, localstripe, since, 2_500)
    # Stored without its enqueue running yet (as if the broker held it).
    StripeEvent.objects.create(
        event_id=event["id"], type=event["type"], object_id=event["data"]["object"]["id"], payload=event
    )
    outcomes = race(THREADS, lambda index: stripe_event_process(event_id=event["id"]).status)
    assert [o.error for o in outcomes] == [None] * THREADS
    assert {o.value for o in outcomes} == {"processed"}
    _assert_credited_once(user, payment, event, 2_500)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_mixed_copies_of_two_payments_have_one_effect_each(
    user, other_user, localstripe: LocalStripe, since: int
) -> None:
    """1-5 copies of each of two payments' events, shuffled, all sent at once: webhook deliveries
    and direct ingests race each other."""
    first, first_event = _succeeded_event(user, localstripe, since, 1_100)
    second, second_event = _succeeded_event(other_user, localstripe, since, 2_200)
    rng = random.Random(20261121)
    jobs = [first_event] * rng.randint(1, 5) + [second_event] * rng.randint(1, 5)
    jobs += [first_event, second_event] * 3  # at least 10 racers in all
    rng.shuffle(jobs)

    def send(index: int) -> str:
        event = jobs[index]
        if index % 3 == 0:  # reconciliation's path: ingest, then process
            stripe_event_ingest(event=event_from_payload(event))
            return str(stripe_event_process(event_id=event["id"]).status)
        return str(deliver(Client(), event).status_code)

    outcomes = race(len(jobs), send)
    assert [o.error for o in outcomes] == [None] * len(jobs)
    _assert_credited_once(user, first, first_event, 1_100)
    _assert_credited_once(other_user, second, second_event, 2_200)
    assert StripeEvent.objects.count() == 2
