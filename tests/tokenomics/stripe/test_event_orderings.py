"""S3: 1,000 random orderings of one payment's whole event sequence end in the state that in-order
delivery gives: the same payment status, one credit, the same refund, the same ledger movements,
and no event left failed.

The sequence: payment_intent.created, requires_action, payment_failed (a declined card), processing
(a second attempt), succeeded; then refund.created (pending) and refund.updated, the refund having
succeeded in half the runs and failed in the other half. Agora makes the refund as soon as it has
seen the payment succeed; its refund events cannot reach us before that (our row exists before
the Stripe call), so an ordering that puts one earlier has it delivered right after the refund.

Every delivery goes through the real path: stripe_event_ingest, then stripe_event_process, which
re-fetches the object from Stripe. To run a thousand orderings in seconds, the re-fetch answers from
states captured once from real localstripe objects (parsed by the real `stripe_client`): each
delivery sees the object as it was at a random moment between the event's emission and the end,
so it may see a stale copy (eventual consistency) or the final state. localstripe settles cards at
once and refunds always succeed there, so "processing" and the pending and failed refund are its
succeeded objects with the status changed.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings

from core.fields import WideSum
from tests.tokenomics.stripe.conftest import CARD_3DS, CARD_DECLINED, LocalStripe, make_event
from tokenomics import stripe_client
from tokenomics.models import LedgerEntry, LedgerTransaction, Payment, PaymentRefund, StripeEvent
from tokenomics.models.ledger import AccountKind
from tokenomics.models.rails import PaymentStatus
from tokenomics.services.payments import payment_create
from tokenomics.services.stripe_events import stripe_event_ingest, stripe_event_process
from tokenomics.services.stripe_refunds import payment_refund

# Committed for real (transaction=True): a thousand orderings in one test transaction would pile
# up row versions of the shared ledger accounts and slow PostgreSQL down as it goes.
pytestmark = pytest.mark.django_db(transaction=True)

ORDERINGS = 1_000
AMOUNT = 1_000  # US cents
REFUND = 300
SEED = 31_415


@dataclass(frozen=True)
class Step:
    key: str
    type: str
    subject: str  # "pi" or "refund"
    state: str  # the subject's state at Stripe from this event on


def sequence(refund_outcome: str) -> list[Step]:
    return [
        Step("created", "payment_intent.created", "pi", "created"),
        Step("action", "payment_intent.requires_action", "pi", "requires_action"),
        Step("failed", "payment_intent.payment_failed", "pi", "failed"),
        Step("processing", "payment_intent.processing", "pi", "processing"),
        Step("succeeded", "payment_intent.succeeded", "pi", "succeeded"),
        Step("refund_created", "refund.created", "refund", "pending"),
        Step("refund_updated", "refund.updated", "refund", refund_outcome),
    ]


@pytest.fixture(scope="module")
def captured(localstripe: LocalStripe) -> dict[str, Any]:
    """Real object states from localstripe, one PaymentIntent per state (localstripe cannot take one
    intent through all of them), read through the real client."""
    client = localstripe.client

    def intent() -> str:
        return str(client.v1.payment_intents.create(params={"amount": AMOUNT, "currency": "usd"}).id)

    def read(intent_id: str) -> stripe_client.PaymentIntent:
        return stripe_client.payment_intent_retrieve(payment_intent_id=intent_id)

    # Module scope: the per-test settings fixture has not run yet.
    with override_settings(STRIPE_API_BASE=localstripe.url, STRIPE_SECRET_KEY="sk_test_local"):
        states: dict[str, Any] = {"created": read(intent())}
        three_ds = intent()
        localstripe.pay(three_ds, card=CARD_3DS)
        states["requires_action"] = read(three_ds)
        declined = intent()
        localstripe.pay(declined, card=CARD_DECLINED)
        states["failed"] = read(declined)
        paid = intent()
        localstripe.pay(paid)
        states["succeeded"] = read(paid)
        refund = client.v1.refunds.create(params={"payment_intent": paid, "amount": REFUND})
        states["refund"] = stripe_client.refund_retrieve(refund_id=str(refund.id))
    states["processing"] = dataclasses.replace(states["succeeded"], status="processing", amount_received=0)
    statuses = [states[s].status for s in ("created", "requires_action", "failed", "succeeded")]
    assert statuses == ["requires_payment_method", "requires_action", "requires_payment_method", "succeeded"]
    assert states["failed"].last_payment_error
    assert not states["created"].last_payment_error
    assert states["succeeded"].amount_received == AMOUNT
    assert states["refund"].status == "succeeded"
    return states


class World:
    """Stripe as processing sees it during one run: `now` (set by the harness before each
    delivery) is the moment of the re-fetch, and each object answers with its state then."""

    def __init__(self, captured: dict[str, Any], steps: list[Step], n: int, payment: Payment) -> None:
        self.captured = captured
        self.steps = steps
        self.payment = payment
        self.intent_id = f"pi_s3_{n}"
        self.refund_id = f"re_s3_{n}"
        self.refund_metadata: dict[str, str] | None = None
        self.now = 0

    def _state(self, subject: str) -> str:
        states = [s.state for s in self.steps[: self.now + 1] if s.subject == subject]
        return states[-1] if states else "pending"  # a refund just made, before its first event

    def intent(self, *, payment_intent_id: str) -> stripe_client.PaymentIntent:
        assert payment_intent_id == self.intent_id
        metadata = {"agora_payment": str(self.payment.pk), "agora_reference": self.payment.reference}
        return dataclasses.replace(self.captured[self._state("pi")], id=self.intent_id, metadata=metadata)

    def refund(self, *, refund_id: str) -> stripe_client.Refund:
        assert refund_id == self.refund_id
        assert self.refund_metadata is not None
        return dataclasses.replace(
            self.captured["refund"],
            id=self.refund_id,
            status=self._state("refund"),
            amount=REFUND,
            payment_intent=self.intent_id,
            metadata=self.refund_metadata,
        )

    def create_refund(
        self, *, payment_intent_id: str, amount: int, metadata: Any, idempotency_key: str
    ) -> Any:
        assert (payment_intent_id, amount) == (self.intent_id, REFUND)
        assert idempotency_key == f"refund-{metadata['agora_refund']}"
        assert self.refund_metadata is None  # made once
        self.refund_metadata = dict(metadata)
        return self.refund(refund_id=self.refund_id)


@pytest.fixture
def fast_commits() -> Iterator[None]:
    """The test database need not wait for the disk at each of its ~15,000 commits."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    yield
    with connection.cursor() as cursor:
        cursor.execute("RESET synchronous_commit")


