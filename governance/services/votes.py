"""Votes, delegation and discussion comments."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from governance.errors import DelegationInvalid, ProposalInvalid, ProposalNotFound, VotingClosed
from governance.models import Comment, Delegation, Proposal, Vote, VoteChoice
from governance.selectors import proposal_view, voting_power
from governance.state import State

REASON_MAX = 1000
COMMENT_MAX = 10_000


def vote_cast(*, proposal_id: int, voter: User, choice: str, reason: str = "") -> Vote:
    """Cast or change the voter's one vote while voting is open, weighted by their power at the
    snapshot (0 for a holder who had none then, or who had delegated it away: such a vote is kept
    but counts nothing). Serialised per proposal by its row lock; the unique constraint on
    (proposal, voter) holds even without it. Raises ProposalNotFound, VotingClosed, ProposalInvalid."""
    if choice not in VoteChoice.values:
        raise ProposalInvalid("Vote for, against or abstain.", detail={"field": "choice"})
    if len(reason) > REASON_MAX:
        raise ProposalInvalid(f"A reason is at most {REASON_MAX} characters.", detail={"field": "reason"})
    with transaction.atomic():
        proposal = Proposal.objects.select_for_update().filter(pk=proposal_id).first()
        if proposal is None:
            raise ProposalNotFound(detail={"id": proposal_id})
        if proposal_view(proposal, timezone.now()).state is not State.VOTING:
            raise VotingClosed(
                detail={
                    "voting_starts_at": proposal.voting_starts_at,
                    "voting_ends_at": proposal.voting_ends_at,
                }
            )
        assert proposal.voting_starts_at is not None
        vote = Vote.objects.filter(proposal=proposal, voter=voter).first()
        if vote is None:
            return Vote.objects.create(
                proposal=proposal,
                voter=voter,
                choice=choice,
                reason=reason,
                weight=voting_power(voter.pk, proposal.voting_starts_at),
            )
        vote.choice = choice
        vote.reason = reason
        vote.save(update_fields=["choice", "reason", "updated_at"])
        return vote


def delegation_set(*, delegator: User, delegate: User) -> Delegation:
    """Delegate all of `delegator`'s voting power to `delegate` from now on (ending any earlier
    delegation now). Snapshots taken before now are unaffected. Raises DelegationInvalid."""
    if delegate.pk == delegator.pk:
        raise DelegationInvalid("You cannot delegate to yourself; remove your delegation instead.")
    if not delegate.is_active:
        raise DelegationInvalid("That holder cannot receive delegations.")
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=delegator.pk).first()  # serialises one delegator
        now = timezone.now()
        current = Delegation.objects.filter(delegator=delegator, ended_at__isnull=True).first()
        if current is not None and current.delegate_id == delegate.pk:
            return current
        if current is not None:
            current.ended_at = now
            current.save(update_fields=["ended_at", "updated_at"])
        return Delegation.objects.create(delegator=delegator, delegate=delegate, started_at=now)


def delegation_remove(*, delegator: User) -> Delegation | None:
    """End the delegator's delegation now (their power is theirs again from the next snapshot)."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=delegator.pk).first()
        current = Delegation.objects.filter(delegator=delegator, ended_at__isnull=True).first()
        if current is None:
            return None
        current.ended_at = timezone.now()
        current.save(update_fields=["ended_at", "updated_at"])
        return current


def comment_add(*, proposal_id: int, author: User, body: str) -> Comment:
    """A discussion comment, while the proposal is in discussion or voting."""
    body = body.strip()
    if not body or len(body) > COMMENT_MAX:
        raise ProposalInvalid(f"A comment is 1 to {COMMENT_MAX} characters.", detail={"field": "body"})
    proposal = Proposal.objects.filter(pk=proposal_id).first()
    if proposal is None:
        raise ProposalNotFound(detail={"id": proposal_id})
    if proposal_view(proposal).state not in (State.DISCUSSION, State.VOTING):
        raise VotingClosed("Comments are open during discussion and voting.")
    return Comment.objects.create(proposal=proposal, author=author, body=body)
