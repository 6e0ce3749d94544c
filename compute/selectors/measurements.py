"""Measured service of providers' nodes over a window, from the compact per-minute history
(`NodeMinute`: the health probe's passes and attempts, the calls routing counted as served or
failed by the node's fault, the served calls' latency histogram).

One place for these sums: SLA slashing (`compute.services.sla`, a day), the trust score
(`compute.selectors.reputation`, 90 days) and the epochs' reward multipliers (an epoch) all read them
here, so a node is judged on the same numbers everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from compute.models_nodes import LATENCY_BUCKETS_MS, Node, NodeMinute


def histogram_empty() -> list[int]:
    return [0] * (len(LATENCY_BUCKETS_MS) + 1)


def p50_lower_bound_ms(histogram: list[int]) -> int | None:
    """The lower bound (ms) of the latency bucket holding the median; None without calls.

    A node is given the benefit of the histogram's resolution: a median in the (50, 100] ms bucket
    reads as 50 ms."""
    total = sum(histogram)
    if not total:
        return None
    seen = 0
    for index, count in enumerate(histogram):
        seen += count
        if 2 * seen >= total:
            return 0 if index == 0 else LATENCY_BUCKETS_MS[index - 1]
    raise AssertionError("unreachable: the counts add up to the total")


@dataclass
class NodeMeasure:
    """One node's sums over a window."""

    node: int
    name: str
    advertised_latency_ms: int
    probes: int = 0
    probes_ok: int = 0
    calls_ok: int = 0
    calls_failed: int = 0
    histogram: list[int] = field(default_factory=histogram_empty)

    @property
    def p50_floor_ms(self) -> int | None:
        return p50_lower_bound_ms(self.histogram)


def _add(total: list[int], row: list[int] | None) -> None:
    for index, count in enumerate(row or []):
        total[index] += count


def node_measurements(
    *, provider_id: int, start: datetime, end: datetime, active_only: bool = True
) -> dict[int, NodeMeasure]:
    """{node id: its sums over [start, end)} for the provider's nodes (active ones only, unless
    `active_only` is False: a deregistered node's history still counts for reputation)."""
    nodes = Node.objects.filter(provider_id=provider_id)
    if active_only:
        nodes = nodes.filter(is_active=True)
    measures = {
        node.pk: NodeMeasure(node=node.pk, name=node.name, advertised_latency_ms=node.advertised_latency_ms)
        for node in nodes.only("pk", "name", "advertised_latency_ms")
    }
    rows = NodeMinute.objects.filter(node_id__in=list(measures), minute__gte=start, minute__lt=end).values(
        "node_id", "probes", "probes_ok", "calls_ok", "calls_failed", "latency_histogram"
    )
    for row in rows.iterator(chunk_size=2000):
        entry = measures[row["node_id"]]
        entry.probes += row["probes"]
        entry.probes_ok += row["probes_ok"]
        entry.calls_ok += row["calls_ok"]
        entry.calls_failed += row["calls_failed"]
        _add(entry.histogram, row["latency_histogram"])
    return measures


def provider_histogram(measures: dict[int, NodeMeasure]) -> list[int]:
    """The latency histogram of all the provider's served calls (its nodes' added up)."""
    total = histogram_empty()
    for entry in measures.values():
        _add(total, entry.histogram)
    return total


def attested_minutes(*, provider_id: int, start: datetime, end: datetime) -> int:
    """The minutes of [start, end) in which the health probe found at least one of the provider's
    nodes (active or since deregistered) live and ready: the checker's own attestations."""
    return (
        NodeMinute.objects.filter(
            node__provider_id=provider_id, minute__gte=start, minute__lt=end, probes_ok__gt=0
        )
        .values("minute")
        .distinct()
        .count()
    )
