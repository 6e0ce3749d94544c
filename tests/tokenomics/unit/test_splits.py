"""The split engine: worked examples from SPEC §3-4, boundaries, rejections and exactness properties."""

from __future__ import annotations

import ast
import random
from dataclasses import FrozenInstanceError
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenomics import money, splits
from tokenomics.splits import (
    ComputeRates,
    ComputeSplit,
    CreatorTier,
    InferenceSplit,
    SaleRates,
    SaleSplit,
    TierRule,
    VolumeTier,
    apply_discount,
    bonus_for,
    compute_fee,
    creator_tier_for,
    next_tier,
    prorated_refund,
    split_compute,
    split_inference,
    split_partial_refund,
    split_sale,
    volume_discount_bps,
)

# SPEC §4 defaults, as the parameter registry would pass them in. Thresholds in USD cents.
BRONZE = TierRule(tier=CreatorTier.BRONZE, threshold=0, share_bps=8000)
SILVER = TierRule(tier=CreatorTier.SILVER, threshold=100_000, share_bps=8200)
GOLD = TierRule(tier=CreatorTier.GOLD, threshold=1_000_000, share_bps=8500)
PLATINUM = TierRule(tier=CreatorTier.PLATINUM, threshold=10_000_000, share_bps=8800)
TIER_RULES = (BRONZE, SILVER, GOLD, PLATINUM)


def sale_rates(creator_share_bps: int) -> SaleRates:
    return SaleRates(
        creator_share_bps=creator_share_bps, network_fee_bps=200, treasury_bps=300, validator_pool_bps=50
    )


def compute_rates(discount_bps: int) -> ComputeRates:
    return ComputeRates(
        provider_bps=8000, network_ops_bps=1500, treasury_bps=500, provider_tier_discount_bps=discount_bps
    )


# SPEC §3 volume discounts, in USD cents of monthly spend.
VOLUME_TIERS = (
    VolumeTier(threshold=100_000, discount_bps=500),
    VolumeTier(threshold=1_000_000, discount_bps=1000),
    VolumeTier(threshold=10_000_000, discount_bps=1500),
    VolumeTier(threshold=100_000_000, discount_bps=2000),
)

NOT_INTS = [1.0, 0.5, True, False, Decimal(1), "100", None]

amounts = st.integers(min_value=0, max_value=10**30)
bps = st.integers(min_value=0, max_value=10_000)
tiers = st.sampled_from(TIER_RULES)


@st.composite
def valid_sale_rates(draw: st.DrawFn) -> SaleRates:
    # Any four rates whose sum is at most 10_000, including the edge where it is exactly 10_000.
    remaining = 10_000
    values = []
    for _ in range(4):
        value = draw(st.integers(min_value=0, max_value=remaining))
        values.append(value)
        remaining -= value
    draw(st.randoms(use_true_random=False)).shuffle(values)
    creator, network, treasury, validator = values
    return SaleRates(
        creator_share_bps=creator,
        network_fee_bps=network,
        treasury_bps=treasury,
        validator_pool_bps=validator,
    )


@st.composite
def tier_sale_rates(draw: st.DrawFn) -> SaleRates:
    # A creator tier's share with random platform-fee parts that still fit in what the creator leaves.
    rule = draw(tiers)
    left = 10_000 - rule.share_bps
    network = draw(st.integers(min_value=0, max_value=left))
    treasury = draw(st.integers(min_value=0, max_value=left - network))
    validator = draw(st.integers(min_value=0, max_value=left - network - treasury))
    return SaleRates(
        creator_share_bps=rule.share_bps,
        network_fee_bps=network,
        treasury_bps=treasury,
        validator_pool_bps=validator,
    )


@st.composite
def valid_compute_rates(draw: st.DrawFn) -> ComputeRates:
    provider = draw(bps)
    network_ops = draw(st.integers(min_value=0, max_value=10_000 - provider))
    treasury = draw(st.integers(min_value=0, max_value=10_000 - provider - network_ops))
    discount = draw(st.one_of(st.sampled_from([0, 1000, 2000, 3000]), bps))
    return ComputeRates(
        provider_bps=provider,
        network_ops_bps=network_ops,
        treasury_bps=treasury,
        provider_tier_discount_bps=discount,
    )


