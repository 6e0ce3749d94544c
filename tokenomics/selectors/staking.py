"""Reads of staking: positions, tiers, stake at a past instant (for governance), totals per tier.

Bonded stake is the holder's STAKE ledger account; what is unbonding is their UNBONDING account
(plus its rows, for release times). Unbonding stake counts for no tier and no vote.

Age of stake (governance gives stake bonded for more than a year 2x votes): each bonding is a lot
with its time; an unstake or a slash takes from the NEWEST lots first, so a holder who unstakes part
keeps the age of what they kept. `stake_at` replays the STAKE account's entries up to the instant.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from accounts.models import User
from tokenomics.models import LedgerAccount, LedgerEntry, Slash, Unbonding, UnbondingState
from tokenomics.models.ledger import AccountKind, Asset
from tokenomics.selectors.parameters import parameters_get

TIERS = ("bronze", "silver", "gold", "platinum")
# How long stake must have been bonded to count as long-held (a year by default; governance's 2x).
LONG_STAKE_AGE = "governance.long_stake_seconds"


@dataclass(frozen=True)
class TierRule:
    tier: str
    minimum: int  # AGR base units bonded
    max_slash_bps: int
    fee_discount_bps: int


def tier_rules() -> list[TierRule]:
    keys = [f"staking.{t}_min" for t in TIERS] + [f"staking.{t}_max_slash_bps" for t in TIERS]
    keys += [f"staking.{t}_fee_discount_bps" for t in TIERS if t != "bronze"]
    values = parameters_get(keys)
    return [
        TierRule(
            tier=t,
            minimum=values[f"staking.{t}_min"],
            max_slash_bps=values[f"staking.{t}_max_slash_bps"],
            fee_discount_bps=values.get(f"staking.{t}_fee_discount_bps", 0),
        )
        for t in TIERS
    ]


def tier_for(bonded: int, rules: list[TierRule] | None = None) -> TierRule | None:
    """The highest tier whose minimum `bonded` reaches (the threshold itself counts); None below Bronze."""
    found = None
    for rule in rules or tier_rules():
        if bonded >= rule.minimum:
            found = rule
    return found


def _balance(user_id: int, kind: str) -> int:
    value = (
        LedgerAccount.objects.filter(owner_id=user_id, kind=kind, asset=Asset.AGR)
        .values_list("balance", flat=True)
        .first()
    )
    return int(value or 0)


def bonded(user: User) -> int:
    return _balance(user.pk, AccountKind.STAKE)


def provider_tier(user: User) -> str | None:
    """bronze / silver / gold / platinum from bonded stake (unbonding does not count); None below Bronze."""
    rule = tier_for(bonded(user))
    return rule.tier if rule else None


def provider_tiers(user_ids: Iterable[int]) -> dict[int, str | None]:
    """Each user's tier from bonded stake, in one read (None below Bronze, or with no stake)."""
    ids = list(set(user_ids))
    rules = tier_rules()
    found = dict(
        LedgerAccount.objects.filter(owner_id__in=ids, kind=AccountKind.STAKE, asset=Asset.AGR).values_list(
            "owner_id", "balance"
        )
    )
    tiers: dict[int, str | None] = {}
    for user_id in ids:
        rule = tier_for(int(found.get(user_id) or 0), rules)
        tiers[user_id] = rule.tier if rule else None
    return tiers


@dataclass(frozen=True)
class StakeAt:
    staked: int  # AGR base units bonded at the instant
    staked_over_year: int  # the part of it bonded continuously for more than 365 days then
    since: datetime | None  # when the oldest lot still bonded was bonded


def _lots(entries: Iterable[tuple[datetime, int]]) -> list[list[Any]]:
    """Replay entries (time, signed amount) into lots [time, amount]; debits take the newest first."""
    lots: list[list[Any]] = []
    for posted_at, amount in entries:
        if amount > 0:
            lots.append([posted_at, amount])
            continue
        left = -amount
        while left and lots:
            take = min(left, lots[-1][1])
            lots[-1][1] -= take
            left -= take
            if not lots[-1][1]:
                lots.pop()
    return lots


