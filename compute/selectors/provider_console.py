"""Reads behind the provider console (/provider/): per node, the calls it served and their latency
as the gateway measured them (the request log, `InferenceRequest`), and the provider's earnings
by source (ledger credits)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Sum

from accounts.models import User
from compute.models_gateway import InferenceRequest, Outcome
from tokenomics.models import LedgerEntry
from tokenomics.models.ledger import TransactionKind

STATS_WINDOW = timedelta(hours=24)
# Percentiles are taken over at most this many of a node's latest served calls in the window.
LATENCY_SAMPLE = 20_000


@dataclass(frozen=True)
class NodeCallStats:
    served: int  # calls the node answered (outcome ok) in the window
    p50_ms: float | None
    p99_ms: float | None


def percentile_ms(latencies_us: list[int], fraction: float) -> float | None:
    """Nearest-rank percentile of latencies in microseconds, in milliseconds to 0.1 ms (None when
    there are none). `fraction` is 0.5 for p50, 0.99 for p99."""
    if not latencies_us:
        return None
    ordered = sorted(latencies_us)
    rank = max(1, -(-len(ordered) * round(fraction * 1000) // 1000))  # ceil(n * fraction), exact
    return round(ordered[min(rank, len(ordered)) - 1] / 1000, 1)


def provider_node_call_stats(*, provider: User, now: datetime) -> dict[int, NodeCallStats]:
    """Per node id of `provider`: the calls it served in the last STATS_WINDOW and their p50/p99
    latency (the request log names the provider of served calls only)."""
    since = now - STATS_WINDOW
    served = InferenceRequest.objects.filter(
        provider=provider, outcome=Outcome.OK, node_id__isnull=False, created_at__gte=since
    )
    counts: dict[int, int] = defaultdict(int)
    for node_id in served.values_list("node_id", flat=True).iterator():
        if node_id is not None:
            counts[node_id] += 1
    stats: dict[int, NodeCallStats] = {}
    for node_id, count in counts.items():
        latencies = list(
            served.filter(node_id=node_id)
            .order_by("-created_at")
            .values_list("latency_us", flat=True)[:LATENCY_SAMPLE]
        )
        stats[node_id] = NodeCallStats(
            served=count,
            p50_ms=percentile_ms(latencies, 0.5),
            p99_ms=percentile_ms(latencies, 0.99),
        )
    return stats


# Where a provider's money comes from, in the console's words: the compute share of the calls its
# nodes served (settlement), and the epochs' revenue shares and AGR rewards.
EARNING_SOURCES = (
    (TransactionKind.INFERENCE, "Calls your nodes served (compute fee share)"),
    (TransactionKind.DISTRIBUTION, "Epoch revenue shares"),
    (TransactionKind.EMISSION, "Epoch provider rewards"),
)


@dataclass(frozen=True)
class EarningSource:
    label: str
    asset: str
    amount: int  # minor units of `asset`, credited to the provider's own accounts, lifetime


def provider_earnings_by_source(*, provider: User) -> list[EarningSource]:
    """Lifetime credits to the provider's accounts per source and asset (credits only: payouts and
    stake movements are not earnings)."""
    totals = (
        LedgerEntry.objects.filter(
            account__owner=provider,
            amount__gt=0,
            transaction__kind__in=[kind for kind, _ in EARNING_SOURCES],
        )
        .values("transaction__kind", "account__asset")
        .annotate(total=Sum("amount"))
    )
    found = {(row["transaction__kind"], row["account__asset"]): int(row["total"]) for row in totals}
    return [
        EarningSource(label=label, asset=asset, amount=found[(kind, asset)])
        for kind, label in EARNING_SOURCES
        for asset in ("USD", "AGR")
        if found.get((kind, asset))
    ]
