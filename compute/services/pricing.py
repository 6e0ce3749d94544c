"""Dynamic compute pricing (SPEC §4, issue 15 item 2).

compute fee = base_rate x model_complexity x demand_multiplier / supply_factor (one floor, in
`tokenomics.splits.compute_fee`):
- complexity: 1 / 3 / 10 by the listing's model size (`compute.complexity.<size>`);
- demand multiplier: the last minute's calls against the healthy nodes' capacity (a node serves
  60,000 / advertised latency calls a minute), clamped to `compute.demand_multiplier.min_bps` ..
  `max_bps` (0.8x idle .. 2.0x at twice capacity or more; 1.0x at exactly capacity);
- supply factor: the number of healthy nodes serving the model, at least `compute.supply_factor.min`.

The demand and supply parts are recomputed on a short period (`prices_refresh`, a beat task) and
cached, so the price a buyer is quoted is the price the call is charged; with no cached quote a
listing is priced at 1.0x demand and its supply as of now.

The priority lane (issue 15 item 3) adds `compute.priority_fee_bps` of the call's price (the
creator's per-call price plus the compute fee), floored; SPEC §4 names no split for it, so it is
part of the compute fee and goes through the compute split (provider, validators, treasury).
`call_price` gives a call's whole price with its parts, as the price endpoint quotes it and as
`max_price` is checked against.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.utils import timezone

from compute.models_gateway import InferenceRequest
from compute.models_nodes import NodeVersion
from compute.services.routing import STALE_AFTER_SECONDS
from tokenomics.money import require_non_negative
from tokenomics.selectors.parameters import parameters_get
from tokenomics.splits import BPS_DENOMINATOR, compute_fee

QUOTE_TTL_SECONDS = 120  # a quote outlives a few refresh periods, so a missed beat keeps prices
LOAD_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class PriceParts:
    base_rate_micro: int
    complexity: int
    demand_multiplier_bps: int
    supply_factor: int
    compute_fee_micro: int
    computed_at: datetime | None = None  # when demand and supply were measured (None: not cached)


def demand_multiplier_bps(*, calls: int, capacity: int, min_bps: int, max_bps: int) -> int:
    """calls / capacity in bps, clamped to [min_bps, max_bps]; no capacity counts as full demand."""
    if calls < 0 or capacity < 0 or min_bps > max_bps:
        raise ValueError(f"bad demand inputs: calls={calls} capacity={capacity} [{min_bps}, {max_bps}]")
    ratio = max_bps if capacity == 0 else calls * BPS_DENOMINATOR // capacity
    return min(max(ratio, min_bps), max_bps)


def price_parts(
    *, size: str, demand_bps: int, supply: int, computed_at: datetime | None = None
) -> PriceParts:
    keys = ["compute.base_rate_micro_usd", f"compute.complexity.{size}", "compute.supply_factor.min"]
    keys += ["compute.demand_multiplier.min_bps", "compute.demand_multiplier.max_bps"]
    values = parameters_get(keys)
    demand = min(
        max(demand_bps, values["compute.demand_multiplier.min_bps"]),
        values["compute.demand_multiplier.max_bps"],
    )
    factor = max(supply, values["compute.supply_factor.min"], 1)
    base, complexity = values["compute.base_rate_micro_usd"], values[f"compute.complexity.{size}"]
    return PriceParts(
        base_rate_micro=base,
        complexity=complexity,
        demand_multiplier_bps=demand,
        supply_factor=factor,
        compute_fee_micro=compute_fee(
            base_rate=base, complexity=complexity, demand_multiplier_bps=demand, supply_factor=factor
        ),
        computed_at=computed_at,
    )


def _key(listing_id: int) -> str:
    return f"compute:price:{listing_id}"


def market_now(listing_id: int) -> tuple[int, int, int]:
    """(calls in the last minute, healthy nodes serving the listing, their capacity a minute)."""
    now = timezone.now()
    calls = InferenceRequest.objects.filter(listing_id=listing_id, created_at__gte=now - LOAD_WINDOW).count()
    rows = NodeVersion.objects.filter(
        version__listing_id=listing_id,
        ready=True,
        node__is_active=True,
        node__healthy=True,
        node__last_probe_at__gte=now - timedelta(seconds=STALE_AFTER_SECONDS),
    ).values_list("node_id", "node__advertised_latency_ms")
    latency = dict(rows)
    capacity = sum(60_000 // max(int(ms or 0), 1) for ms in latency.values())
    return calls, len(latency), capacity


def quote_refresh(*, listing_id: int, size: str) -> PriceParts:
    """Recompute and cache the listing's price (the beat task calls this for every listing)."""
    values = parameters_get(["compute.demand_multiplier.min_bps", "compute.demand_multiplier.max_bps"])
    calls, nodes, capacity = market_now(listing_id)
    demand = demand_multiplier_bps(
        calls=calls,
        capacity=capacity,
        min_bps=values["compute.demand_multiplier.min_bps"],
        max_bps=values["compute.demand_multiplier.max_bps"],
    )
    at = timezone.now()
    cache.set(
        _key(listing_id), {"demand_bps": demand, "supply": nodes, "at": at.isoformat()}, QUOTE_TTL_SECONDS
    )
    return price_parts(size=size, demand_bps=demand, supply=nodes, computed_at=at)