def assert_exact_parts(whole: int, parts: dict[str, int]) -> None:
    assert all(type(value) is int for value in parts.values()), parts
    assert all(value >= 0 for value in parts.values()), parts
    assert sum(parts.values()) == whole, parts


# --------------------------------------------------------------------------- creator tiers


@pytest.mark.parametrize(
    ("sales", "tier"),
    [
        (0, CreatorTier.BRONZE),
        (99_999, CreatorTier.BRONZE),
        (100_000, CreatorTier.SILVER),
        (999_999, CreatorTier.SILVER),
        (1_000_000, CreatorTier.GOLD),
        (9_999_999, CreatorTier.GOLD),
        (10_000_000, CreatorTier.PLATINUM),
        (10**30, CreatorTier.PLATINUM),
    ],
)
def test_creator_tier_is_reached_exactly_at_its_threshold(sales: int, tier: CreatorTier) -> None:
    assert creator_tier_for(lifetime_net_sales=sales, rules=TIER_RULES).tier is tier


def test_creator_tier_does_not_depend_on_rule_order() -> None:
    shuffled = list(TIER_RULES)
    random.Random(4).shuffle(shuffled)
    assert shuffled != list(TIER_RULES)
    assert creator_tier_for(lifetime_net_sales=1_000_000, rules=shuffled) == GOLD
    assert next_tier(lifetime_net_sales=1_000_000, rules=shuffled) == PLATINUM


def test_creator_tier_uses_thresholds_passed_in() -> None:
    rules = [BRONZE, TierRule(tier=CreatorTier.SILVER, threshold=5, share_bps=9000)]
    assert creator_tier_for(lifetime_net_sales=5, rules=rules).share_bps == 9000
    assert creator_tier_for(lifetime_net_sales=4, rules=rules).share_bps == 8000


@pytest.mark.parametrize(
    ("sales", "expected"),
    [(0, SILVER), (99_999, SILVER), (100_000, GOLD), (9_999_999, PLATINUM), (10_000_000, None)],
)
def test_next_tier(sales: int, expected: TierRule | None) -> None:
    assert next_tier(lifetime_net_sales=sales, rules=TIER_RULES) == expected


@given(sales=amounts)
def test_creator_tier_is_the_highest_reached(sales: int) -> None:
    rule = creator_tier_for(lifetime_net_sales=sales, rules=TIER_RULES)
    upcoming = next_tier(lifetime_net_sales=sales, rules=TIER_RULES)
    assert rule.threshold <= sales
    assert all(other.threshold <= rule.threshold or other.threshold > sales for other in TIER_RULES)
    assert upcoming is None or rule.threshold <= sales < upcoming.threshold


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([], "must not be empty"),
        ([SILVER, GOLD], "lowest tier threshold must be 0"),
        ([BRONZE, SILVER, TierRule(tier=CreatorTier.GOLD, threshold=100_000, share_bps=8500)], "distinct"),
    ],
)
def test_creator_tier_rejects_bad_rules(rules: list[TierRule], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        creator_tier_for(lifetime_net_sales=0, rules=rules)
    with pytest.raises(ValueError, match=message):
        next_tier(lifetime_net_sales=0, rules=rules)


def test_creator_tier_rejects_negative_sales() -> None:
    with pytest.raises(ValueError, match="lifetime_net_sales"):
        creator_tier_for(lifetime_net_sales=-1, rules=TIER_RULES)
    with pytest.raises(ValueError, match="lifetime_net_sales"):
        next_tier(lifetime_net_sales=-1, rules=TIER_RULES)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tier": "gold", "threshold": 0, "share_bps": 8000},
        {"tier": CreatorTier.GOLD, "threshold": -1, "share_bps": 8000},
        {"tier": CreatorTier.GOLD, "threshold": 0, "share_bps": 10_001},
        {"tier": CreatorTier.GOLD, "threshold": 0, "share_bps": -1},
        {"tier": CreatorTier.GOLD, "threshold": 0.0, "share_bps": 8000},
    ],
)
def test_tier_rule_rejects_bad_fields(kwargs: dict[str, Any]) -> None:
    with pytest.raises((TypeError, ValueError)):
        TierRule(**kwargs)


