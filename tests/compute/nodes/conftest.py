from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from compute import node_state
from compute.models import Node, NodeVersion
from compute.services import routing
from tests.accounts.factories import UserFactory
from tests.compute.stub_kserve import MODEL, StubNode
from tests.marketplace.factories import VersionFactory


@pytest.fixture(autouse=True)
def _fresh_routing_state() -> Iterator[None]:
    cache.clear()
    node_state.reset_for_tests()
    routing.candidates_forget()
    routing._ewma_ms.clear()
    yield
    routing.candidates_forget()


@pytest.fixture
def stubs() -> Iterator[list[StubNode]]:
    started: list[StubNode] = []
    yield started
    for stub in started:
        stub.stop()


def serving(version: Any, url: str, *, provider: Any = None, ready: bool = True) -> Node:
    """A node serving `version` at `url`, as a passed probe leaves it."""
    node = Node.objects.create(
        provider=provider or UserFactory(),
        name=url,
        triton_url=url,
        healthy=True,
        last_probe_at=timezone.now(),
        advertised_latency_ms=50,
    )
    NodeVersion.objects.create(node=node, version=version, model_name=MODEL, ready=ready)
    return node


@pytest.fixture
def version(db: Any) -> Any:
    return VersionFactory()