def quote(*, listing_id: int, size: str) -> PriceParts:
    """The listing's current per-call compute price with its parts (the cached demand and supply)."""
    cached = cache.get(_key(listing_id))
    if cached is None:
        _calls, nodes, _capacity = market_now(listing_id)
        return price_parts(size=size, demand_bps=BPS_DENOMINATOR, supply=nodes)
    at = cached.get("at")
    return price_parts(
        size=size,
        demand_bps=int(cached["demand_bps"]),
        supply=int(cached["supply"]),
        computed_at=datetime.fromisoformat(at) if at else None,
    )


def quote_dict(parts: PriceParts) -> dict[str, object]:
    return asdict(parts)


def priority_fee_micro(*, price_micro: int, fee_bps: int) -> int:
    """The priority lane's fee on a call of `price_micro`: `fee_bps` of it, floored."""
    price = require_non_negative("price_micro", price_micro)
    if not 0 <= fee_bps <= BPS_DENOMINATOR:
        raise ValueError(f"fee_bps must be 0..{BPS_DENOMINATOR}, got {fee_bps}")
    return price * fee_bps // BPS_DENOMINATOR


@dataclass(frozen=True)
class CallPrice:
    """One call's price with its parts, micro-USD: the creator's per-call price (None: the listing
    has no per-inference plan, its calls are paid by a subscription), the compute fee and its
    parts, and the priority fee (0 for a normal call). `total_micro` is what a prepaid call is
    charged; the compute fee recorded for it is `compute_fee_micro + priority_fee_micro`."""

    creator_price_micro: int | None
    compute: PriceParts
    priority: bool
    priority_fee_bps: int
    priority_fee_micro: int
    total_micro: int


def call_price(
    *, creator_price_micro: int | None, compute: PriceParts, priority: bool, priority_fee_bps: int
) -> CallPrice:
    base = (creator_price_micro or 0) + compute.compute_fee_micro
    fee = priority_fee_micro(price_micro=base, fee_bps=priority_fee_bps) if priority else 0
    return CallPrice(
        creator_price_micro=creator_price_micro,
        compute=compute,
        priority=priority,
        priority_fee_bps=priority_fee_bps,
        priority_fee_micro=fee,
        total_micro=base + fee,
    )


def prices_refresh() -> int:
    """Refresh every published listing's quote; returns how many."""
    from marketplace.models import Listing, ListingStatus

    rows = Listing.objects.filter(status=ListingStatus.PUBLISHED).values_list("pk", "size")
    count = 0
    for listing_id, size in rows:
        quote_refresh(listing_id=listing_id, size=size)
        count += 1
    return count


__all__ = [
    "CallPrice",
    "PriceParts",
    "call_price",
    "demand_multiplier_bps",
    "price_parts",
    "prices_refresh",
    "priority_fee_micro",
    "quote",
]