def test_creator_tier_values() -> None:
    assert [tier.value for tier in CreatorTier] == ["bronze", "silver", "gold", "platinum"]
    assert CreatorTier("gold") is CreatorTier.GOLD


# --------------------------------------------------------------------------- sales


def test_bronze_sale_of_100_dollars() -> None:
    split = split_sale(gross=10_000, rates=sale_rates(BRONZE.share_bps))
    assert split.parts() == {
        "creator": 8000,
        "network_fee": 200,
        "treasury": 300,
        "validator_pool": 50,
        "platform": 1450,
    }
    assert split.gross == 10_000
    assert split.platform_fee == 2000


@pytest.mark.parametrize(
    ("rule", "creator", "platform"),
    [(BRONZE, 8000, 1450), (SILVER, 8200, 1250), (GOLD, 8500, 950), (PLATINUM, 8800, 650)],
)
def test_sale_of_100_dollars_at_each_tier(rule: TierRule, creator: int, platform: int) -> None:
    split = split_sale(gross=10_000, rates=sale_rates(rule.share_bps))
    assert (split.creator, split.network_fee, split.treasury, split.validator_pool) == (creator, 200, 300, 50)
    assert split.platform == platform


def test_sale_remainders_go_to_the_platform() -> None:
    # $1.99 at Bronze: exact parts 159.2 / 3.98 / 5.97 / 0.995; each floors and the 3.145 cents of
    # remainders join the platform's exact 28.855.
    split = split_sale(gross=199, rates=sale_rates(BRONZE.share_bps))
    assert split.parts() == {
        "creator": 159,
        "network_fee": 3,
        "treasury": 5,
        "validator_pool": 0,
        "platform": 32,
    }


def test_one_cent_sale_goes_wholly_to_the_platform() -> None:
    split = split_sale(gross=1, rates=sale_rates(PLATINUM.share_bps))
    assert split.parts() == {
        "creator": 0,
        "network_fee": 0,
        "treasury": 0,
        "validator_pool": 0,
        "platform": 1,
    }


def test_zero_sale_is_all_zeros() -> None:
    assert set(split_sale(gross=0, rates=sale_rates(8000)).parts().values()) == {0}


def test_sale_in_agr_base_units() -> None:
    # Unit-agnostic: 1 AGR (10**18 base units) at Gold.
    split = split_sale(gross=money.agr(1), rates=sale_rates(GOLD.share_bps))
    assert split.creator == 85 * 10**16
    assert split.validator_pool == 5 * 10**15
    assert split.platform == money.agr(1) - 85 * 10**16 - 2 * 10**16 - 3 * 10**16 - 5 * 10**15


def test_rates_summing_to_exactly_100_percent_leave_the_platform_only_remainders() -> None:
    rates = SaleRates(creator_share_bps=9450, network_fee_bps=200, treasury_bps=300, validator_pool_bps=50)
    assert split_sale(gross=10_000, rates=rates).platform == 0
    assert split_sale(gross=19, rates=rates).platform == 19 - 17 - 0 - 0 - 0


@given(gross=amounts, rates=st.one_of(valid_sale_rates(), tier_sale_rates()))
def test_sale_parts_are_exact(gross: int, rates: SaleRates) -> None:
    split = split_sale(gross=gross, rates=rates)
    assert_exact_parts(gross, split.parts())
    assert split.gross == gross
    # Every non-platform part is the floor of its exact share ...
    assert split.creator == gross * rates.creator_share_bps // 10_000
    assert split.network_fee == gross * rates.network_fee_bps // 10_000
    assert split.treasury == gross * rates.treasury_bps // 10_000
    assert split.validator_pool == gross * rates.validator_pool_bps // 10_000
    # ... so the platform's part exceeds its exact share by less than one unit per floored part.
    others = rates.creator_share_bps + rates.network_fee_bps + rates.treasury_bps + rates.validator_pool_bps
    excess = split.platform * 10_000 - gross * (10_000 - others)
    assert 0 <= excess < 4 * 10_000


