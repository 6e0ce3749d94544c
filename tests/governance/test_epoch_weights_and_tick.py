"""Governance's community weights for revenue epochs, and the beat task through Celery (eager)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from governance.services.votes import vote_cast
from governance.tasks import tick
from tests.accounts.factories import UserFactory
from tests.governance.conftest import BOND, economic_proposal, travel_to, voting_open
from tests.governance.factories import agr_credit
from tokenomics.money import agr
from tokenomics.services.distribution_weights import distribution_weights, distribution_weights_registered

pytestmark = [pytest.mark.django_db]


def test_community_share_weights_are_votes_cast_in_the_epoch(proposer) -> None:
    a, b = UserFactory(), UserFactory()
    for user in (a, b):
        agr_credit(user, agr(1_000))
    agr_credit(proposer, BOND)  # a second bond
    first, second = economic_proposal(proposer), economic_proposal(proposer)
    opened = voting_open(first)
    with travel_to(opened):
        for proposal in (first, second):
            vote_cast(proposal_id=proposal.pk, voter=a, choice="for")
        vote_cast(proposal_id=first.pk, voter=b, choice="against")
        vote_cast(proposal_id=first.pk, voter=b, choice="for")  # a changed vote is still one vote
    assert distribution_weights_registered("community")
    weights = distribution_weights("community", opened - timedelta(hours=1), opened + timedelta(hours=1))
    assert weights == {a.pk: 2, b.pk: 1}
    assert distribution_weights("community", opened + timedelta(hours=1), opened + timedelta(days=1)) == {}


def test_the_beat_task_queues_then_executes_after_the_eta(proposer) -> None:
    voter = UserFactory()
    agr_credit(voter, agr(1_000_000))
    proposal = economic_proposal(proposer)
    with travel_to(voting_open(proposal)):
        vote_cast(proposal_id=proposal.pk, voter=voter, choice="for")
    with travel_to(proposal.voting_ends_at + timedelta(seconds=1)):
        assert tick.delay().get()["queued"] == 1
    proposal.refresh_from_db()
    with travel_to(proposal.eta + timedelta(seconds=1)):
        assert tick.delay().get()["executed"] == 1
    proposal.refresh_from_db()
    assert proposal.executed_at is not None
