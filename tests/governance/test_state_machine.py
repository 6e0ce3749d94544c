"""G3 (quorum and approval boundaries, as OpenZeppelin Governor counts them) and G4 (every state x
action pair, enumerated) on the pure state machine; the service-level G4 checks are in
test_lifecycle.py."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from governance.state import (
    ACTIONS,
    Action,
    State,
    Tally,
    Times,
    allowed,
    passed,
    proposal_state,
    quorum_votes,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def tally(f: int, a: int, ab: int = 0, *, quorum: int = 100, threshold: int = 5000) -> Tally:
    return Tally(votes_for=f, votes_against=a, votes_abstain=ab, quorum=quorum, threshold_bps=threshold)


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        (tally(100, 0), True),  # exactly the quorum passes
        (tally(99, 0), False),  # one unit short fails
        (tally(60, 0, 40), True),  # abstain counts towards the quorum
        (tally(99, 1000), False),  # against does not
        (tally(500, 500), False),  # for == against fails, even at a 50% threshold
        (tally(501, 500), True),
        (tally(0, 0, 1000), False),  # quorum from abstain alone, nobody for
        (tally(55, 45, quorum=10, threshold=5500), True),  # exactly the threshold passes
        (tally(549, 451, quorum=10, threshold=5500), False),  # just below fails
        (tally(60, 40, 900, threshold=6000), True),  # abstain not counted in the share
        (tally(75, 25, quorum=10, threshold=7500), True),
        (tally(7999, 2001, quorum=10, threshold=8000), False),
    ],
)
def test_quorum_and_threshold_boundaries(t: Tally, expected: bool) -> None:
    assert passed(t) is expected


def test_quorum_is_rounded_up_from_the_snapshot_supply() -> None:
    assert quorum_votes(supply=10_000, quorum_bps=400) == 400
    assert quorum_votes(supply=10_001, quorum_bps=400) == 401  # never reached by rounding down
    assert quorum_votes(supply=0, quorum_bps=400) == 0


def _times(**overrides: object) -> Times:
    base = {
        "submitted_at": T0,
        "voting_starts_at": T0 + 7 * DAY,
        "voting_ends_at": T0 + 21 * DAY,
        "queued_at": None,
        "eta": None,
        "executed_at": None,
        "failed_at": None,
        "cancelled_at": None,
        "vetoed": False,
    }
    base.update(overrides)
    return Times(**base)  # type: ignore[arg-type]


WIN = tally(100, 0)
LOSE = tally(0, 100)
QUEUED_AT = T0 + 21 * DAY
ETA = QUEUED_AT + 7 * DAY

# One representative of every state, with the moment it is read at.
EXAMPLES: dict[State, tuple[Times, Tally, datetime]] = {
    State.DRAFT: (_times(submitted_at=None, voting_starts_at=None, voting_ends_at=None), WIN, T0),
    State.DISCUSSION: (_times(), WIN, T0 + DAY),
    State.VOTING: (_times(), WIN, T0 + 7 * DAY),  # voting opens at its start, inclusive
    State.DEFEATED: (_times(), LOSE, T0 + 21 * DAY),  # and closes at its end, exclusive
    State.SUCCEEDED: (_times(), WIN, T0 + 21 * DAY),
    State.QUEUED: (_times(queued_at=QUEUED_AT, eta=ETA), WIN, ETA),
    State.EXECUTED: (_times(queued_at=QUEUED_AT, eta=ETA, executed_at=ETA), WIN, ETA + DAY),
    State.FAILED: (_times(queued_at=QUEUED_AT, eta=ETA, failed_at=ETA), WIN, ETA + DAY),
    State.CANCELLED: (_times(cancelled_at=T0 + DAY), WIN, T0 + 2 * DAY),
    State.VETOED: (_times(cancelled_at=T0 + DAY, vetoed=True), WIN, T0 + 2 * DAY),
}


def test_every_state_has_an_example_and_a_row() -> None:
    assert set(EXAMPLES) == set(State) == set(ACTIONS)
    for state, (times, t, moment) in EXAMPLES.items():
        assert proposal_state(times, t, moment) is state


EXPECTED_ALLOWED = {
    (State.DRAFT, Action.SUBMIT),
    (State.DRAFT, Action.CANCEL),
    (State.DRAFT, Action.STAFF_CANCEL),
    (State.DISCUSSION, Action.CANCEL),
    (State.DISCUSSION, Action.STAFF_CANCEL),
    (State.DISCUSSION, Action.VETO),
    (State.VOTING, Action.STAFF_CANCEL),
    (State.VOTING, Action.VETO),
    (State.SUCCEEDED, Action.QUEUE),
    (State.SUCCEEDED, Action.STAFF_CANCEL),
    (State.SUCCEEDED, Action.VETO),
    (State.QUEUED, Action.EXECUTE),
    (State.QUEUED, Action.STAFF_CANCEL),
    (State.QUEUED, Action.VETO),
    (State.DEFEATED, Action.VETO),
}


@pytest.mark.parametrize(("state", "action"), list(itertools.product(State, Action)))
def test_every_state_action_pair(state: State, action: Action) -> None:
    times, _, moment = EXAMPLES[state]
    assert allowed(state, action, now=moment, eta=times.eta) is ((state, action) in EXPECTED_ALLOWED)


@pytest.mark.parametrize("before", [timedelta(microseconds=1), timedelta(seconds=1), 7 * DAY])
def test_no_execution_before_the_eta(before: timedelta) -> None:
    assert not allowed(State.QUEUED, Action.EXECUTE, now=ETA - before, eta=ETA)
    assert not allowed(State.QUEUED, Action.EXECUTE, now=ETA, eta=None)
    assert allowed(State.QUEUED, Action.EXECUTE, now=ETA, eta=ETA)


def test_only_queued_proposals_execute() -> None:
    """No state but QUEUED (reached only through QUEUE, which sets the ETA) may execute: there is
    no path from SUCCEEDED, or from an emergency, around the timelock."""
    assert {state for state in State if Action.EXECUTE in ACTIONS[state]} == {State.QUEUED}


def test_cancelled_after_queue_stays_cancelled_past_the_eta() -> None:
    times = _times(queued_at=QUEUED_AT, eta=ETA, cancelled_at=QUEUED_AT + DAY)
    state = proposal_state(times, WIN, ETA + DAY)
    assert state is State.CANCELLED
    assert not allowed(state, Action.EXECUTE, now=ETA + DAY, eta=ETA)