@pytest.mark.parametrize(
    "kwargs",
    [
        {"creator_share_bps": 9500, "network_fee_bps": 200, "treasury_bps": 300, "validator_pool_bps": 50},
        {"creator_share_bps": 10_001, "network_fee_bps": 0, "treasury_bps": 0, "validator_pool_bps": 0},
        {"creator_share_bps": 8000, "network_fee_bps": -1, "treasury_bps": 300, "validator_pool_bps": 50},
        {"creator_share_bps": 0, "network_fee_bps": 0, "treasury_bps": 0, "validator_pool_bps": 10_001},
    ],
)
def test_sale_rates_reject_out_of_range(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="bps"):
        SaleRates(**kwargs)


@pytest.mark.parametrize("bad", NOT_INTS)
def test_sale_rates_reject_non_ints(bad: object) -> None:
    with pytest.raises(TypeError, match="creator_share_bps must be an int"):
        SaleRates(creator_share_bps=bad, network_fee_bps=200, treasury_bps=300, validator_pool_bps=50)  # type: ignore[arg-type]


def test_split_sale_rejects_negative_gross() -> None:
    with pytest.raises(ValueError, match="gross must be >= 0"):
        split_sale(gross=-1, rates=sale_rates(8000))


@pytest.mark.parametrize("bad", NOT_INTS)
def test_split_sale_rejects_non_int_gross(bad: object) -> None:
    with pytest.raises(TypeError, match="gross must be an int"):
        split_sale(gross=bad, rates=sale_rates(8000))  # type: ignore[arg-type]


def test_split_sale_rejects_rates_of_the_wrong_type() -> None:
    with pytest.raises(TypeError, match="SaleRates"):
        split_sale(gross=100, rates=compute_rates(0))  # type: ignore[arg-type]


def test_sale_split_refuses_parts_that_do_not_sum_to_the_gross() -> None:
    with pytest.raises(ValueError, match="sum to 99"):
        SaleSplit(gross=100, creator=80, network_fee=2, treasury=3, validator_pool=0, platform=14)
    with pytest.raises(ValueError, match="platform must be >= 0"):
        SaleSplit(gross=100, creator=101, network_fee=0, treasury=0, validator_pool=0, platform=-1)


def test_splits_and_rates_are_frozen_and_keyword_only() -> None:
    split = split_sale(gross=100, rates=sale_rates(8000))
    with pytest.raises(FrozenInstanceError):
        split.creator = 0  # type: ignore[misc]
    with pytest.raises(TypeError):
        SaleRates(8000, 200, 300, 50)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        TierRule(CreatorTier.GOLD, 0, 8500)  # type: ignore[call-arg]


# --------------------------------------------------------------------------- compute fee and its split


@pytest.mark.parametrize(
    ("base_rate", "complexity", "demand", "supply", "fee"),
    [
        (100, 1, 10_000, 1, 100),  # small model, neutral demand, one provider
        (100, 10, 20_000, 1, 2000),  # large model at peak demand (2.0x)
        (100, 3, 8000, 3, 80),  # medium model, low demand (0.8x), three providers
        (7, 1, 10_000, 2, 3),  # 3.5 floors to 3
        (1, 1, 8000, 1, 0),  # 0.8 floors to 0
        (0, 10, 20_000, 1, 0),
    ],
)
def test_compute_fee(base_rate: int, complexity: int, demand: int, supply: int, fee: int) -> None:
    assert (
        compute_fee(
            base_rate=base_rate, complexity=complexity, demand_multiplier_bps=demand, supply_factor=supply
        )
        == fee
    )


@given(
    base_rate=amounts,
    complexity=st.integers(min_value=1, max_value=1000),
    demand=st.integers(min_value=0, max_value=50_000),
    supply=st.integers(min_value=1, max_value=10_000),
)
def test_compute_fee_is_the_exact_floor(base_rate: int, complexity: int, demand: int, supply: int) -> None:
    fee = compute_fee(
        base_rate=base_rate, complexity=complexity, demand_multiplier_bps=demand, supply_factor=supply
    )
    product = base_rate * complexity * demand
    assert fee * 10_000 * supply <= product < (fee + 1) * 10_000 * supply


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"complexity": 0}, ValueError),
        ({"supply_factor": 0}, ValueError),
        ({"base_rate": -1}, ValueError),
        ({"demand_multiplier_bps": -1}, ValueError),
        ({"base_rate": 1.5}, TypeError),
        ({"supply_factor": True}, TypeError),
    ],
)
def test_compute_fee_rejects_bad_input(kwargs: dict[str, object], error: type[Exception]) -> None:
    args: dict[str, Any] = {
        "base_rate": 100,
        "complexity": 1,
        "demand_multiplier_bps": 10_000,
        "supply_factor": 1,
    }
    with pytest.raises(error):
        compute_fee(**(args | kwargs))


