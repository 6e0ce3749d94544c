"""Dynamic pricing (issue 15 item 2): the formula and its bounds as tables, and the cached quote
the gateway charges."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from compute.models import Node, NodeVersion
from compute.services import pricing
from compute.services.pricing import demand_multiplier_bps, price_parts
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import VersionFactory


@pytest.mark.parametrize(
    ("calls", "capacity", "expected"),
    [
        (0, 1200, 8000),  # idle: the floor, 0.8x
        (960, 1200, 8000),  # exactly 0.8 of capacity
        (1200, 1200, 10_000),  # at capacity: 1.0x
        (1800, 1200, 15_000),
        (2400, 1200, 20_000),  # twice capacity: the ceiling, 2.0x
        (10_000, 1200, 20_000),  # beyond: still 2.0x
        (5, 0, 20_000),  # no healthy capacity at all: full demand
        (0, 0, 20_000),
    ],
)
def test_demand_multiplier_is_load_over_capacity_within_bounds(
    calls: int, capacity: int, expected: int
) -> None:
    assert demand_multiplier_bps(calls=calls, capacity=capacity, min_bps=8000, max_bps=20_000) == expected


@pytest.mark.parametrize("bad", [{"calls": -1}, {"capacity": -1}, {"min_bps": 30_000}])
def test_demand_multiplier_refuses_bad_inputs(bad: dict[str, int]) -> None:
    args = {"calls": 1, "capacity": 1, "min_bps": 8000, "max_bps": 20_000, **bad}
    with pytest.raises(ValueError, match="bad demand inputs"):
        demand_multiplier_bps(**args)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("size", "demand_bps", "supply", "fee"),
    [
        ("small", 10_000, 1, 100),  # base 100 micro-USD x 1
        ("medium", 10_000, 1, 300),
        ("large", 10_000, 1, 1000),
        ("large", 8000, 1, 800),  # 0.8x
        ("large", 20_000, 1, 2000),  # 2.0x
        ("large", 50_000, 1, 2000),  # demand above the bound is clamped
        ("large", 1000, 1, 800),  # and below it
        ("large", 10_000, 4, 250),  # four healthy nodes
        ("medium", 15_000, 7, 64),  # floor(100*3*1.5/7) = floor(64.28)
        ("small", 10_000, 0, 100),  # no node: supply is at least 1
    ],
)
def test_compute_fee_formula(size: str, demand_bps: int, supply: int, fee: int) -> None:
    parts = price_parts(size=size, demand_bps=demand_bps, supply=supply)
    assert parts.compute_fee_micro == fee
    assert 8000 <= parts.demand_multiplier_bps <= 20_000
    assert parts.supply_factor >= 1


def _healthy_node(version: Any, latency_ms: int) -> Node:
    node = Node.objects.create(
        provider=UserFactory(),
        name=f"n{latency_ms}",
        triton_url="http://127.0.0.1:9",
        healthy=True,
        last_probe_at=timezone.now(),
        advertised_latency_ms=latency_ms,
    )
    NodeVersion.objects.create(node=node, version=version, model_name="m", ready=True)
    return node


@pytest.mark.django_db
def test_a_refresh_caches_the_quote_from_load_and_healthy_supply() -> None:
    cache.clear()
    version = VersionFactory()
    listing = version.listing
    _healthy_node(version, 100)  # 600 calls a minute
    _healthy_node(version, 100)
    # Before any refresh: 1.0x demand, the supply as of now.
    before = pricing.quote(listing_id=listing.pk, size=listing.size)
    assert (before.demand_multiplier_bps, before.supply_factor) == (10_000, 2)
    refreshed = pricing.quote_refresh(listing_id=listing.pk, size=listing.size)
    assert (refreshed.demand_multiplier_bps, refreshed.supply_factor) == (8000, 2)  # idle
    # A third node arriving does not move the quoted price until the next refresh.
    _healthy_node(version, 100)
    assert pricing.quote(listing_id=listing.pk, size=listing.size) == refreshed
    assert pricing.quote_refresh(listing_id=listing.pk, size=listing.size).supply_factor == 3


@pytest.mark.parametrize(
    ("price", "bps", "fee"),
    [
        (5600, 1000, 560),  # 10%
        (5600, 500, 280),  # the registry's lowest, 5%
        (5600, 2000, 1120),  # and highest, 20%
        (999, 1000, 99),  # floored: the buyer never pays a fraction more than the rate
        (0, 1000, 0),
    ],
)
def test_priority_fee_is_a_floored_share_of_the_call_price(price: int, bps: int, fee: int) -> None:
    assert pricing.priority_fee_micro(price_micro=price, fee_bps=bps) == fee


@pytest.mark.parametrize("bad", [{"price_micro": -1}, {"fee_bps": -1}, {"fee_bps": 10_001}])
def test_priority_fee_refuses_bad_inputs(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the messages are the money module's
        pricing.priority_fee_micro(**{"price_micro": 100, "fee_bps": 1000, **bad})


def test_a_calls_price_adds_up() -> None:
    parts = pricing.PriceParts(
        base_rate_micro=100,
        complexity=3,
        demand_multiplier_bps=15_000,
        supply_factor=2,
        compute_fee_micro=225,
    )
    normal = pricing.call_price(
        creator_price_micro=5000, compute=parts, priority=False, priority_fee_bps=1000
    )
    fast = pricing.call_price(creator_price_micro=5000, compute=parts, priority=True, priority_fee_bps=1000)
    subscription = pricing.call_price(
        creator_price_micro=None, compute=parts, priority=True, priority_fee_bps=1000
    )
    assert (normal.total_micro, normal.priority_fee_micro) == (5225, 0)
    assert (fast.total_micro, fast.priority_fee_micro) == (5225 + 522, 522)
    assert (subscription.total_micro, subscription.priority_fee_micro) == (225 + 22, 22)


@pytest.mark.django_db
def test_the_priority_fee_parameter_stays_within_its_registry_bounds() -> None:
    from tokenomics.parameter_catalog import CATALOG_BY_KEY, relation_violations
    from tokenomics.selectors.parameters import parameters_get

    spec = CATALOG_BY_KEY["compute.priority_fee_bps"]
    assert (spec.default, spec.min_value, spec.max_value) == (1000, 500, 2000)
    values = parameters_get(list(CATALOG_BY_KEY))
    assert relation_violations(values) == []
    (problem,) = relation_violations({**values, "compute.priority_fee_bps": 2500})
    assert problem.startswith(
        "compute.priority_fee.min_bps, compute.priority_fee_bps, compute.priority_fee.max_bps"
    )
