"""Reads of nodes and providers: uptime and latency percentiles from the per-minute history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import QuerySet, Sum
from django.utils import timezone

from accounts.models import User
from compute.models_nodes import LATENCY_BUCKETS_MS, Node, NodeMinute


@dataclass(frozen=True)
class NodeStats:
    uptime_24h: float | None  # share of probes passed, 0..1; None without probes
    uptime_30d: float | None
    p50_ms: float | None  # upper bound of the bucket holding the percentile (24 h)
    p99_ms: float | None
    calls_24h: int
    failures_24h: int


def node_list(*, provider: User) -> QuerySet[Node]:
    return Node.objects.filter(provider=provider, is_active=True).prefetch_related("served__version__listing")


def _percentile(histogram: list[int], q: float) -> float | None:
    total = sum(histogram)
    if not total:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(histogram):
        seen += count
        if seen >= rank:
            return float(LATENCY_BUCKETS_MS[index]) if index < len(LATENCY_BUCKETS_MS) else float("inf")
    return None


def _uptime(rows: QuerySet[NodeMinute]) -> float | None:
    sums = rows.aggregate(ok=Sum("probes_ok"), all=Sum("probes"))
    return None if not sums["all"] else sums["ok"] / sums["all"]


def stats_for(*, node_ids: list[int]) -> NodeStats:
    """Uptime over 24 h and 30 d, latency p50/p99 and calls over 24 h, for one node or several
    (a provider's, added up)."""
    now = timezone.now()
    month = NodeMinute.objects.filter(node_id__in=node_ids, minute__gte=now - timedelta(days=30))
    day = month.filter(minute__gte=now - timedelta(hours=24))
    histogram = [0] * (len(LATENCY_BUCKETS_MS) + 1)
    calls = failures = 0
    for row in day.values("latency_histogram", "calls_ok", "calls_failed"):
        for index, count in enumerate(row["latency_histogram"] or []):
            histogram[index] += count
        calls += row["calls_ok"]
        failures += row["calls_failed"]
    return NodeStats(
        uptime_24h=_uptime(day),
        uptime_30d=_uptime(month),
        p50_ms=_percentile(histogram, 0.50),
        p99_ms=_percentile(histogram, 0.99),
        calls_24h=calls,
        failures_24h=failures,
    )


def provider_public(*, provider_id: int) -> tuple[User, list[Node], NodeStats] | None:
    """A provider with at least one active node, its nodes and its added-up stats; None otherwise."""
    nodes = list(Node.objects.filter(provider_id=provider_id, is_active=True).select_related("provider"))
    if not nodes:
        return None
    return nodes[0].provider, nodes, stats_for(node_ids=[n.pk for n in nodes])
