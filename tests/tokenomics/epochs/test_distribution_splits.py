"""The epoch's pure split functions: worked examples, the remainder rule, and exactness properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenomics.money import agr
from tokenomics.splits import split_by_weights, split_pool

SPEC_SHARES = {"providers": 4000, "creators": 3000, "integrations": 2000, "community": 1000}


def test_a_pool_splits_40_30_20_10_and_the_remainder_is_carried() -> None:
    split = split_pool(pool=1_000_03, rates_bps=SPEC_SHARES)
    assert split.shares == {
        "providers": 40_001,
        "creators": 30_000,
        "integrations": 20_000,
        "community": 10_000,
    }
    assert split.carried == 2
    assert sum(split.shares.values()) + split.carried == 1_000_03


def test_weights_divide_a_share_pro_rata_with_floors_carried() -> None:
    split = split_by_weights(amount=100, weights={1: 1, 2: 1, 3: 1})
    assert split.parts == {1: 33, 2: 33, 3: 33}
    assert split.carried == 1
    big = split_by_weights(amount=agr(7), weights={5: 2, 9: 5})
    assert big.parts == {5: agr(2), 9: agr(5)}
    assert big.carried == 0


def test_no_recipients_carry_the_whole_share_and_zero_weights_get_nothing() -> None:
    assert split_by_weights(amount=500, weights={}).carried == 500
    assert split_by_weights(amount=500, weights={1: 0}).parts == {}
    split = split_by_weights(amount=500, weights={1: 0, 2: 3})
    assert split.parts == {2: 500}
    tiny = split_by_weights(amount=2, weights={1: 1, 2: 1, 3: 1})
    assert tiny.parts == {}  # floors of 2/3 are 0: nobody gets a unit
    assert tiny.carried == 2


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="at most"):
        split_pool(pool=100, rates_bps={"a": 6000, "b": 5000})
    with pytest.raises(TypeError):
        split_pool(pool=10.0, rates_bps=SPEC_SHARES)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=">= 0"):
        split_by_weights(amount=10, weights={1: -1})
    with pytest.raises(ValueError, match=">= 0"):
        split_by_weights(amount=-1, weights={1: 1})


rates = st.lists(st.integers(0, 10_000), min_size=1, max_size=6).filter(lambda r: sum(r) <= 10_000)
amounts = st.one_of(st.integers(0, 10**6), st.integers(0, agr(10**9)))
weights = st.dictionaries(st.integers(1, 10**6), st.integers(0, 10**30), max_size=40)


@given(pool=amounts, shares=rates)
def test_pool_parts_always_sum_to_the_pool(pool: int, shares: list[int]) -> None:
    split = split_pool(pool=pool, rates_bps={f"s{i}": rate for i, rate in enumerate(shares)})
    assert sum(split.shares.values()) + split.carried == pool
    assert all(part >= 0 for part in split.shares.values())
    # The remainder is a rounding remainder: less than one unit per share, plus the unassigned rate.
    unassigned = pool * (10_000 - sum(shares)) // 10_000
    assert unassigned <= split.carried <= unassigned + len(shares)


@given(amount=amounts, weights=weights)
def test_weighted_parts_always_sum_to_the_amount(amount: int, weights: dict[int, int]) -> None:
    split = split_by_weights(amount=amount, weights=weights)
    assert sum(split.parts.values()) + split.carried == amount
    assert all(part > 0 for part in split.parts.values())
    assert set(split.parts) <= {user for user, weight in weights.items() if weight}
    if sum(weights.values()):
        assert split.carried < max(len(weights), 1)
    else:
        assert split.carried == amount


@given(pool=amounts, weights_by_share=st.lists(weights, min_size=4, max_size=4))
def test_a_whole_epoch_adds_up(pool: int, weights_by_share: list[dict[int, int]]) -> None:
    """Both steps together, as the epoch service runs them: paid + carried == pool, exactly."""
    split = split_pool(pool=pool, rates_bps=SPEC_SHARES)
    paid, carried = 0, split.carried
    for share, share_weights in zip(SPEC_SHARES, weights_by_share, strict=True):
        parts = split_by_weights(amount=split.shares[share], weights=share_weights)
        paid += sum(parts.parts.values())
        carried += parts.carried
    assert paid + carried == pool