@pytest.mark.parametrize(
    ("discount", "parts"),
    [
        (0, {"provider": 8000, "network_ops": 1500, "treasury": 500, "platform": 0}),
        (1000, {"provider": 8200, "network_ops": 1350, "treasury": 450, "platform": 0}),  # Silver
        (2000, {"provider": 8400, "network_ops": 1200, "treasury": 400, "platform": 0}),  # Gold
        (3000, {"provider": 8600, "network_ops": 1050, "treasury": 350, "platform": 0}),  # Platinum
    ],
)
def test_compute_split_of_10000_by_provider_tier(discount: int, parts: dict[str, int]) -> None:
    split = split_compute(fee=10_000, rates=compute_rates(discount))
    assert split.fee == 10_000
    assert split.parts() == parts


def test_compute_split_remainder_goes_to_the_platform() -> None:
    # Fee 7: provider floor(5.6) = 5; the platform's 2 divides 3:1 into floor(1.5) = 1 and
    # floor(0.5) = 0; the odd unit is the platform's.
    split = split_compute(fee=7, rates=compute_rates(0))
    assert split.parts() == {"provider": 5, "network_ops": 1, "treasury": 0, "platform": 1}


def test_compute_split_gold_remainder() -> None:
    # Fee 13 at Gold: base 10, platform part 3, reduction floor(0.6) = 0, 3 divides 3:1 into 2 and 0.
    split = split_compute(fee=13, rates=compute_rates(2000))
    assert split.parts() == {"provider": 10, "network_ops": 2, "treasury": 0, "platform": 1}


def test_compute_split_divides_the_platform_part_by_ratio() -> None:
    # Rates under 100% in all: what the provider leaves is still shared 1500:500 (3:1).
    rates = ComputeRates(
        provider_bps=7000, network_ops_bps=1500, treasury_bps=500, provider_tier_discount_bps=0
    )
    split = split_compute(fee=10_000, rates=rates)
    assert split.parts() == {"provider": 7000, "network_ops": 2250, "treasury": 750, "platform": 0}


def test_compute_split_with_no_network_or_treasury_share() -> None:
    rates = ComputeRates(
        provider_bps=9000, network_ops_bps=0, treasury_bps=0, provider_tier_discount_bps=1000
    )
    split = split_compute(fee=10_000, rates=rates)
    assert split.parts() == {"provider": 9100, "network_ops": 0, "treasury": 0, "platform": 900}


@given(fee=amounts, rates=valid_compute_rates())
def test_compute_parts_are_exact(fee: int, rates: ComputeRates) -> None:
    split = split_compute(fee=fee, rates=rates)
    assert_exact_parts(fee, split.parts())
    base = fee * rates.provider_bps // 10_000
    assert split.provider == base + (fee - base) * rates.provider_tier_discount_bps // 10_000
    if rates.network_ops_bps + rates.treasury_bps:
        # Only the two ratio floors leave a remainder, so the platform gets at most one unit of it.
        assert split.platform <= 1
    # A higher staking tier never pays the provider less.
    better = ComputeRates(
        provider_bps=rates.provider_bps,
        network_ops_bps=rates.network_ops_bps,
        treasury_bps=rates.treasury_bps,
        provider_tier_discount_bps=min(rates.provider_tier_discount_bps + 1000, 10_000),
    )
    assert split_compute(fee=fee, rates=better).provider >= split.provider


@pytest.mark.parametrize(
    "kwargs",
    [
        {"provider_bps": 8000, "network_ops_bps": 1500, "treasury_bps": 501, "provider_tier_discount_bps": 0},
        {
            "provider_bps": 8000,
            "network_ops_bps": 1500,
            "treasury_bps": 500,
            "provider_tier_discount_bps": 10_001,
        },
        {"provider_bps": -1, "network_ops_bps": 1500, "treasury_bps": 500, "provider_tier_discount_bps": 0},
    ],
)
def test_compute_rates_reject_out_of_range(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="bps"):
        ComputeRates(**kwargs)


