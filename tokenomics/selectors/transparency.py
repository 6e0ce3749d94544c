"""The public transparency report (SPEC §4): supply, burns, treasury, emission, distributions, stake.

Every money figure is a sum of ledger entries or a ledger account's balance (which `ledger_check`
proves equal to its entries), read in one place here; the tests reconcile each with the ledger.
Definitions (AGR base units unless said otherwise):

- **minted supply**: `token.total_supply` (1,000,000,000 AGR, fixed by the contract);
- **burned**: the burn account's balance: the network fee of AGR sales and slashed stake;
  `burned_on_chain` is the part already sent to the burn address (confirmed `ChainBurn`s);
- **total supply** = minted - burned;
- **circulating supply** = total supply - what the platform holds back: the rewards reserve (not yet
  emitted), the treasury's AGR and the community pool's AGR;
- **emitted**: AGR paid out of the rewards reserve by epochs; **scheduled**: what the emission
  schedule allowed by now, counted from the genesis day;
- **distributions**: each closed epoch's pool and its division, per asset (USD cents, AGR units);
- **staked**: AGR in stake positions, per tier (from `tokenomics.selectors.staking`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models.functions import TruncDate
from django.utils import timezone

from core.fields import WideSum
from tokenomics.emission import emission_scheduled_until
from tokenomics.models import Asset, ChainBurn, Epoch, LedgerEntry
from tokenomics.models.epochs import Share
from tokenomics.models.ledger import AccountKind
from tokenomics.selectors.epochs import elapsed_seconds, emission_schedule, emitted_total, genesis_day
from tokenomics.selectors.ledger import system_balance
from tokenomics.selectors.parameters import parameter_get
from tokenomics.selectors.staking import staked_totals_by_tier

# How many of the latest epochs the report lists, and how far back the burn chart looks.
EPOCHS_SHOWN = 26
BURN_HISTORY_WEEKS = 26


def _balance(kind: str, asset: str) -> int:
    # Platform accounts keep no cached balance: theirs is the sum of their entries.
    return system_balance(kind=kind, asset=asset)


@dataclass(frozen=True)
class EpochRow:
    number: int
    starts_at: datetime
    ends_at: datetime
    closed_at: datetime
    # Per asset: "pool", one key per share, "carried" (minor units); absent assets had no pool.
    distribution: dict[str, dict[str, int]]
    emission_scheduled: int
    emission_paid: int
    distribution_transaction_id: int | None
    emission_transaction_id: int | None


@dataclass(frozen=True)
class Point:
    at: date
    value: int


@dataclass
class Transparency:
    as_of: datetime
    minted_supply: int
    burned: int
    burned_on_chain: int
    total_supply: int
    circulating_supply: int
    rewards_reserve: int
    treasury: dict[str, int]  # per asset
    community_pool: dict[str, int]  # per asset
    emitted: int
    emission_scheduled: int
    emission_cap: int
    genesis_day: datetime | None
    staked_by_tier: dict[str, int]
    epochs: list[EpochRow] = field(default_factory=list)  # newest first
    burned_history: list[Point] = field(default_factory=list)  # cumulative per week, oldest first


def _epoch_row(epoch: Epoch) -> EpochRow:
    breakdown = epoch.breakdown or {}
    distribution = {
        asset: {key: int(value) for key, value in parts.items()}
        for asset, parts in breakdown.items()
        if asset in Asset.values
    }
    emission = breakdown.get("emission", {})
    return EpochRow(
        number=epoch.number,
        starts_at=epoch.starts_at,
        ends_at=epoch.ends_at,
        closed_at=epoch.closed_at,
        distribution=distribution,
        emission_scheduled=int(emission.get("scheduled", 0)),
        emission_paid=int(emission.get("paid", 0)),
        distribution_transaction_id=epoch.distribution_transaction_id,
        emission_transaction_id=epoch.emission_transaction_id,
    )


def burned_history(*, now: datetime, weeks: int = BURN_HISTORY_WEEKS) -> list[Point]:
    """The cumulative AGR burned by the end of each of the last `weeks` weeks (weeks start on
    Monday, in the current time zone), oldest first; the first carries everything burned before."""
    today = timezone.localdate(now)
    first = today - timedelta(days=today.weekday(), weeks=weeks - 1)
    burns = LedgerEntry.objects.filter(account__kind=AccountKind.BURN, asset=Asset.AGR)
    rows = (
        burns.annotate(day=TruncDate("transaction__posted_at"))
        .values("day")
        .annotate(total=WideSum("amount"))
        .order_by("day")
    )
    per_week = [0] * weeks
    running = 0
    for row in rows:
        index = (row["day"] - first).days // 7
        if index < 0:
            running += int(row["total"])
        elif index < weeks:
            per_week[index] += int(row["total"])
    points = []
    for index, amount in enumerate(per_week):
        running += amount
        points.append(Point(at=first + timedelta(weeks=index), value=running))
    return points


def transparency_report(*, epochs: int = EPOCHS_SHOWN) -> Transparency:
    """Everything the transparency page and `GET /api/v1/transparency` show, as of now."""
    now = timezone.now()
    minted = parameter_get("token.total_supply")
    burned = _balance(AccountKind.BURN, Asset.AGR)
    reserve = _balance(AccountKind.REWARDS_RESERVE, Asset.AGR)
    treasury = {asset: _balance(AccountKind.TREASURY, asset) for asset in Asset.values}
    community = {asset: _balance(AccountKind.COMMUNITY_POOL, asset) for asset in Asset.values}
    schedule = emission_schedule()
    genesis = genesis_day()
    scheduled = (
        emission_scheduled_until(elapsed_seconds=elapsed_seconds(since=genesis, at=now), schedule=schedule)
        if genesis is not None
        else 0
    )
    confirmed = ChainBurn.objects.filter(status=ChainBurn.Status.CONFIRMED)
    burned_on_chain = int(confirmed.aggregate(total=WideSum("amount"))["total"] or 0)
    total = minted - burned
    return Transparency(
        as_of=now,
        minted_supply=minted,
        burned=burned,
        burned_on_chain=burned_on_chain,
        total_supply=total,
        circulating_supply=total - reserve - treasury[Asset.AGR] - community[Asset.AGR],
        rewards_reserve=reserve,
        treasury=treasury,
        community_pool=community,
        emitted=emitted_total(),
        emission_scheduled=scheduled,
        emission_cap=schedule.cap,
        genesis_day=genesis,
        staked_by_tier=_staked_by_tier(),
        epochs=[_epoch_row(epoch) for epoch in Epoch.objects.order_by("-number")[:epochs]],
        burned_history=burned_history(now=now),
    )


def circulating_supply() -> int:
    """AGR in circulation now (see the module's definitions): for governance's quorum."""
    held = sum(
        _balance(kind, Asset.AGR)
        for kind in (AccountKind.REWARDS_RESERVE, AccountKind.TREASURY, AccountKind.COMMUNITY_POOL)
    )
    return parameter_get("token.total_supply") - _balance(AccountKind.BURN, Asset.AGR) - held


SHARES = tuple(share.value for share in Share)


@dataclass(frozen=True)
class EmissionPoint:
    number: int  # the epoch
    ends_at: datetime
    emitted: int  # cumulative AGR emitted by the end of this epoch
    scheduled: int  # cumulative AGR the schedule allowed by then


def emission_series(report: Transparency) -> list[EmissionPoint]:
    """Emission to date against the schedule at the end of each listed epoch, oldest first. The
    cumulative figure works back from the ledger's total (the list may not reach epoch 1)."""
    if report.genesis_day is None:
        return []
    genesis = report.genesis_day
    schedule = emission_schedule()
    points: list[EmissionPoint] = []
    emitted = report.emitted
    for row in report.epochs:  # newest first
        scheduled = emission_scheduled_until(
            elapsed_seconds=elapsed_seconds(since=genesis, at=row.ends_at), schedule=schedule
        )
        points.append(
            EmissionPoint(number=row.number, ends_at=row.ends_at, emitted=emitted, scheduled=scheduled)
        )
        emitted -= row.emission_paid
    return points[::-1]


def _staked_by_tier() -> dict[str, int]:
    """AGR bonded per staking tier ("none": holders below Bronze), from the stake accounts."""
    return staked_totals_by_tier()
