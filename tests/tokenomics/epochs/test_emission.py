"""The emission schedule (SPEC §4): the table for years 1-14, the cap, and no drift across epochs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenomics.emission import (
    YEAR_SECONDS,
    EmissionSchedule,
    emission_for_period,
    emission_for_year,
    emission_scheduled_until,
)
from tokenomics.money import agr
from tokenomics.parameter_catalog import CATALOG

DEFAULTS = {spec.key: spec.default for spec in CATALOG}
SCHEDULE = EmissionSchedule(
    year1=DEFAULTS["emission.year1"],
    year2=DEFAULTS["emission.year2"],
    year3_4=DEFAULTS["emission.year3_4"],
    year5_10=DEFAULTS["emission.year5_10"],
    halving_years=DEFAULTS["emission.halving_years"],
    cap=DEFAULTS["token.total_supply"] * DEFAULTS["emission.provider_rewards_bps"] // 10_000,
)
WEEK = 7 * 86_400

# SPEC §4: Y1 70M, Y2 52.5M, Y3-4 35M/yr, Y5-10 21M/yr, then halving every 4 years.
TABLE = [
    (1, agr(70_000_000)),
    (2, agr(52_500_000)),
    (3, agr(35_000_000)),
    (4, agr(35_000_000)),
    *[(year, agr(21_000_000)) for year in range(5, 11)],
    *[(year, agr(10_500_000)) for year in range(11, 15)],
]


@pytest.mark.parametrize(("year", "amount"), TABLE)
def test_emission_for_each_year_of_the_schedule(year: int, amount: int) -> None:
    assert emission_for_year(year, schedule=SCHEDULE) == amount


def test_halving_continues_after_year_14() -> None:
    assert emission_for_year(15, schedule=SCHEDULE) == agr(5_250_000)
    assert emission_for_year(19, schedule=SCHEDULE) == agr(2_625_000)


def test_the_cap_is_35_percent_of_the_supply_and_is_reached_at_the_end_of_year_13() -> None:
    assert SCHEDULE.cap == agr(350_000_000)
    cumulative = [
        emission_scheduled_until(elapsed_seconds=y * YEAR_SECONDS, schedule=SCHEDULE) for y in range(15)
    ]
    assert cumulative[1] == agr(70_000_000)
    assert cumulative[10] == agr(318_500_000)
    assert cumulative[12] == agr(339_500_000)
    assert cumulative[13] == agr(350_000_000)
    # Year 14 is in the schedule's table, but the reserve holds 35%: nothing more is emitted.
    assert cumulative[14] == agr(350_000_000)
    assert (
        emission_for_period(start_seconds=13 * YEAR_SECONDS, end_seconds=14 * YEAR_SECONDS, schedule=SCHEDULE)
        == 0
    )


def test_a_week_of_year_one_and_a_week_straddling_years() -> None:
    assert (
        emission_for_period(start_seconds=0, end_seconds=WEEK, schedule=SCHEDULE)
        == agr(70_000_000) * 7 // 365
    )
    straddle = emission_for_period(
        start_seconds=YEAR_SECONDS - 3 * 86_400, end_seconds=YEAR_SECONDS + 4 * 86_400, schedule=SCHEDULE
    )
    first = agr(70_000_000) - agr(70_000_000) * 362 // 365
    assert straddle == first + agr(52_500_000) * 4 // 365


def test_before_the_genesis_nothing_is_scheduled() -> None:
    assert emission_scheduled_until(elapsed_seconds=-5, schedule=SCHEDULE) == 0
    with pytest.raises(ValueError, match="before it starts"):
        emission_for_period(start_seconds=10, end_seconds=5, schedule=SCHEDULE)


@given(lengths=st.lists(st.integers(1, 90 * 86_400), min_size=1, max_size=60))
def test_epochs_of_any_length_add_up_to_the_schedule(lengths: list[int]) -> None:
    start = 0
    total = 0
    for length in lengths:
        total += emission_for_period(start_seconds=start, end_seconds=start + length, schedule=SCHEDULE)
        start += length
    assert total == emission_scheduled_until(elapsed_seconds=start, schedule=SCHEDULE)
    assert total <= SCHEDULE.cap
