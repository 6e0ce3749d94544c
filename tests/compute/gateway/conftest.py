"""Fixtures of the gateway tests: fresh hot-path state, a hosted listing with plans, a funded buyer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from compute import meter_store
from compute.services.gateway_backend import gateway_backend_set
from compute.services.gateway_impl import gateway_caches_clear
from marketplace.models import Listing, ListingVersion, Plan, PlanKind, Subscription, SubscriptionStatus
from tests.accounts.factories import UserFactory
from tests.compute.gateway.backend import DirectTritonBackend
from tests.marketplace.factories import ListingFactory, PlanFactory, VersionFactory

IRIS_INPUT = [{"name": "INPUT_1", "datatype": "FP32", "shape": [-1, 4]}]
IRIS_OUTPUT = [{"name": "OUTPUT_1", "datatype": "FP32", "shape": [-1, 4]}]


@pytest.fixture(autouse=True)
def _fresh_gateway_state() -> Iterator[None]:
    # Counters, reservations and the log stream outlive a test's transaction; so do the
    # per-process caches of listings and buyers.
    meter_store.reset_for_tests()
    gateway_caches_clear()
    yield
    meter_store.reset_for_tests()
    gateway_caches_clear()


@pytest.fixture
def hosted(db: Any) -> tuple[Listing, ListingVersion]:
    listing = ListingFactory()
    version = VersionFactory(listing=listing, version="1.0.0", input_spec=IRIS_INPUT, output_spec=IRIS_OUTPUT)
    return listing, version


def per_inference_plan(listing: Listing, *, price_per_1000_cents: int = 500) -> Plan:
    return PlanFactory(
        listing=listing, kind=PlanKind.PER_INFERENCE, name="Metered", price_cents=price_per_1000_cents
    )


def subscription_plan(
    listing: Listing, *, quota: int | None, name: str = "Basic", price_cents: int = 1900
) -> Plan:
    return PlanFactory(
        listing=listing,
        kind=PlanKind.SUBSCRIPTION,
        name=name,
        price_cents=price_cents,
        interval="month",
        monthly_quota=quota,
    )


def active_subscription(*, buyer: User, plan: Plan) -> Subscription:
    """An active subscription row (periods are paid through the services elsewhere; here only its
    entitlement matters)."""
    now = timezone.now()
    return Subscription.objects.create(
        buyer=buyer,
        plan=plan,
        listing=plan.listing,
        rail="card",
        status=SubscriptionStatus.ACTIVE,
        monthly_quota=plan.monthly_quota,
        current_period_start=now - timedelta(days=1),
        current_period_end=now + timedelta(days=29),
    )


@pytest.fixture
def buyer(db: Any) -> User:
    return UserFactory()


@pytest.fixture
def provider(db: Any) -> Any:
    return UserFactory()


@pytest.fixture
def triton(pytriton_server: Any, provider: Any) -> Iterator[DirectTritonBackend]:
    """The gateway's backend pointed straight at the session's real Triton server (node 7 of `provider`)."""
    backend = DirectTritonBackend(address=pytriton_server.http_address, node_id=7, provider_id=provider.pk)
    previous = gateway_backend_set(backend)
    yield backend
    gateway_backend_set(previous)