def test_split_compute_rejects_bad_fee() -> None:
    with pytest.raises(ValueError, match="fee must be >= 0"):
        split_compute(fee=-1, rates=compute_rates(0))
    with pytest.raises(TypeError, match="fee must be an int"):
        split_compute(fee=10.0, rates=compute_rates(0))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ComputeRates"):
        split_compute(fee=10, rates=sale_rates(8000))  # type: ignore[arg-type]


def test_compute_split_refuses_parts_that_do_not_sum_to_the_fee() -> None:
    with pytest.raises(ValueError, match="sum to 10001"):
        ComputeSplit(fee=10_000, provider=8001, network_ops=1500, treasury=500, platform=0)


# --------------------------------------------------------------------------- inference calls


def test_inference_split_worked_example() -> None:
    # A call priced 1000 (creator, Bronze) + 10_000 (compute fee, Gold provider), in micro-USD.
    split = split_inference(
        creator_price=1000,
        compute_fee=10_000,
        compute_rates=compute_rates(2000),
        sale_rates=sale_rates(BRONZE.share_bps),
    )
    assert split.price == 11_000
    assert split.creator_price == 1000
    assert split.creator_sale.parts() == {
        "creator": 800,
        "network_fee": 20,
        "treasury": 30,
        "validator_pool": 5,
        "platform": 145,
    }
    assert split.compute.parts() == {"provider": 8400, "network_ops": 1200, "treasury": 400, "platform": 0}


@given(creator_price=amounts, fee=amounts, sale=valid_sale_rates(), compute=valid_compute_rates())
def test_inference_parts_are_exact(
    creator_price: int, fee: int, sale: SaleRates, compute: ComputeRates
) -> None:
    split = split_inference(
        creator_price=creator_price, compute_fee=fee, compute_rates=compute, sale_rates=sale
    )
    assert split.price == creator_price + fee
    assert_exact_parts(creator_price, split.creator_sale.parts())
    assert_exact_parts(fee, split.compute.parts())
    every_part = list(split.creator_sale.parts().values()) + list(split.compute.parts().values())
    assert sum(every_part) == split.price
    assert split.creator_sale == split_sale(gross=creator_price, rates=sale)
    assert split.compute == split_compute(fee=fee, rates=compute)


def test_split_inference_rejects_bad_amounts() -> None:
    kwargs: dict[str, Any] = {"compute_rates": compute_rates(0), "sale_rates": sale_rates(8000)}
    with pytest.raises(ValueError, match="creator_price"):
        split_inference(creator_price=-1, compute_fee=0, **kwargs)
    with pytest.raises(ValueError, match="compute_fee"):
        split_inference(creator_price=0, compute_fee=-1, **kwargs)
    with pytest.raises(TypeError, match="creator_price"):
        split_inference(creator_price=0.5, compute_fee=1, **kwargs)  # type: ignore[arg-type]


def test_inference_split_refuses_inconsistent_parts() -> None:
    compute = split_compute(fee=100, rates=compute_rates(0))
    sale = split_sale(gross=50, rates=sale_rates(8000))
    with pytest.raises(ValueError, match="sum to 150"):
        InferenceSplit(price=151, creator_price=50, compute=compute, creator_sale=sale)
    with pytest.raises(ValueError, match=r"creator_sale\.gross 50"):
        InferenceSplit(price=140, creator_price=40, compute=compute, creator_sale=sale)


# --------------------------------------------------------------------------- discounts and bonuses


@pytest.mark.parametrize(
    ("amount", "discount", "price"),
    [
        (10_000, 1500, 8500),  # paying in AGR: 15% off
        (999, 1500, 850),  # exact 849.15: the discount 149.85 floors to 149, the buyer pays the ceiling
        (1, 5000, 1),  # half a cent of discount rounds away
        (10_000, 0, 10_000),
        (10_000, 10_000, 0),
        (0, 1500, 0),
    ],
)
def test_apply_discount(amount: int, discount: int, price: int) -> None:
    assert apply_discount(amount=amount, discount_bps=discount) == price


