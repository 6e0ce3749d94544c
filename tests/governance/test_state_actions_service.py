"""G4 through the service, on the real ledger and registry: a proposal is brought into every state,
and every action is tried on it by an actor entitled to it (so that only the state decides). The
allowed pairs are exactly the state machine's; a refused one raises `ProposalStateError` and writes
nothing (no ledger posting, no parameter change, the proposal row unchanged)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from accounts.models import User
from governance.errors import ProposalStateError
from governance.models import Proposal, ProposalKind
from governance.selectors import proposal_view
from governance.services.proposals import proposal_act, proposal_create
from governance.services.votes import vote_cast
from governance.state import Action, State
from tests.accounts.factories import UserFactory
from tests.governance.conftest import economic_proposal, moderator, voting_open
from tests.governance.factories import agr_credit
from tests.governance.test_state_machine import EXPECTED_ALLOWED
from tokenomics.models import LedgerTransaction, Parameter, ParameterChange
from tokenomics.money import agr

pytestmark = [pytest.mark.django_db]

AFTER = {
    Action.SUBMIT: State.DISCUSSION,
    Action.CANCEL: State.CANCELLED,
    Action.STAFF_CANCEL: State.CANCELLED,
    Action.VETO: State.VETOED,
    Action.QUEUE: State.QUEUED,
    Action.EXECUTE: State.EXECUTED,
}


class _Undo(Exception):
    pass


def _acted_at(moment: datetime, work: Callable[[], object]) -> object:
    with time_machine.travel(moment, tick=False):
        return work()


def _passed(proposer: User) -> Proposal:
    voter = UserFactory()
    agr_credit(voter, agr(1_000_000))
    proposal = economic_proposal(proposer)
    _acted_at(voting_open(proposal), lambda: vote_cast(proposal_id=proposal.pk, voter=voter, choice="for"))
    return proposal


def _queued(proposer: User) -> Proposal:
    proposal = _passed(proposer)
    _acted_at(
        proposal.voting_ends_at + timedelta(seconds=1),
        lambda: proposal_act(proposal_id=proposal.pk, action=Action.QUEUE),
    )
    proposal.refresh_from_db()
    return proposal


def _in_state(state: State, proposer: User, staff: User) -> tuple[Proposal, datetime]:
    """A proposal in `state`, and an instant at which it reads so."""
    now = timezone.now()
    if state is State.DRAFT:
        return (
            proposal_create(
                proposer=proposer, kind=ProposalKind.TECHNICAL, title="Draft", body="Body.", submit=False
            ),
            now,
        )
    if state is State.DISCUSSION:
        return economic_proposal(proposer), now
    if state is State.VOTING:
        proposal = economic_proposal(proposer)
        return proposal, voting_open(proposal)
    if state is State.DEFEATED:
        proposal = economic_proposal(proposer)  # nobody votes
        return proposal, proposal.voting_ends_at + timedelta(seconds=1)
    if state is State.SUCCEEDED:
        proposal = _passed(proposer)
        return proposal, proposal.voting_ends_at + timedelta(seconds=1)
    if state is State.QUEUED:
        proposal = _queued(proposer)
        return proposal, proposal.eta  # due: only the state decides
    if state in (State.EXECUTED, State.FAILED):
        proposal = _queued(proposer)
        if state is State.FAILED:  # the bounds moved while it waited
            Parameter.objects.filter(key="sale.treasury_bps").update(max_value=310)
        _acted_at(proposal.eta, lambda: proposal_act(proposal_id=proposal.pk, action=Action.EXECUTE))
        return proposal, proposal.eta + timedelta(seconds=1)
    proposal = economic_proposal(proposer)
    action = Action.VETO if state is State.VETOED else Action.CANCEL
    actor = staff if state is State.VETOED else proposer
    _acted_at(now, lambda: proposal_act(proposal_id=proposal.pk, action=action, actor=actor))
    return proposal, now + timedelta(seconds=1)


def _written(proposal: Proposal) -> tuple[int, int, dict[str, object]]:
    row = model_to_dict(Proposal.objects.get(pk=proposal.pk))
    return LedgerTransaction.objects.count(), ParameterChange.objects.count(), row


@pytest.mark.parametrize("state", list(State))
def test_every_action_in_every_state_through_the_service(state: State) -> None:
    proposer, staff = UserFactory(), moderator()
    agr_credit(proposer, agr(200_000))
    proposal, moment = _in_state(state, proposer, staff)
    assert proposal_view(Proposal.objects.get(pk=proposal.pk), moment).state is state
    actors = {
        Action.SUBMIT: proposer,
        Action.CANCEL: proposer,
        Action.STAFF_CANCEL: staff,
        Action.VETO: staff,
    }
    mismatches = []
    for action in Action:
        before = _written(proposal)
        try:
            with transaction.atomic():  # each action on the same proposal, undone afterwards

                def act(action: Action = action) -> Proposal:
                    return proposal_act(proposal_id=proposal.pk, action=action, actor=actors.get(action))

                try:
                    result = _acted_at(moment, act)
                except ProposalStateError:
                    outcome = "refused"
                    if _written(proposal) != before:
                        mismatches.append(f"{state}/{action}: refused but wrote something")
                else:
                    assert isinstance(result, Proposal)
                    outcome = str(proposal_view(result, moment).state)
                raise _Undo
        except _Undo:
            pass
        expected = str(AFTER[action]) if (state, action) in EXPECTED_ALLOWED else "refused"
        if outcome != expected:
            mismatches.append(f"{state}/{action}: {outcome}, expected {expected}")
    assert mismatches == []
