"""Batch-job fixtures: fresh gateway and routing state, a hosted listing served by stub KServe
nodes (real HTTP servers on loopback), a buyer with prepaid credit and an inference API key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as account_services
from compute import meter_store, node_state
from compute.models import Node, NodeVersion
from compute.services import routing
from compute.services.gateway_impl import gateway_caches_clear
from tests.accounts.factories import UserFactory
from tests.compute.gateway.conftest import per_inference_plan
from tests.compute.stub_kserve import MODEL, StubNode
from tests.marketplace.factories import ListingFactory, VersionFactory
from tests.tokenomics.factories import funded_wallet, staked

INPUT = [{"name": "INPUT_1", "datatype": "FP32", "shape": [1, 4], "data": [1.0, 2.0, 3.0, 4.0]}]


def item(value: float = 1.0) -> dict[str, Any]:
    return {"inputs": [{**INPUT[0], "data": [value, value + 1, value + 2, value + 3]}]}


BAD_ITEM = {"inputs": [{"name": "INPUT_1", "datatype": "FP32", "shape": [1, 3], "data": [1.0, 2.0, 3.0]}]}


@pytest.fixture(autouse=True)
def _fresh_state() -> Iterator[None]:
    meter_store.reset_for_tests()
    gateway_caches_clear()
    cache.clear()
    node_state.reset_for_tests()
    routing.candidates_forget()
    routing._ewma_ms.clear()
    yield
    meter_store.reset_for_tests()
    gateway_caches_clear()
    routing.candidates_forget()
    routing._ewma_ms.clear()


@pytest.fixture
def stubs() -> Iterator[list[StubNode]]:
    started: list[StubNode] = []
    yield started
    for stub in started:
        stub.stop()


def serve(version: Any, stubs: list[StubNode]) -> tuple[Node, StubNode]:
    stub = StubNode(mode="ok").start()
    stubs.append(stub)
    node = Node.objects.create(
        provider=staked(user=UserFactory()),  # paid traffic needs the minimum stake
        name=stub.url,
        triton_url=stub.url,
        healthy=True,
        last_probe_at=timezone.now(),
        advertised_latency_ms=50,
    )
    NodeVersion.objects.create(node=node, version=version, model_name=MODEL, ready=True)
    routing.candidates_forget()
    return node, stub


@pytest.fixture
def hosted(db: Any) -> Any:
    listing = ListingFactory(slug="identity-batch")
    version = VersionFactory(listing=listing, version="1.0.0", triton_model_name=MODEL)
    per_inference_plan(listing, price_per_1000_cents=500)
    return version


@pytest.fixture
def buyer(db: Any) -> Any:
    user = UserFactory()
    funded_wallet(user=user, amount=10_000)  # $100
    return user


def api(user: Any) -> APIClient:
    client = APIClient()
    key = account_services.api_key_create(user=user, name="batch", scopes=["inference"]).secret
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client
