"""The provider-rewards emission schedule (SPEC §4): pure integer functions, no database.

Provider rewards are `emission.provider_rewards_bps` (35%) of the total supply, emitted from the
rewards reserve: year 1 `emission.year1` (70M AGR), year 2 `emission.year2` (52.5M), years 3-4
`emission.year3_4` (35M each), years 5-10 `emission.year5_10` (21M each), then halving every
`emission.halving_years` (4) years: years 11-14 10.5M each, 15-18 5.25M each, and so on. The
schedule reaches the 350M cap exactly at the end of year 13 (318.5M by year 10, plus 3 x 10.5M),
so nothing is emitted after it: `emission_scheduled_until` never exceeds the cap.

Time: a year is 365 days of seconds from the genesis; within a year emission accrues linearly,
floor(year_amount * seconds_into_year / YEAR_SECONDS). What an epoch emits is the difference of
that cumulative figure at its two ends, so epochs of any length (and epochs that straddle a year)
add up to the schedule exactly, with no drift; every floor keeps the fraction in the reserve.
Amounts are AGR base units.
"""

from __future__ import annotations

from dataclasses import dataclass

from tokenomics.money import require_non_negative, require_positive

YEAR_SECONDS = 365 * 86_400


@dataclass(frozen=True, kw_only=True)
class EmissionSchedule:
    year1: int
    year2: int
    year3_4: int
    year5_10: int
    halving_years: int
    cap: int  # what the reserve holds: provider_rewards_bps of the total supply

    def __post_init__(self) -> None:
        for name in ("year1", "year2", "year3_4", "year5_10", "cap"):
            require_non_negative(f"EmissionSchedule.{name}", getattr(self, name))
        require_positive("EmissionSchedule.halving_years", self.halving_years)


def emission_for_year(year: int, *, schedule: EmissionSchedule) -> int:
    """What the schedule emits in `year` (1-based), before the cap."""
    n = require_positive("year", year)
    if n == 1:
        return schedule.year1
    if n == 2:
        return schedule.year2
    if n <= 4:
        return schedule.year3_4
    if n <= 10:
        return schedule.year5_10
    halvings = (n - 11) // schedule.halving_years + 1
    return schedule.year5_10 >> halvings  # floor(year5_10 / 2**halvings)


def emission_scheduled_until(*, elapsed_seconds: int, schedule: EmissionSchedule) -> int:
    """Cumulative emission the schedule allows `elapsed_seconds` after the genesis, capped."""
    elapsed = max(0, elapsed_seconds)
    full_years, into_year = divmod(elapsed, YEAR_SECONDS)
    total = 0
    year = 1
    while year <= full_years and total < schedule.cap:
        amount = emission_for_year(year, schedule=schedule)
        if amount == 0:  # every later year is 0 too
            break
        total += amount
        year += 1
    if total < schedule.cap:
        total += emission_for_year(full_years + 1, schedule=schedule) * into_year // YEAR_SECONDS
    return min(total, schedule.cap)


def emission_for_period(*, start_seconds: int, end_seconds: int, schedule: EmissionSchedule) -> int:
    """What the schedule emits between two instants given as seconds after the genesis."""
    if end_seconds < start_seconds:
        raise ValueError(f"the period ends ({end_seconds}) before it starts ({start_seconds})")
    return emission_scheduled_until(elapsed_seconds=end_seconds, schedule=schedule) - (
        emission_scheduled_until(elapsed_seconds=start_seconds, schedule=schedule)
    )
