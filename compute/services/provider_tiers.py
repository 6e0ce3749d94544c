"""Stake gates and tiers in routing and in the compute fee (SPEC §6, issue 15 item 1).

- A paid call is never routed to a node whose provider's bonded stake is below Bronze (the minimum
  stake, `staking.bronze_min`); the free playground may still use it.
- A listing marked exclusive (`quality_tier == exclusive`) is served only by Platinum providers.
- Among what is left, routing prefers the highest tier present (Silver priority, Gold premium): the
  power-of-two-choices pick runs within that tier's nodes.
- The provider's tier lowers the platform's part of the compute fee at settlement
  (`staking.<tier>_fee_discount_bps`, via `compute.services.settlement.provider_tier_resolver_set`).

Tiers come from the ledger's STAKE accounts (`tokenomics.selectors.staking.provider_tiers`) and are
cached per process for a few seconds, like routing's candidates (stake moves rarely).
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

from compute.services.routing import Candidate
from marketplace.models import Listing
from marketplace.models.catalog import QualityTier
from tokenomics.selectors.staking import TIERS, provider_tiers

TIER_CACHE_SECONDS = 5.0
RANK: dict[str | None, int] = {None: 0, **{tier: n + 1 for n, tier in enumerate(TIERS)}}

# Set by the gateway for each call: True for a paid call (subscription quota, prepaid credit), False
# for the free playground. Routing's direct callers (health tooling, tests) are not gated.
paid_call: ContextVar[bool] = ContextVar("paid_call", default=False)

_tiers: dict[int, tuple[float, str | None]] = {}
_exclusive: dict[int, tuple[float, bool]] = {}


def tiers_of(provider_ids: list[int]) -> dict[int, str | None]:
    now = time.monotonic()
    missing = [p for p in provider_ids if p not in _tiers or _tiers[p][0] <= now]
    if missing:
        for provider_id, tier in provider_tiers(missing).items():
            _tiers[provider_id] = (now + TIER_CACHE_SECONDS, tier)
    return {p: _tiers[p][1] for p in provider_ids}


def tier_of(provider_id: int) -> str | None:
    """The provider's tier now (settlement's resolver)."""
    return tiers_of([provider_id])[provider_id]


def listing_is_exclusive(listing_id: int) -> bool:
    now = time.monotonic()
    cached = _exclusive.get(listing_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    tier = Listing.objects.filter(pk=listing_id).values_list("quality_tier", flat=True).first()
    exclusive = tier == QualityTier.EXCLUSIVE
    _exclusive[listing_id] = (now + TIER_CACHE_SECONDS, exclusive)
    return exclusive


def forget() -> None:
    _tiers.clear()
    _exclusive.clear()


def stake_gate(pool: list[Candidate], version: Any, priority: bool) -> list[Candidate]:
    """Drop nodes whose provider may not serve this call: below the minimum stake for a paid call;
    below Platinum for an exclusive listing."""
    if not pool:
        return pool
    tiers = tiers_of([c.provider_id for c in pool])
    if listing_is_exclusive(int(version.listing_id)):
        return [c for c in pool if tiers[c.provider_id] == "platinum"]
    if paid_call.get():
        return [c for c in pool if tiers[c.provider_id] is not None]
    return pool


def prefer_higher_tiers(pool: list[Candidate], version: Any, priority: bool) -> list[Candidate]:
    """Keep only the nodes of the highest tier present (routing picks among them)."""
    if len(pool) < 2:
        return pool
    tiers = tiers_of([c.provider_id for c in pool])
    top = max(RANK[tiers[c.provider_id]] for c in pool)
    return [c for c in pool if RANK[tiers[c.provider_id]] == top]


def register() -> None:
    """Hook into routing's seams and settlement's tier resolver (compute's AppConfig calls this)."""
    from compute.services import routing, settlement

    if stake_gate not in routing.candidate_filters:
        routing.candidate_filters.append(stake_gate)
    if prefer_higher_tiers not in routing.candidate_preferences:
        routing.candidate_preferences.append(prefer_higher_tiers)
    settlement.provider_tier_resolver_set(tier_of)
