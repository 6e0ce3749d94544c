"""Registry-backed split inputs, and the relations between parameters that changes must keep."""

from __future__ import annotations

import pytest

from tokenomics.errors import ParameterOutOfBounds
from tokenomics.parameter_catalog import CATALOG, relation_violations
from tokenomics.selectors.parameters import parameter_get
from tokenomics.selectors.rates import compute_rates, sale_rates, volume_tiers
from tokenomics.services.parameters import parameter_set
from tokenomics.splits import split_compute, volume_discount_bps

DEFAULTS = {spec.key: spec.default for spec in CATALOG}


def test_catalog_defaults_keep_every_relation() -> None:
    assert relation_violations(DEFAULTS) == []


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"sale.creator_share.platinum_bps": 9500}, "creator share plus the sale fees"),
        ({"compute.provider_bps": 7900}, "compute-fee parts"),
        ({"distribution.community_bps": 900}, "revenue distribution"),
        ({"creator_tier.gold_threshold_cents": 20_000_000}, "ascending"),
        ({"slashing.minor_min_bps": 600}, "ascending"),
        # G6: unbonding shorter than the voting period would let stake vote and leave mid-proposal.
        ({"staking.unstake_cooldown_seconds": 13 * 86_400}, "governance.voting_seconds"),
        ({"governance.voting_seconds": 15 * 86_400}, "staking.unstake_cooldown_seconds"),
    ],
)
def test_relation_violations_name_the_broken_rule(changes: dict[str, int], fragment: str) -> None:
    problems = relation_violations({**DEFAULTS, **changes})
    assert any(fragment in problem for problem in problems), problems


@pytest.mark.django_db
def test_parameter_set_refuses_a_change_that_breaks_a_relation() -> None:
    # Within its own bounds and the quarterly limit, but the compute parts would sum to 96%.
    with pytest.raises(ParameterOutOfBounds) as raised:
        parameter_set(key="compute.provider_bps", value=7600, reason="test", emergency=True)
    assert "compute-fee parts" in raised.value.message
    assert parameter_get("compute.provider_bps") == 8000


@pytest.mark.django_db
def test_sale_and_compute_rates_come_from_the_registry(django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        parameter_set(key="sale.treasury_bps", value=330, reason="test")
    rates = sale_rates(creator_share_bps=8000)
    assert (rates.network_fee_bps, rates.treasury_bps, rates.validator_pool_bps) == (200, 330, 50)

    assert compute_rates(staking_tier=None).provider_tier_discount_bps == 0
    gold = compute_rates(staking_tier="gold")
    assert gold.provider_tier_discount_bps == 2000
    assert split_compute(fee=10_000, rates=gold).provider == 8400


@pytest.mark.django_db
def test_volume_tiers_follow_the_spec_table() -> None:
    tiers = volume_tiers()
    assert [(t.threshold, t.discount_bps) for t in tiers] == [
        (100_000, 500),
        (1_000_000, 1000),
        (10_000_000, 1500),
        (100_000_001, 2000),
    ]
    assert volume_discount_bps(monthly_spend=99_999, tiers=tiers) == 0
    # SPEC §3: "$100,000-1M 15%; > $1M 20%": exactly $1M is 15%, a cent more is 20%.
    assert volume_discount_bps(monthly_spend=100_000_000, tiers=tiers) == 1500
    assert volume_discount_bps(monthly_spend=100_000_001, tiers=tiers) == 2000
    assert volume_discount_bps(monthly_spend=5_000_000, tiers=tiers) == 1000
