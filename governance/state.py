"""The proposal state machine as pure functions: no database, no clock (the caller passes `now`).

`proposal_state` is Governor's `state()`: derived on every read from the stored times and the
tally, so no stored status can disagree with the clock. `ACTIONS` says which action each state
allows; `governance.services.proposals.proposal_act` is the only code that performs one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class State(StrEnum):
    DRAFT = "draft"
    DISCUSSION = "discussion"
    VOTING = "voting"
    DEFEATED = "defeated"
    SUCCEEDED = "succeeded"
    QUEUED = "queued"
    EXECUTED = "executed"
    FAILED = "failed"  # execution was attempted after the ETA and its checks failed (reason kept)
    CANCELLED = "cancelled"
    VETOED = "vetoed"  # cancelled by staff as spam: the bond is burned


class Action(StrEnum):
    SUBMIT = "submit"
    CANCEL = "cancel"  # by the proposer, before voting starts
    STAFF_CANCEL = "staff_cancel"  # by staff, any time before execution
    VETO = "veto"  # staff, as spam: like staff_cancel, and the bond is burned
    QUEUE = "queue"
    EXECUTE = "execute"  # only when queued and now >= ETA (checked besides this table)


ENDED = frozenset({State.DEFEATED, State.EXECUTED, State.FAILED, State.CANCELLED, State.VETOED})
_BEFORE_EXECUTION = (State.DRAFT, State.DISCUSSION, State.VOTING, State.SUCCEEDED, State.QUEUED)

# Every (state, action) pair not listed here is refused.
ACTIONS: dict[State, frozenset[Action]] = {
    State.DRAFT: frozenset({Action.SUBMIT, Action.CANCEL, Action.STAFF_CANCEL}),
    State.DISCUSSION: frozenset({Action.CANCEL, Action.STAFF_CANCEL, Action.VETO}),
    State.VOTING: frozenset({Action.STAFF_CANCEL, Action.VETO}),
    State.SUCCEEDED: frozenset({Action.QUEUE, Action.STAFF_CANCEL, Action.VETO}),
    State.QUEUED: frozenset({Action.EXECUTE, Action.STAFF_CANCEL, Action.VETO}),
    State.DEFEATED: frozenset({Action.VETO}),
    State.EXECUTED: frozenset(),
    State.FAILED: frozenset(),
    State.CANCELLED: frozenset(),
    State.VETOED: frozenset(),
}
assert all(Action.STAFF_CANCEL in ACTIONS[state] for state in _BEFORE_EXECUTION)


@dataclass(frozen=True)
class Times:
    submitted_at: datetime | None
    voting_starts_at: datetime | None
    voting_ends_at: datetime | None
    queued_at: datetime | None
    eta: datetime | None
    executed_at: datetime | None
    failed_at: datetime | None
    cancelled_at: datetime | None
    vetoed: bool


@dataclass(frozen=True)
class Tally:
    votes_for: int
    votes_against: int
    votes_abstain: int
    quorum: int  # votes (for + abstain) needed
    threshold_bps: int  # share of for / (for + against) needed, in bps


def quorum_votes(*, supply: int, quorum_bps: int) -> int:
    """Votes needed for quorum: quorum_bps of the supply at the snapshot, rounded up (so that a
    quorum is never reached by rounding)."""
    return -(-supply * quorum_bps // 10_000)


def quorum_reached(tally: Tally) -> bool:
    """For + abstain reach the quorum (against does not count towards it, as in Governor)."""
    return tally.votes_for + tally.votes_abstain >= tally.quorum


def approved(tally: Tally) -> bool:
    """For is at least threshold_bps of for + against (abstain not counted), and strictly more
    than against: `for == against` fails even at a 50% threshold."""
    decided = tally.votes_for + tally.votes_against
    if decided == 0 or tally.votes_for <= tally.votes_against:
        return False
    return tally.votes_for * 10_000 >= decided * tally.threshold_bps


def passed(tally: Tally) -> bool:
    return quorum_reached(tally) and approved(tally)


def proposal_state(times: Times, tally: Tally, now: datetime) -> State:
    """The proposal's state at `now`. Voting is open on [voting_starts_at, voting_ends_at)."""
    if times.executed_at is not None:
        return State.EXECUTED
    if times.failed_at is not None:
        return State.FAILED
    if times.cancelled_at is not None:
        return State.VETOED if times.vetoed else State.CANCELLED
    if times.submitted_at is None or times.voting_starts_at is None or times.voting_ends_at is None:
        return State.DRAFT
    if now < times.voting_starts_at:
        return State.DISCUSSION
    if now < times.voting_ends_at:
        return State.VOTING
    if not passed(tally):
        return State.DEFEATED
    if times.queued_at is None:
        return State.SUCCEEDED
    return State.QUEUED


def allowed(state: State, action: Action, *, now: datetime, eta: datetime | None) -> bool:
    """Whether `action` may happen in `state` at `now`: the table, and execution only at or after
    the ETA (no path executes before it, emergencies included)."""
    if action not in ACTIONS[state]:
        return False
    if action is Action.EXECUTE:
        return eta is not None and now >= eta
    return True
