"""Providers with stake and recorded measurements (NodeMinute rows as the health probe and the
routing counters leave them), for SLA slashing under a controlled clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from accounts.models import User
from compute.models import LATENCY_BUCKETS_MS, Node, NodeMinute
from tests.accounts.factories import UserFactory
from tests.tokenomics.factories import funded_wallet
from tokenomics.money import agr
from tokenomics.services.staking import stake_deposit

# The evaluated day ends at midnight UTC on this date (the clock is set just after it).
DAY_END = datetime.fromisoformat("2026-03-11T00:00:00+00:00")


def staked_provider(*, stake_whole: int = 60_000, wallet_whole: int | None = None) -> User:
    """A provider with `stake_whole` AGR bonded (60,000: Silver, max slash 10%)."""
    provider = UserFactory()
    funded_wallet(user=provider, amount=agr(wallet_whole or stake_whole), asset="AGR")
    stake_deposit(user=provider, amount=agr(stake_whole), idempotency_key="bond")
    return provider


def node_of(provider: User, *, advertised_ms: int = 100, name: str = "gpu-1") -> Node:
    return Node.objects.create(
        provider=provider,
        name=name,
        triton_url=f"http://127.0.0.1:9/{name}",
        advertised_latency_ms=advertised_ms,
        healthy=True,
    )


def histogram_at(bucket_upper_ms: int | None, calls: int) -> list[int]:
    """`calls` all in the bucket whose upper bound is `bucket_upper_ms` (None: above the last)."""
    histogram = [0] * (len(LATENCY_BUCKETS_MS) + 1)
    index = len(LATENCY_BUCKETS_MS) if bucket_upper_ms is None else LATENCY_BUCKETS_MS.index(bucket_upper_ms)
    histogram[index] = calls
    return histogram


def record_day(
    node: Node,
    *,
    end: datetime = DAY_END,
    probes: int,
    probes_ok: int,
    calls_ok: int = 0,
    calls_failed: int = 0,
    histogram: list[int] | None = None,
) -> None:
    """The day's counts in minutes of [end - 24 h, end): a probe a minute (the probe runs every
    10 s; the ratio is what the rule reads), the calls in the first minute."""
    assert 0 < probes <= 1440
    start = end - timedelta(hours=24)
    NodeMinute.objects.bulk_create(
        NodeMinute(
            node=node,
            minute=start + timedelta(minutes=index),
            probes=1,
            probes_ok=1 if index < probes_ok else 0,
        )
        for index in range(probes)
    )
    first = NodeMinute.objects.filter(node=node, minute__gte=start).order_by("minute").first()
    assert first is not None
    first.calls_ok = calls_ok
    first.calls_failed = calls_failed
    first.latency_histogram = histogram or histogram_at(50, calls_ok)
    first.save()
