"""Reads of governance: voting power at a snapshot, tallies, proposal states.

Every power read goes through `voting_powers(user_ids, at)` with `at` a proposal's snapshot
(`voting_starts_at`); nothing here reads a current balance (tests/governance/test_voting_power.py
checks that). State at an instant is the effect of what was posted or made strictly before it, so
tokens, stake and delegations acquired at the snapshot or later add nothing (G2).

Delegation (the simple Compound rule): a delegator lends *all* their own power to one delegate; the
delegate's power is their own (unless they delegated it away) plus their delegators' own power.
Power is lent one level only (a delegate cannot pass on what was delegated to them). A delegator
who also votes is counted with weight 0: their power is the delegate's at that snapshot.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from core.fields import WideSum
from governance.models import Delegation, Proposal, ProposalChange, Vote, VoteChoice
from governance.state import State, Tally, Times, proposal_state, quorum_votes
from tokenomics.models import Asset
from tokenomics.models.ledger import AccountKind
from tokenomics.selectors.ledger import balances_at, user_holdings_at
from tokenomics.selectors.parameters import parameters_get
from tokenomics.selectors.staking import stakes_at

STAKED_WEIGHT = "governance.staked_weight_bps"
LONG_STAKED_WEIGHT = "governance.long_staked_weight_bps"
LONG_STAKE_AGE = "governance.long_stake_seconds"


@dataclass(frozen=True)
class StakeSnapshot:
    staked: int
    staked_over_year: int


def _stakes_at(user_ids: list[int], at: datetime) -> dict[int, StakeSnapshot]:
    """Stake per user bonded strictly before `at`, and of it what had been bonded longer than the
    long-stake age then (tokenomics' staking selector: unstakes take the newest stake first)."""
    return {
        uid: StakeSnapshot(staked=int(s.staked), staked_over_year=int(s.staked_over_year))
        for uid, s in stakes_at(user_ids, at).items()
    }


def own_powers_at(user_ids: Iterable[int], at: datetime) -> dict[int, int]:
    """Each user's own voting power at `at`, before delegation: wallet AGR + staked AGR at the staked
    weight (1.5x) + AGR staked longer than the long-stake age at the long weight (2x)."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    weights = parameters_get([STAKED_WEIGHT, LONG_STAKED_WEIGHT])
    wallets = balances_at(kind=AccountKind.WALLET, asset=Asset.AGR, at=at, owner_ids=ids)
    stakes = _stakes_at(ids, at)
    powers = {}
    for uid in ids:
        stake = stakes.get(uid, StakeSnapshot(0, 0))
        old = min(stake.staked_over_year, stake.staked)
        young = stake.staked - old
        weighted = (young * weights[STAKED_WEIGHT] + old * weights[LONG_STAKED_WEIGHT]) // 10_000
        powers[uid] = max(0, wallets.get(uid, 0)) + max(0, weighted)
    return powers


def delegations_at(at: datetime) -> QuerySet[Delegation]:
    """Delegations in force at the instant `at`: started strictly before it, not ended before it."""
    return Delegation.objects.filter(started_at__lt=at).filter(Q(ended_at__isnull=True) | Q(ended_at__gte=at))


def voting_powers(user_ids: Iterable[int], at: datetime) -> dict[int, int]:
    """Voting power of each user at the snapshot `at`, delegation applied (see the module doc)."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    away = set(delegations_at(at).filter(delegator_id__in=ids).values_list("delegator_id", flat=True))
    received: dict[int, list[int]] = defaultdict(list)
    for delegator_id, delegate_id in (
        delegations_at(at).filter(delegate_id__in=ids).values_list("delegator_id", "delegate_id")
    ):
        received[delegate_id].append(delegator_id)
    everyone = set(ids) | {d for delegators in received.values() for d in delegators}
    own = own_powers_at(everyone, at)
    return {
        uid: (0 if uid in away else own.get(uid, 0)) + sum(own.get(d, 0) for d in received.get(uid, []))
        for uid in ids
    }


def voting_power(user_id: int, at: datetime) -> int:
    return voting_powers([user_id], at)[user_id]


def delegation_current(user_id: int) -> Delegation | None:
    return (
        Delegation.objects.filter(delegator_id=user_id, ended_at__isnull=True)
        .select_related("delegate")
        .first()
    )


def delegators_current(user_id: int) -> QuerySet[Delegation]:
    return Delegation.objects.filter(delegate_id=user_id, ended_at__isnull=True).select_related("delegator")


def supply_at(at: datetime) -> int:
    """Circulating AGR at the snapshot: every user-owned AGR balance then."""
    return user_holdings_at(asset=Asset.AGR, at=at)


@dataclass(frozen=True)
class ProposalView:
    proposal: Proposal
    state: State
    tally: Tally
    supply: int


def proposal_times(proposal: Proposal) -> Times:
    return Times(
        submitted_at=proposal.submitted_at,
        voting_starts_at=proposal.voting_starts_at,
        voting_ends_at=proposal.voting_ends_at,
        queued_at=proposal.queued_at,
        eta=proposal.eta,
        executed_at=proposal.executed_at,
        failed_at=proposal.failed_at,
        cancelled_at=proposal.cancelled_at,
        vetoed=proposal.vetoed,
    )


def proposal_tally(proposal: Proposal) -> tuple[Tally, int]:
    """The tally of counted votes and the supply at the snapshot (0 before the proposal is submitted)."""
    sums = {
        row["choice"]: int(row["total"] or 0)
        for row in Vote.objects.filter(proposal=proposal)
        .values("choice")
        .annotate(total=WideSum("weight"))
        .order_by()
    }
    supply = supply_at(proposal.voting_starts_at) if proposal.voting_starts_at else 0
    tally = Tally(
        votes_for=sums.get(VoteChoice.FOR, 0),
        votes_against=sums.get(VoteChoice.AGAINST, 0),
        votes_abstain=sums.get(VoteChoice.ABSTAIN, 0),
        quorum=quorum_votes(supply=supply, quorum_bps=proposal.quorum_bps),
        threshold_bps=proposal.threshold_bps,
    )
    return tally, supply


def proposal_view(proposal: Proposal, now: datetime | None = None) -> ProposalView:
    tally, supply = proposal_tally(proposal)
    state = proposal_state(proposal_times(proposal), tally, now or timezone.now())
    return ProposalView(proposal=proposal, state=state, tally=tally, supply=supply)


def proposal_list(*, state: str = "", kind: str = "") -> list[ProposalView]:
    """Proposals, newest first, with their derived state; filtered by state and kind."""
    queryset = Proposal.objects.select_related("proposer").prefetch_related("changes")
    if kind:
        queryset = queryset.filter(kind=kind)
    now = timezone.now()
    views = [proposal_view(p, now) for p in queryset[:500]]
    return [v for v in views if not state or v.state == state]


def proposal_changes(proposal: Proposal) -> dict[str, int]:
    return dict(
        ProposalChange.objects.filter(proposal=proposal)
        .order_by("id")
        .values_list("parameter_key", "new_value")
    )


def vote_of(proposal: Proposal, user_id: int) -> Vote | None:
    return Vote.objects.filter(proposal=proposal, voter_id=user_id).first()


def votes_cast_between(start: datetime, end: datetime) -> dict[int, int]:
    """Votes each holder cast in `[start, end)` (first cast time), by user id: the community
    share's participation weights of a revenue-distribution epoch."""
    counts: dict[int, int] = defaultdict(int)
    for voter_id in Vote.objects.filter(created_at__gte=start, created_at__lt=end).values_list(
        "voter_id", flat=True
    ):
        counts[voter_id] += 1
    return dict(sorted(counts.items()))
