"""Providers with recorded measurements (NodeMinute rows as the health probe and routing's
counters leave them) and served calls in the request log, for reputation under a controlled clock."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import time_machine

from accounts.models import User
from compute.models import CallRating, InferenceRequest, Node, NodeMinute
from tests.accounts.factories import UserFactory
from tests.compute.sla.conftest import histogram_at
from tests.marketplace.factories import ListingFactory

# The window ends at midnight UTC on this date: the snapshot is the day before's.
END = datetime.fromisoformat("2026-06-01T00:00:00+00:00")


def node(provider: User, *, advertised_ms: int = 100, name: str = "gpu-1", active: bool = True) -> Node:
    return Node.objects.create(
        provider=provider,
        name=name,
        triton_url=f"http://127.0.0.1:9/{name}",
        advertised_latency_ms=advertised_ms,
        healthy=active,
        is_active=active,
    )


def minute(
    of: Node,
    at: datetime,
    *,
    probes: int = 6,
    probes_ok: int = 6,
    calls_ok: int = 0,
    calls_failed: int = 0,
    bucket_ms: int | None = 50,
) -> NodeMinute:
    """One minute of a node: probes, calls and (served calls) all in the bucket up to `bucket_ms`."""
    return NodeMinute.objects.create(
        node=of,
        minute=at,
        probes=probes,
        probes_ok=probes_ok,
        calls_ok=calls_ok,
        calls_failed=calls_failed,
        latency_histogram=histogram_at(bucket_ms, calls_ok),
    )


def served_call(
    *, buyer: User, provider: User, at: datetime, outcome: str = "ok", entitlement: str = "prepaid"
) -> InferenceRequest:
    return InferenceRequest.objects.create(
        request_id=uuid.uuid4(),
        user=buyer,
        listing=ListingFactory(),
        entitlement=entitlement,
        via="playground" if entitlement == "playground" else "api",
        node_id=1,
        provider=provider if outcome == "ok" else None,
        outcome=outcome,
        created_at=at,
    )


def rating(provider: User, stars: int, *, at: datetime) -> CallRating:
    """A buyer's rating made at `at` (the rating's own time is when it was made)."""
    buyer = UserFactory()
    call = served_call(buyer=buyer, provider=provider, at=at - timedelta(minutes=1))
    with time_machine.travel(at, tick=False):
        return CallRating.objects.create(call=call, buyer=buyer, provider=provider, stars=stars)
