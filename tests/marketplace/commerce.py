"""Builders for commerce tests: a listing on sale with an encrypted artefact, and paying an order
the way the rails do (a real localstripe charge and its signed webhook, or a credit as the AGR
verification makes it)."""

from __future__ import annotations

from typing import Any

from django.core.files.base import ContentFile
from django.test import Client

from marketplace.artefacts import encrypt_to_storage
from marketplace.models import Listing, ListingVersion, Order, Plan, PlanKind
from marketplace.services.orders import order_create
from tests.marketplace.factories import ListingFactory, PlanFactory, VersionFactory
from tests.tokenomics.stripe.conftest import LocalStripe, deliver
from tokenomics.services.payments import payment_credit

ARTEFACT = b"ONNX\x00model-weights" * 1000


def versioned(listing: Listing, *, content: bytes = ARTEFACT, version: str = "1.0.0") -> ListingVersion:
    """A version of `listing` whose artefact is stored encrypted, as an upload leaves it."""
    stored = encrypt_to_storage(source=ContentFile(content, name="model.onnx"), name="model.onnx")
    major, minor, patch = (int(part) for part in version.split("."))
    return VersionFactory(
        listing=listing,
        version=version,
        major=major,
        minor=minor,
        patch=patch,
        artefact=stored.path,
        artefact_name=stored.name,
        artefact_size=stored.size,
        checksum_sha256=stored.sha256,
        wrapped_key=stored.wrapped_key,
    )


def on_sale(
    *, kind: str = PlanKind.ONE_TIME, price_cents: int = 4_900, creator: Any = None, **plan: Any
) -> Plan:
    """A published listing with a downloadable version and one active plan of `kind`."""
    listing = ListingFactory(**({"creator": creator} if creator is not None else {}))
    versioned(listing)
    if kind == PlanKind.SUBSCRIPTION:
        plan.setdefault("interval", "month")
    return PlanFactory(listing=listing, kind=kind, price_cents=price_cents, **plan)


def pay_by_card(order: Order, localstripe: LocalStripe, client: Client, since: int, capture: Any) -> Order:
    """Charge the order's PaymentIntent at localstripe and deliver its signed webhook, as the
    browser and Stripe do; returns the order as the handler left it."""
    assert order.payment is not None
    intent_id = order.payment.stripe_payment_intent_id
    assert localstripe.pay(intent_id)["status"] == "succeeded"
    events = [e for e in localstripe.events_for(intent_id, since) if e["type"] == "payment_intent.succeeded"]
    with capture(execute=True):
        assert deliver(client, events[0]).status_code == 200
    order.refresh_from_db()
    return order


def card_order(
    buyer: Any, plan: Plan, localstripe: LocalStripe, client: Client, since: int, capture: Any
) -> Order:
    started = order_create(buyer=buyer, plan_id=plan.pk, rail="card")
    return pay_by_card(started.order, localstripe, client, since, capture)


def credit_arrival(order: Order) -> Order:
    """Credit the order's payment in full, exactly as the AGR verification does once a transfer
    is confirmed (tokenomics.services.payments.payment_credit), without a chain."""
    assert order.payment_id is not None
    payment_credit(
        payment_id=order.payment_id, amount=int(order.total), idempotency_key=f"test:{order.reference}"
    )
    order.refresh_from_db()
    return order
