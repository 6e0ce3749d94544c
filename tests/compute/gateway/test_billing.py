"""The price of a call and the carving of cents out of micro-USD charges: tables and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compute.billing import MICRO_PER_CENT, carry_settle, per_call_price_micro
from tokenomics.selectors.rates import inference_compute_fee_micro
from tokenomics.splits import ComputeRates, SaleRates, split_inference


@pytest.mark.parametrize(
    ("per_1000_cents", "discount_bps", "expected_micro"),
    [
        (500, 0, 5_000),  # $5.00 / 1,000 calls = half a cent a call
        (1, 0, 10),  # the smallest price: 10 micro-USD a call, exactly
        (500, 500, 4_750),  # 5% volume discount
        (500, 2000, 4_000),  # 20%
        (333, 1500, 2_831),  # 3330 - floor(3330 x 0.15 = 499.5) = 3330 - 499: the buyer pays the ceiling
        (0, 2000, 0),
    ],
)
def test_per_call_price(per_1000_cents: int, discount_bps: int, expected_micro: int) -> None:
    assert (
        per_call_price_micro(price_per_1000_cents=per_1000_cents, discount_bps=discount_bps) == expected_micro
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("size", "expected"), [("small", 100), ("medium", 300), ("large", 1_000)])
def test_compute_fee_is_base_rate_times_complexity(size: str, expected: int) -> None:
    # Registry defaults: base rate 100 micro-USD; complexity 1 / 3 / 10.
    assert inference_compute_fee_micro(size=size) == expected


@pytest.mark.parametrize(
    ("carry", "amount", "cents", "rest"),
    [(0, 0, 0, 0), (0, 9_999, 0, 9_999), (1, 9_999, 1, 0), (9_999, 9_999, 1, 9_998), (0, 123_456, 12, 3_456)],
)
def test_carry_settle_table(carry: int, amount: int, cents: int, rest: int) -> None:
    assert carry_settle(carry_micro=carry, amount_micro=amount) == (cents, rest)


def test_carry_settle_refuses_a_carry_of_a_cent_or_more() -> None:
    with pytest.raises(ValueError, match="under one cent"):
        carry_settle(carry_micro=MICRO_PER_CENT, amount_micro=0)


@given(st.lists(st.integers(min_value=0, max_value=50_000_000), min_size=1, max_size=40))
def test_carried_batches_bill_exactly_the_floor_of_the_total(batches: list[int]) -> None:
    # However the calls fall into batches, a pair is billed floor(total / 1 cent) in all: never
    # more than consumed, less by under one cent.
    carry = billed = 0
    for amount in batches:
        cents, carry = carry_settle(carry_micro=carry, amount_micro=amount)
        billed += cents
        assert 0 <= carry < MICRO_PER_CENT
    assert billed == sum(batches) // MICRO_PER_CENT
    assert billed * MICRO_PER_CENT + carry == sum(batches)


@given(
    creator_cents=st.integers(min_value=0, max_value=10**12),
    fee_cents=st.integers(min_value=0, max_value=10**12),
    creator_share=st.integers(min_value=8000, max_value=8800),
    discount=st.sampled_from([0, 1000, 2000, 3000]),
)
def test_settled_cents_split_adds_up(
    creator_cents: int, fee_cents: int, creator_share: int, discount: int
) -> None:
    split = split_inference(
        creator_price=creator_cents,
        compute_fee=fee_cents,
        compute_rates=ComputeRates(
            provider_bps=8000, network_ops_bps=1500, treasury_bps=500, provider_tier_discount_bps=discount
        ),
        sale_rates=SaleRates(
            creator_share_bps=creator_share, network_fee_bps=200, treasury_bps=300, validator_pool_bps=50
        ),
    )
    assert sum(split.creator_sale.parts().values()) == creator_cents
    assert sum(split.compute.parts().values()) == fee_cents
    assert split.price == creator_cents + fee_cents
    if discount == 0:
        # SPEC §4: 80% provider / 15% validators / 5% treasury, each floored, remainder to the platform.
        assert split.compute.provider == fee_cents * 8000 // 10_000
