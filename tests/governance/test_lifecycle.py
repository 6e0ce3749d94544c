"""A proposal's whole life through the services, against the real ledger and registry; G4's
"no execution before the ETA", "cancel after queue prevents execution", "execute twice moves
nothing twice", and failures recorded with their reason."""

from __future__ import annotations

from datetime import timedelta

import pytest

from governance.errors import NotAllowed, ProposalStateError, VotingClosed
from governance.models import Proposal, ProposalKind
from governance.selectors import proposal_view
from governance.services.proposals import (
    TIMELOCK_FLOOR_SECONDS,
    proposal_act,
    proposal_create,
    proposals_tick,
)
from governance.services.votes import vote_cast
from governance.state import Action, State
from tests.accounts.factories import UserFactory
from tests.governance.conftest import BOND, economic_proposal, moderator, travel_to, voting_open
from tests.governance.factories import agr_credit
from tokenomics.errors import InsufficientFunds, ParameterChangeTooLarge
from tokenomics.models import LedgerTransaction, Parameter, ParameterChange
from tokenomics.models.ledger import AccountKind
from tokenomics.money import agr
from tokenomics.selectors.ledger import user_balances
from tokenomics.selectors.parameters import parameter_get

pytestmark = [pytest.mark.django_db]


def _stored(key: str) -> int:
    """The registry's value in the database (the cache is refreshed on commit, which a test's
    transaction never reaches)."""
    return Parameter.objects.get(key=key).value


def _agr_wallet(user) -> int:
    return next(b.wallet for b in user_balances(user=user) if b.asset == "AGR")


def _passed(proposer) -> Proposal:
    """A proposal whose vote has ended and passed: one big holder votes for."""
    voter = UserFactory()
    agr_credit(voter, agr(1_000_000))
    proposal = economic_proposal(proposer)
    with travel_to(voting_open(proposal)):
        vote_cast(proposal_id=proposal.pk, voter=voter, choice="for")
    return proposal


def _after(proposal: Proposal, moment_attr: str, seconds: int = 1):
    proposal.refresh_from_db()
    return travel_to(getattr(proposal, moment_attr) + timedelta(seconds=seconds))


def test_submit_locks_the_bond_and_sets_periods_from_the_registry(proposer) -> None:
    before = _agr_wallet(proposer)
    proposal = economic_proposal(proposer)
    assert _agr_wallet(proposer) == before - BOND
    assert proposal.bond == BOND
    assert proposal.threshold_bps == parameter_get("governance.threshold.economic_bps")
    assert proposal.voting_starts_at - proposal.submitted_at == timedelta(
        seconds=parameter_get("governance.discussion_seconds")
    )
    assert proposal_view(proposal).state is State.DISCUSSION


def test_submit_without_the_bond_is_refused_and_leaves_nothing() -> None:
    poor = UserFactory()
    agr_credit(poor, BOND - 1)
    with pytest.raises(InsufficientFunds):
        economic_proposal(poor)
    assert not Proposal.objects.filter(proposer=poor).exists()


def test_change_beyond_the_quarterly_limit_needs_an_emergency_at_80_percent(proposer) -> None:
    current = parameter_get("sale.treasury_bps")
    with pytest.raises(ParameterChangeTooLarge):
        economic_proposal(proposer, **{"sale.treasury_bps": current * 2})
    agr_credit(proposer, BOND)
    emergency = proposal_create(
        proposer=proposer,
        kind=ProposalKind.EMERGENCY,
        title="Double the treasury share",
        body="Now.",
        changes={"sale.treasury_bps": current * 2},
    )
    assert emergency.threshold_bps == parameter_get("governance.threshold.emergency_beyond_limit_bps") == 8000
    assert emergency.timelock_seconds >= TIMELOCK_FLOOR_SECONDS


def test_whole_life_passed_queued_executed_once_with_history_and_bond_back(proposer) -> None:
    before = _agr_wallet(proposer)
    proposal = _passed(proposer)
    new_value = parameter_get("sale.treasury_bps") * 11 // 10
    with _after(proposal, "voting_ends_at"):
        assert proposal_view(proposal).state is State.SUCCEEDED
        assert proposals_tick()["queued"] == 1
    proposal.refresh_from_db()
    assert proposal.eta - proposal.queued_at == timedelta(
        seconds=parameter_get("governance.timelock_seconds")
    )
    # One second before the ETA: neither anyone's call nor the beat task executes it.
    with _after(proposal, "eta", -1):
        with pytest.raises(ProposalStateError):
            proposal_act(proposal_id=proposal.pk, action=Action.EXECUTE)
        assert proposals_tick()["executed"] == 0
    assert _stored("sale.treasury_bps") != new_value
    with _after(proposal, "eta", 0):
        done = proposal_act(proposal_id=proposal.pk, action=Action.EXECUTE)
        assert done.executed_at == done.eta
        with pytest.raises(ProposalStateError):
            proposal_act(proposal_id=proposal.pk, action=Action.EXECUTE)
        assert proposals_tick()["executed"] == 0
    assert _stored("sale.treasury_bps") == new_value
    change = ParameterChange.objects.get(parameter__key="sale.treasury_bps", new_value=new_value)
    assert change.proposal_ref == f"proposal:{proposal.pk}"
    assert ParameterChange.objects.filter(proposal_ref=f"proposal:{proposal.pk}").count() == 1
    assert _agr_wallet(proposer) == before  # the bond came back, once
    assert (
        LedgerTransaction.objects.filter(idempotency_key=f"governance:bond-return:{proposal.pk}").count() == 1
    )


