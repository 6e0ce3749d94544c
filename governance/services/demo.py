"""Demo history only (`manage.py load_demo_governance`): proposals whose times lie in the past.

A proposal's state is derived from its stored times, and the transition service always acts at
the present, so the demo acts now and then moves a proposal's whole timeline back. Nothing else
calls this.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction

from governance.models import Proposal, Vote

TIME_FIELDS = (
    "submitted_at",
    "voting_starts_at",
    "voting_ends_at",
    "queued_at",
    "eta",
    "executed_at",
    "failed_at",
    "cancelled_at",
    "bond_settled_at",
)


def proposal_backdate(*, proposal_id: int, by: timedelta) -> Proposal:
    """Move every stored time of the proposal (and of its votes) `by` into the past, keeping their
    order: the proposal then reads as it would have that much later. Demo data only."""
    with transaction.atomic():
        proposal = Proposal.objects.select_for_update().get(pk=proposal_id)
        for name in TIME_FIELDS:
            value = getattr(proposal, name)
            if value is not None:
                setattr(proposal, name, value - by)
        proposal.created_at = proposal.created_at - by
        proposal.save()
        for vote in Vote.objects.filter(proposal=proposal):
            Vote.objects.filter(pk=vote.pk).update(created_at=vote.created_at - by)
    return proposal