def stakes_at(user_ids: Iterable[int], at: datetime) -> dict[int, StakeAt]:
    """`stake_at` for many holders in one query."""
    ids = list(user_ids)
    rows = (
        LedgerEntry.objects.filter(
            account__owner_id__in=ids, account__kind=AccountKind.STAKE, transaction__posted_at__lt=at
        )
        .order_by("transaction__posted_at", "id")
        .values_list("account__owner_id", "transaction__posted_at", "amount")
    )
    per_user: dict[int, list[tuple[datetime, int]]] = {pk: [] for pk in ids}
    for owner_id, posted_at, amount in rows:
        per_user[owner_id].append((posted_at, int(amount)))
    result = {}
    long_age = timedelta(seconds=parameters_get([LONG_STAKE_AGE])[LONG_STAKE_AGE])
    for pk, entries in per_user.items():
        lots = _lots(entries)
        result[pk] = StakeAt(
            staked=sum(amount for _, amount in lots),
            staked_over_year=sum(amount for when, amount in lots if when < at - long_age),
            since=lots[0][0] if lots else None,
        )
    return result


def stake_at(user_id: int, at: datetime) -> StakeAt:
    """What the holder had bonded strictly before `at` (a governance snapshot: stake bonded at or
    after it adds nothing), and how much of it for more than a year."""
    return stakes_at([user_id], at)[user_id]


@dataclass(frozen=True)
class Position:
    bonded: int
    unbonding: int
    tier: TierRule | None
    next_tier: TierRule | None
    since: datetime | None
    unbondings: list[Unbonding]


def position(user: User, *, now: datetime) -> Position:
    rules = tier_rules()
    amount = bonded(user)
    tier = tier_for(amount, rules)
    higher = [r for r in rules if r.minimum > amount]
    return Position(
        bonded=amount,
        unbonding=_balance(user.pk, AccountKind.UNBONDING),
        tier=tier,
        next_tier=higher[0] if higher else None,
        since=stake_at(user.pk, now).since,
        unbondings=list(
            Unbonding.objects.filter(user=user, state=UnbondingState.UNBONDING, amount__gt=0).order_by(
                "release_at"
            )
        ),
    )


def staked_totals_by_tier() -> dict[str, int]:
    """Bonded AGR per tier across holders ("none" for holders below Bronze), for transparency."""
    rules = tier_rules()
    totals = dict.fromkeys([*TIERS, "none"], 0)
    for amount in LedgerAccount.objects.filter(
        kind=AccountKind.STAKE, asset=Asset.AGR, balance__gt=0
    ).values_list("balance", flat=True):
        rule = tier_for(int(amount), rules)
        totals[rule.tier if rule else "none"] += int(amount)
    return totals


@dataclass(frozen=True)
class SlashView:
    """A slash as its staker sees it: how much, which fraction (asked and applied after the tier's
    cap), why, on what evidence, when, and whether staff reversed it."""

    pk: int
    at: datetime
    amount: int  # AGR base units burned (bonded + unbonding)
    fraction_bps: int
    applied_bps: int
    tier: str
    reason: str
    evidence: list[tuple[str, str]]  # (what, value) pairs by name (jsonb keeps no key order)
    reversed: bool


def _evidence_items(evidence: Any) -> list[tuple[str, str]]:
    def text(value: Any) -> str:
        return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)

    if isinstance(evidence, dict):
        return sorted((str(key), text(value)) for key, value in evidence.items())
    return [] if evidence in (None, [], "") else [("", text(evidence))]


def slashes_for_user(user: User, *, limit: int = 50) -> list[SlashView]:
    """The holder's slashes, newest first, with their evidence."""
    rows = Slash.objects.filter(user=user).order_by("-created_at", "-pk")[:limit]
    return [
        SlashView(
            pk=row.pk,
            at=row.created_at,
            amount=row.total,
            fraction_bps=row.fraction_bps,
            applied_bps=row.applied_bps,
            tier=row.tier,
            reason=row.reason,
            evidence=_evidence_items(row.evidence),
            reversed=row.reversal_id is not None,
        )
        for row in rows
    ]
