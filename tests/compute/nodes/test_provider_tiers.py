"""Stake gates and tiers in routing and in the compute fee (issue 15 item 1), against stub KServe
nodes and real staking through the ledger."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from compute.services import provider_tiers, routing, settlement
from compute.services.routing import NoProviderAvailable, route_infer
from compute.tensors import validate_inputs
from marketplace.models.catalog import QualityTier
from tests.accounts.factories import UserFactory
from tests.compute.nodes.conftest import serving
from tests.compute.stub_kserve import StubNode
from tests.tokenomics.factories import staked
from tokenomics.selectors.rates import compute_rates
from tokenomics.splits import split_compute

pytestmark = pytest.mark.django_db

INPUTS = [{"name": "INPUT_1", "datatype": "FP32", "shape": [1, 4], "data": [1.0, 2.0, 3.0, 4.0]}]


@pytest.fixture(autouse=True)
def _fresh_tiers() -> Iterator[None]:
    provider_tiers.forget()
    yield
    provider_tiers.forget()


def provider(tier: str | None, *, short: int = 0) -> Any:
    """A provider with exactly the stake for `tier` (less `short` base units); None: no stake."""
    user = UserFactory()
    return user if tier is None else staked(user=user, tier=tier, short=short)


def _node(version: Any, stubs: list[StubNode], owner: Any) -> Any:
    stub = StubNode(mode="ok").start()
    stubs.append(stub)
    return serving(version, stub.url, provider=owner)


def _served(version: Any, *, paid: bool, calls: int = 30) -> set[int]:
    token = provider_tiers.paid_call.set(paid)
    try:
        tensors = validate_inputs(version.input_spec, INPUTS)
        return {route_infer(version, tensors, deadline_s=5.0).node_id for _ in range(calls)}
    finally:
        provider_tiers.paid_call.reset(token)


def test_the_seams_are_registered() -> None:
    assert provider_tiers.stake_gate in routing.candidate_filters
    assert provider_tiers.prefer_higher_tiers in routing.candidate_preferences
    assert settlement._provider_tier[0] is provider_tiers.tier_of


def test_a_paid_call_never_reaches_a_provider_below_the_minimum_stake(version, stubs) -> None:
    staked = _node(version, stubs, provider("bronze"))
    _node(version, stubs, provider("bronze", short=1))  # one base unit short of the minimum
    _node(version, stubs, provider(None))
    assert _served(version, paid=True) == {staked.pk}


def test_with_only_unstaked_nodes_a_paid_call_finds_no_provider(version, stubs) -> None:
    _node(version, stubs, provider(None))
    with pytest.raises(NoProviderAvailable):
        _served(version, paid=True, calls=1)


def test_the_free_playground_may_use_an_unstaked_node(version, stubs) -> None:
    unstaked = _node(version, stubs, provider(None))
    assert _served(version, paid=False, calls=3) == {unstaked.pk}


@pytest.mark.parametrize(
    ("tiers", "winner"),
    [
        (["bronze", "silver"], "silver"),
        (["silver", "gold", "bronze"], "gold"),
        (["gold", "platinum"], "platinum"),
        ([None, "bronze"], "bronze"),
    ],
)
def test_routing_prefers_the_highest_tier(version, stubs, tiers: list[str | None], winner: str) -> None:
    nodes = {tier: _node(version, stubs, provider(tier)) for tier in tiers}
    assert _served(version, paid=True) == {nodes[winner].pk}


def test_when_the_preferred_tier_fails_a_lower_tier_serves_the_call(version, stubs) -> None:
    gold = _node(version, stubs, provider("gold"))
    bronze = _node(version, stubs, provider("bronze"))
    stubs[0].mode = "error"  # the gold node answers 500 to every call
    # The preference is an order, not a filter: each call fails over to the Bronze node.
    assert _served(version, paid=True, calls=5) == {bronze.pk}
    assert gold.pk not in _served(version, paid=True, calls=5)


def test_an_exclusive_listing_is_served_by_platinum_only(version, stubs) -> None:
    version.listing.quality_tier = QualityTier.EXCLUSIVE
    version.listing.save(update_fields=["quality_tier"])
    gold = provider("gold")
    _node(version, stubs, gold)
    with pytest.raises(NoProviderAvailable):
        _served(version, paid=True, calls=1)
    with pytest.raises(NoProviderAvailable):
        _served(version, paid=False, calls=1)  # exclusivity is about who serves, free or not
    provider_tiers.forget()
    platinum = _node(version, stubs, provider("platinum"))
    routing.candidates_forget()
    assert _served(version, paid=True) == {platinum.pk}


@pytest.mark.parametrize(
    ("tier", "discount_bps"), [(None, 0), ("bronze", 0), ("silver", 1000), ("gold", 2000), ("platinum", 3000)]
)
def test_the_tier_lowers_the_platforms_part_of_the_compute_fee(tier: str | None, discount_bps: int) -> None:
    user = provider(tier)
    resolved = provider_tiers.tier_of(user.pk)
    assert resolved == tier
    fee = 1_000_000
    base = split_compute(fee=fee, rates=compute_rates(staking_tier=None))
    tiered = split_compute(fee=fee, rates=compute_rates(staking_tier=resolved))
    platform_part = fee - base.provider
    assert tiered.provider - base.provider == platform_part * discount_bps // 10_000
    assert sum(tiered.parts().values()) == fee