def test_cancel_after_queue_prevents_execution(proposer) -> None:
    staff = moderator()
    proposal = _passed(proposer)
    with _after(proposal, "voting_ends_at"):
        proposal_act(proposal_id=proposal.pk, action=Action.QUEUE)
        proposal_act(proposal_id=proposal.pk, action=Action.STAFF_CANCEL, actor=staff)
    old = parameter_get("sale.treasury_bps")
    with _after(proposal, "eta", 10):
        with pytest.raises(ProposalStateError):
            proposal_act(proposal_id=proposal.pk, action=Action.EXECUTE)
        assert proposals_tick()["executed"] == 0
        assert proposal_view(proposal).state is State.CANCELLED
    assert _stored("sale.treasury_bps") == old


def test_only_the_proposer_cancels_and_only_before_voting(proposer) -> None:
    proposal = economic_proposal(proposer)
    with pytest.raises(NotAllowed):
        proposal_act(proposal_id=proposal.pk, action=Action.CANCEL, actor=UserFactory())
    with travel_to(voting_open(proposal)), pytest.raises(ProposalStateError):
        proposal_act(proposal_id=proposal.pk, action=Action.CANCEL, actor=proposer)
    before = _agr_wallet(proposer)
    proposal_act(proposal_id=proposal.pk, action=Action.CANCEL, actor=proposer)
    assert _agr_wallet(proposer) == before + BOND


def test_staff_veto_burns_the_bond(proposer) -> None:
    proposal = economic_proposal(proposer)
    before = _agr_wallet(proposer)
    with pytest.raises(NotAllowed):
        proposal_act(proposal_id=proposal.pk, action=Action.VETO, actor=proposer)
    with pytest.raises(NotAllowed):  # staff without the moderation permission
        proposal_act(proposal_id=proposal.pk, action=Action.VETO, actor=UserFactory(is_staff=True))
    vetoed = proposal_act(proposal_id=proposal.pk, action=Action.VETO, actor=moderator())
    assert proposal_view(vetoed).state is State.VETOED
    assert _agr_wallet(proposer) == before
    burn = LedgerTransaction.objects.get(idempotency_key=f"governance:bond-burn:{proposal.pk}")
    assert {e.account.kind: e.amount for e in burn.entries.select_related("account")} == {
        AccountKind.GOVERNANCE_BOND: -BOND,
        AccountKind.BURN: BOND,
    }


def test_defeated_proposal_returns_the_bond_through_the_tick(proposer) -> None:
    proposal = economic_proposal(proposer)  # nobody votes: no quorum
    before = _agr_wallet(proposer)
    with _after(proposal, "voting_ends_at"):
        assert proposal_view(proposal).state is State.DEFEATED
        assert proposals_tick()["settled"] == 1
        assert proposals_tick()["settled"] == 0
    assert _agr_wallet(proposer) == before + BOND


def test_execution_failing_its_checks_is_recorded_with_the_reason(proposer) -> None:
    proposal = _passed(proposer)
    with _after(proposal, "voting_ends_at"):
        proposal_act(proposal_id=proposal.pk, action=Action.QUEUE)
    # The bounds move in the meantime (a catalog change), so the proposed value is now outside them.
    Parameter.objects.filter(key="sale.treasury_bps").update(max_value=310)
    with _after(proposal, "eta", 1):
        failed = proposal_act(proposal_id=proposal.pk, action=Action.EXECUTE)
        assert proposal_view(failed).state is State.FAILED
        assert failed.failure_reason.startswith("validation_error")
        with pytest.raises(ProposalStateError):
            proposal_act(proposal_id=proposal.pk, action=Action.EXECUTE)
    assert _stored("sale.treasury_bps") == 300
    assert not ParameterChange.objects.filter(proposal_ref=f"proposal:{proposal.pk}").exists()


def test_treasury_spend_pays_once_or_fails_when_short(proposer) -> None:
    recipient = UserFactory()
    voter = UserFactory()
    agr_credit(voter, agr(1_000_000))
    proposal = proposal_create(
        proposer=proposer,
        kind=ProposalKind.TREASURY,
        title="Fund a grant",
        body="A grant.",
        recipient=recipient,
        asset="AGR",
        amount=agr(5),
    )
    with travel_to(voting_open(proposal)):
        vote_cast(proposal_id=proposal.pk, voter=voter, choice="for")
    with _after(proposal, "voting_ends_at"):
        proposal_act(proposal_id=proposal.pk, action=Action.QUEUE)
    with _after(proposal, "eta", 1):
        result = proposal_act(proposal_id=proposal.pk, action=Action.EXECUTE)
    # The treasury holds no AGR here: recorded as failed, nothing paid.
    assert result.failed_at is not None
    assert "insufficient_funds" in result.failure_reason
    assert _agr_wallet(recipient) == 0


def test_votes_only_while_voting_is_open(proposer) -> None:
    proposal = economic_proposal(proposer)
    with pytest.raises(VotingClosed):
        vote_cast(proposal_id=proposal.pk, voter=proposer, choice="for")
    with _after(proposal, "voting_ends_at", 0), pytest.raises(VotingClosed):
        vote_cast(proposal_id=proposal.pk, voter=proposer, choice="for")


def test_a_defeated_proposal_whose_bond_is_back_cannot_be_vetoed(proposer) -> None:
    proposal = economic_proposal(proposer)
    with _after(proposal, "voting_ends_at"):
        proposals_tick()  # defeated: the bond goes back
        with pytest.raises(ProposalStateError):
            proposal_act(proposal_id=proposal.pk, action=Action.VETO, actor=moderator())