@pytest.fixture
def stripe_world(monkeypatch, captured) -> dict[str, World]:
    holder: dict[str, World] = {}
    monkeypatch.setattr(stripe_client, "payment_intent_retrieve", lambda **kw: holder["w"].intent(**kw))
    monkeypatch.setattr(stripe_client, "refund_retrieve", lambda **kw: holder["w"].refund(**kw))
    monkeypatch.setattr(stripe_client, "refund_create", lambda **kw: holder["w"].create_refund(**kw))
    return holder


def _run(user, holder: dict[str, World], captured, n: int, steps: list[Step], order: list[Step], rng):
    payment = payment_create(
        user=user, purpose="test_purchase", rail="card", amount=AMOUNT, reference=f"s3:{n}"
    )
    world = World(captured, steps, n, payment)
    Payment.objects.filter(pk=payment.pk).update(stripe_payment_intent_id=world.intent_id)
    holder["w"] = world
    index = {step.key: i for i, step in enumerate(steps)}
    queue, waiting, refunded = deque(order), [], False
    while queue:
        step = queue.popleft()
        if step.subject == "refund" and not refunded:
            waiting.append(step)
            continue
        # The re-fetch sees the object at some moment between the event's emission and the end.
        world.now = index[step.key] if rng is None else rng.randint(index[step.key], len(steps) - 1)
        obj = {"id": world.intent_id if step.subject == "pi" else world.refund_id, "object": step.subject}
        event = make_event(f"evt_{step.key}_{n}", step.type, obj, created=1_800_000_000)
        stripe_event_ingest(event=stripe_client.event_from_payload(event))
        stripe_event_process(event_id=event["id"])
        if not refunded and Payment.objects.filter(pk=payment.pk, status=PaymentStatus.SUCCEEDED).exists():
            world.now = index["succeeded"]  # Agora refunds right after it saw the money arrive
            payment_refund(payment=payment, amount=REFUND)
            refunded = True
            queue.extendleft(reversed(waiting))
            waiting = []
    assert refunded
    return _outcome(user, payment, n)


def _outcome(user, payment: Payment, n: int) -> tuple[Any, ...]:
    payment.refresh_from_db()
    wallet = LedgerEntry.objects.filter(
        account__owner=user, account__kind=AccountKind.WALLET, transaction__reference=payment.reference
    ).aggregate(total=WideSum("amount"))["total"]
    kinds = sorted(
        LedgerTransaction.objects.filter(reference=payment.reference).values_list("kind", flat=True)
    )
    refunds = list(PaymentRefund.objects.filter(payment=payment).values_list("amount", "status"))
    objects = [payment.stripe_payment_intent_id, f"re_s3_{n}"]
    events = set(StripeEvent.objects.filter(object_id__in=objects).values_list("status", flat=True))
    return (payment.status, payment.received_amount, wallet, tuple(kinds), tuple(refunds)), events


EXPECTED = {
    "succeeded": (
        PaymentStatus.SUCCEEDED,
        AMOUNT,
        AMOUNT - REFUND,
        ("deposit", "refund"),
        ((REFUND, "succeeded"),),
    ),
    "failed": (  # the refund failed at Stripe: its wallet debit was put back
        PaymentStatus.SUCCEEDED,
        AMOUNT,
        AMOUNT,
        ("deposit", "refund", "reversal"),
        ((REFUND, "failed"),),
    ),
}


def test_every_ordering_ends_in_the_in_order_state(user, stripe_world, captured, fast_commits) -> None:
    rng = random.Random(SEED)
    in_order: dict[str, tuple[Any, ...]] = {}
    n = 0
    for outcome in ("succeeded", "failed"):
        n += 1
        steps = sequence(outcome)
        in_order[outcome], events = _run(user, stripe_world, captured, n, steps, list(steps), rng=None)
        assert in_order[outcome] == EXPECTED[outcome]
        assert events <= {"processed", "ignored"}

    seen: set[tuple[str, ...]] = set()
    assert math.factorial(len(sequence("succeeded"))) * 2 > ORDERINGS  # enough distinct orderings exist
    while len(seen) < ORDERINGS:
        n += 1
        outcome = rng.choice(("succeeded", "failed"))
        steps = sequence(outcome)
        order = rng.sample(steps, len(steps))
        key = (outcome, *(s.key for s in order))
        if key in seen:
            continue
        seen.add(key)
        final, events = _run(user, stripe_world, captured, n, steps, order, rng)
        assert final == in_order[outcome], (n, key)
        assert events <= {"processed", "ignored"}, (n, key, events)
    assert len(seen) == ORDERINGS
