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
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone

from compute.models_gateway import InferenceRequest
from compute.models_nodes import NodeVersion
from compute.services.routing import STALE_AFTER_SECONDS
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


def demand_multiplier_bps(*, calls: int, capacity: int, min_bps: int, max_bps: int) -> int:
    """calls / capacity in bps, clamped to [min_bps, max_bps]; no capacity counts as full demand."""
    if calls < 0 or capacity < 0 or min_bps > max_bps:
        raise ValueError(f"bad demand inputs: calls={calls} capacity={capacity} [{min_bps}, {max_bps}]")
    ratio = max_bps if capacity == 0 else calls * BPS_DENOMINATOR // capacity
    return min(max(ratio, min_bps), max_bps)


def price_parts(*, size: str, demand_bps: int, supply: int) -> PriceParts:
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
    cache.set(_key(listing_id), {"demand_bps": demand, "supply": nodes}, QUOTE_TTL_SECONDS)
    return price_parts(size=size, demand_bps=demand, supply=nodes)


def quote(*, listing_id: int, size: str) -> PriceParts:
    """The listing's current per-call compute price with its parts (the cached demand and supply)."""
    cached = cache.get(_key(listing_id))
    if cached is None:
        _calls, nodes, _capacity = market_now(listing_id)
        return price_parts(size=size, demand_bps=BPS_DENOMINATOR, supply=nodes)
    return price_parts(size=size, demand_bps=int(cached["demand_bps"]), supply=int(cached["supply"]))


def quote_dict(parts: PriceParts) -> dict[str, int]:
    return asdict(parts)


def prices_refresh() -> int:
    """Refresh every published listing's quote; returns how many."""
    from marketplace.models import Listing, ListingStatus

    rows = Listing.objects.filter(status=ListingStatus.PUBLISHED).values_list("pk", "size")
    count = 0
    for listing_id, size in rows:
        quote_refresh(listing_id=listing_id, size=size)
        count += 1
    return count


__all__ = ["PriceParts", "demand_multiplier_bps", "price_parts", "prices_refresh", "quote"]