@given(amount=amounts, discount=bps)
def test_discounted_price_is_the_ceiling(amount: int, discount: int) -> None:
    price = apply_discount(amount=amount, discount_bps=discount)
    exact_times_10000 = amount * (10_000 - discount)
    assert (price - 1) * 10_000 < exact_times_10000 <= price * 10_000
    assert 0 <= price <= amount


@pytest.mark.parametrize(("amount", "bonus"), [(10_000, 1000), (999, 99), (9, 0), (0, 0)])
def test_prepaid_bonus_is_floored(amount: int, bonus: int) -> None:
    assert bonus_for(amount=amount, bonus_bps=1000) == bonus


@pytest.mark.parametrize(
    ("func", "kwargs", "error"),
    [
        (apply_discount, {"amount": -1, "discount_bps": 0}, ValueError),
        (apply_discount, {"amount": 100, "discount_bps": 10_001}, ValueError),
        (apply_discount, {"amount": 100, "discount_bps": -1}, ValueError),
        (apply_discount, {"amount": 100.0, "discount_bps": 100}, TypeError),
        (bonus_for, {"amount": -1, "bonus_bps": 1000}, ValueError),
        (bonus_for, {"amount": 100, "bonus_bps": 10_001}, ValueError),
        (bonus_for, {"amount": True, "bonus_bps": 1000}, TypeError),
    ],
)
def test_discounts_reject_bad_input(func: Any, kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        func(**kwargs)


@pytest.mark.parametrize(
    ("spend", "discount"),
    [
        (0, 0),
        (99_999, 0),  # $999.99
        (100_000, 500),  # $1,000.00
        (999_999, 500),
        (1_000_000, 1000),  # $10,000.00
        (9_999_999, 1000),
        (10_000_000, 1500),  # $100,000.00
        (99_999_999, 1500),
        (100_000_000, 2000),  # $1M: a threshold is reached exactly at it
        (10**30, 2000),
    ],
)
def test_volume_discount_boundaries(spend: int, discount: int) -> None:
    assert volume_discount_bps(monthly_spend=spend, tiers=VOLUME_TIERS) == discount
    assert volume_discount_bps(monthly_spend=spend, tiers=list(reversed(VOLUME_TIERS))) == discount


def test_volume_discount_without_tiers_is_zero() -> None:
    assert volume_discount_bps(monthly_spend=10**12, tiers=[]) == 0


def test_volume_discount_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="monthly_spend"):
        volume_discount_bps(monthly_spend=-1, tiers=VOLUME_TIERS)
    with pytest.raises(ValueError, match="distinct"):
        volume_discount_bps(
            monthly_spend=0, tiers=[*VOLUME_TIERS, VolumeTier(threshold=100_000, discount_bps=1)]
        )
    with pytest.raises(ValueError, match="discount_bps"):
        VolumeTier(threshold=0, discount_bps=10_001)
    with pytest.raises(TypeError, match="threshold"):
        VolumeTier(threshold=1.0, discount_bps=0)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- refunds


@pytest.mark.parametrize(
    ("amount", "period", "unused", "refund"),
    [
        (3000, 30 * 86_400, 10 * 86_400, 1000),
        (1000, 3, 1, 333),  # 333.33 rounds down
        (1000, 3, 2, 666),  # 666.67 rounds down too
        (1000, 30, 0, 0),
        (1000, 30, 30, 1000),
        (1000, 30, 31, 1000),  # more unused time than the period: clamped
        (1000, 30, -5, 0),  # negative unused time (clock skew): clamped
        (0, 30, 15, 0),
    ],
)
def test_prorated_refund(amount: int, period: int, unused: int, refund: int) -> None:
    assert prorated_refund(amount=amount, period_seconds=period, unused_seconds=unused) == refund


@given(
    amount=amounts,
    period=st.integers(min_value=1, max_value=10**9),
    unused=st.integers(min_value=-(10**9), max_value=2 * 10**9),
)
def test_prorated_refund_is_floored_and_bounded(amount: int, period: int, unused: int) -> None:
    refund = prorated_refund(amount=amount, period_seconds=period, unused_seconds=unused)
    assert 0 <= refund <= amount
    clamped = min(max(unused, 0), period)
    assert refund * period <= amount * clamped < (refund + 1) * period


