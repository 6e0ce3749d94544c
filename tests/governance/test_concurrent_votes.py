"""G1 on PostgreSQL: 100 concurrent duplicate votes by one holder count once; and G4's concurrent
executions of one due proposal execute it once.

100 submissions from 20 threads in 5 barrier-aligned rounds (PostgreSQL here allows 100
connections in all, shared with other work, so 100 simultaneous connections cannot be opened);
each round is 20 truly simultaneous submissions on separate connections."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from governance.errors import ProposalStateError
from governance.models import Vote
from governance.selectors import proposal_tally
from governance.services.proposals import proposal_act
from governance.services.votes import vote_cast
from governance.state import Action
from tests.accounts.factories import UserFactory
from tests.governance.conftest import BOND, economic_proposal, travel_to, voting_open
from tests.governance.factories import agr_credit
from tests.tokenomics.concurrency.threads import Outcome, capture, race, run_together
from tokenomics.models import ParameterChange
from tokenomics.money import agr

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

THREADS = 20
ROUNDS = 5


def test_100_concurrent_duplicate_votes_count_once() -> None:
    proposer, voter = UserFactory(), UserFactory()
    agr_credit(proposer, BOND)
    agr_credit(voter, agr(1_000))
    proposal = economic_proposal(proposer)

    def work(index: int, barrier: threading.Barrier) -> list[Outcome]:
        outcomes = []
        for _ in range(ROUNDS):
            outcomes.append(capture(lambda: vote_cast(proposal_id=proposal.pk, voter=voter, choice="for")))
            barrier.wait()
        return outcomes

    with travel_to(voting_open(proposal)):
        outcomes = [o for per_thread in run_together(THREADS, work) for o in per_thread]
        tally, _ = proposal_tally(proposal)
    assert len(outcomes) == THREADS * ROUNDS == 100
    assert [o.error for o in outcomes if not o.ok] == []
    assert Vote.objects.filter(proposal=proposal).count() == 1
    assert tally.votes_for == agr(1_000)


def test_the_database_refuses_a_second_vote_row_even_around_the_service() -> None:
    proposer, voter = UserFactory(), UserFactory()
    agr_credit(proposer, BOND)
    proposal = economic_proposal(proposer)
    Vote.objects.create(proposal=proposal, voter=voter, choice="for", weight=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Vote.objects.create(proposal=proposal, voter=voter, choice="against", weight=1)


def test_concurrent_executions_after_the_eta_execute_once() -> None:
    """G4 under concurrency: 12 callers execute the same due proposal at once; one succeeds, the
    others find it executed (409), and the parameter history has one row from it."""
    proposer, voter = UserFactory(), UserFactory()
    agr_credit(proposer, BOND)
    agr_credit(voter, agr(1_000_000))
    proposal = economic_proposal(proposer)
    with travel_to(voting_open(proposal)):
        vote_cast(proposal_id=proposal.pk, voter=voter, choice="for")
    proposal.refresh_from_db()
    with travel_to(proposal.voting_ends_at + timedelta(seconds=1)):
        proposal_act(proposal_id=proposal.pk, action=Action.QUEUE)
    proposal.refresh_from_db()
    with travel_to(proposal.eta + timedelta(seconds=1)):
        outcomes = race(12, lambda i: proposal_act(proposal_id=proposal.pk, action=Action.EXECUTE))
    assert sum(o.ok for o in outcomes) == 1
    assert all(isinstance(o.error, ProposalStateError) for o in outcomes if not o.ok)
    assert ParameterChange.objects.filter(proposal_ref=f"proposal:{proposal.pk}").count() == 1