def test_prorated_refund_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="period_seconds"):
        prorated_refund(amount=100, period_seconds=0, unused_seconds=0)
    with pytest.raises(ValueError, match="amount"):
        prorated_refund(amount=-1, period_seconds=10, unused_seconds=0)
    with pytest.raises(TypeError, match="unused_seconds"):
        prorated_refund(amount=100, period_seconds=10, unused_seconds=1.5)  # type: ignore[arg-type]


def test_partial_refund_worked_example() -> None:
    # $100 at Bronze, $25 refunded: the kept $75 splits as a sale; 37.5 for the validators floors.
    refund, split = split_partial_refund(gross=10_000, refund=2500, rates=sale_rates(BRONZE.share_bps))
    assert refund == 2500
    assert split.gross == 7500
    assert split.parts() == {
        "creator": 6000,
        "network_fee": 150,
        "treasury": 225,
        "validator_pool": 37,
        "platform": 1088,
    }


def test_full_and_zero_refunds() -> None:
    rates = sale_rates(8000)
    refund, split = split_partial_refund(gross=10_000, refund=10_000, rates=rates)
    assert refund == 10_000
    assert set(split.parts().values()) == {0}
    assert split_partial_refund(gross=10_000, refund=0, rates=rates) == (
        0,
        split_sale(gross=10_000, rates=rates),
    )


@given(data=st.data(), gross=amounts, rates=valid_sale_rates())
def test_partial_refund_parts_are_exact(data: st.DataObject, gross: int, rates: SaleRates) -> None:
    refund = data.draw(st.integers(min_value=0, max_value=gross))
    returned, split = split_partial_refund(gross=gross, refund=refund, rates=rates)
    assert returned == refund
    assert_exact_parts(gross - refund, split.parts())
    assert returned + sum(split.parts().values()) == gross


def test_partial_refund_rejects_bad_input() -> None:
    rates = sale_rates(8000)
    with pytest.raises(ValueError, match="exceeds the gross"):
        split_partial_refund(gross=100, refund=101, rates=rates)
    with pytest.raises(ValueError, match="refund must be >= 0"):
        split_partial_refund(gross=100, refund=-1, rates=rates)
    with pytest.raises(ValueError, match="gross must be >= 0"):
        split_partial_refund(gross=-1, refund=0, rates=rates)
    with pytest.raises(TypeError, match="refund must be an int"):
        split_partial_refund(gross=100, refund=1.0, rates=rates)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- no floats, no Django


MODULES = [Path(splits.__file__), Path(money.__file__)]
# Pure modules: the standard library's typing helpers only; no Django, no Decimal, no math.
# tokenomics.money is allowed because it is itself held to this same scan (its input checks are
# shared with the split engine); anything else outside the standard library is not.
ALLOWED_IMPORTS = {
    "__future__",
    "collections.abc",
    "dataclasses",
    "enum",
    "typing",
    "re",
    "tokenomics.money",
}  # re: parse_amount reads text


def float_violations(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, float | complex):
            found.append(f"float literal {node.value!r} on line {node.lineno}")
        elif isinstance(node, ast.BinOp | ast.AugAssign) and isinstance(node.op, ast.Div):
            found.append(f"true division on line {node.lineno}")
        elif isinstance(node, ast.Name) and node.id in {"float", "Decimal", "Fraction", "round"}:
            found.append(f"{node.id} on line {node.lineno}")
        elif isinstance(node, ast.Import):
            found.extend(f"import {a.name}" for a in node.names if a.name not in ALLOWED_IMPORTS)
        elif isinstance(node, ast.ImportFrom) and node.module not in ALLOWED_IMPORTS:
            found.append(f"from {node.module} import")
    return found


@pytest.mark.parametrize(
    "snippet",
    [
        "x = 0.8",
        "x = a / b",
        "x /= 2",
        "x = float(a)",
        "from decimal import Decimal",
        "import math",
        "from django.db import models",
    ],
)
def test_float_scan_catches_violations(snippet: str) -> None:
    assert float_violations(snippet)


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_money_modules_use_no_float_and_no_django(path: Path) -> None:
    source = path.read_text()
    assert float_violations(source) == []
    assert "from __future__ import annotations" in source
