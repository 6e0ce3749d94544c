"""Proposals, their parameter changes, votes, delegations and discussion comments.

A proposal's state is never stored: `governance.state.proposal_state` derives it from the times
stored here (as OpenZeppelin Governor's `state()` does), so that pages, API and the clock agree.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.fields import WideIntegerField
from core.models import BaseModel


class ProposalKind(models.TextChoices):
    TECHNICAL = "technical", "Technical"
    ECONOMIC = "economic", "Economic parameters"
    TREASURY = "treasury", "Treasury spending"
    EMERGENCY = "emergency", "Emergency"


class VoteChoice(models.TextChoices):
    FOR = "for", "For"
    AGAINST = "against", "Against"
    ABSTAIN = "abstain", "Abstain"


class Proposal(BaseModel):
    kind = models.CharField(max_length=16, choices=ProposalKind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown; rendered sanitised.")
    proposer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proposals")
    # Treasury spending: who receives what.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    asset = models.CharField(max_length=3, blank=True)
    amount = WideIntegerField(null=True, blank=True)
    # Fixed when submitted, from the registry then (a later change of the registry does not move a
    # running proposal's goalposts).
    bond = WideIntegerField(default=0)
    threshold_bps = models.PositiveIntegerField(default=0)
    quorum_bps = models.PositiveIntegerField(default=0)
    timelock_seconds = models.PositiveIntegerField(default=0)
    submitted_at = models.DateTimeField(null=True, blank=True)
    voting_starts_at = models.DateTimeField(null=True, blank=True)  # the snapshot
    voting_ends_at = models.DateTimeField(null=True, blank=True)
    # Set once, by `governance.services.proposals.proposal_act` (under the proposal's row lock).
    queued_at = models.DateTimeField(null=True, blank=True)
    eta = models.DateTimeField(null=True, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    vetoed = models.BooleanField(default=False)  # cancelled by staff as spam: the bond is burned
    bond_settled_at = models.DateTimeField(null=True, blank=True)

    Kind: ClassVar[type[ProposalKind]] = ProposalKind

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        permissions: ClassVar = [
            ("moderate_proposal", "Can cancel a proposal, or veto it as spam (burning its bond)"),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(executed_at__isnull=True)
                | Q(eta__isnull=False, executed_at__gte=models.F("eta")),
                name="proposal_never_executed_before_eta",
            ),
            models.CheckConstraint(
                condition=Q(executed_at__isnull=True) | Q(failed_at__isnull=True),
                name="proposal_executed_or_failed",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def reference(self) -> str:
        """How the ledger and the parameter history name this proposal."""
        return f"proposal:{self.pk}"


class ProposalChange(models.Model):
    """One (parameter, new value) pair of a parameter proposal."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="changes")
    parameter_key = models.CharField(max_length=80)
    new_value = WideIntegerField()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["proposal", "parameter_key"], name="proposal_change_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.parameter_key} → {self.new_value}"


class Vote(BaseModel):
    """One holder's vote on one proposal (changeable until voting closes); `weight` is the voter's
    power at the snapshot, fixed when first cast (it cannot change: the snapshot is in the past)."""

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="votes")
    choice = models.CharField(max_length=8, choices=VoteChoice.choices)
    reason = models.CharField(max_length=1000, blank=True)
    weight = WideIntegerField()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["proposal", "voter"], name="vote_one_per_voter"),
        ]

    def __str__(self) -> str:
        return f"{self.voter_id} {self.choice} #{self.proposal_id}"


class Delegation(BaseModel):
    """A holder's whole voting power lent to another holder from `started_at` until `ended_at`.

    Kept after it ends (history), so that a snapshot in the past reads who delegated then.
    """

    delegator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    delegate = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["delegator"], condition=Q(ended_at__isnull=True), name="delegation_one_active"
            ),
            models.CheckConstraint(condition=~Q(delegator=models.F("delegate")), name="delegation_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.delegator_id} → {self.delegate_id}"


class Comment(BaseModel):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()

    class Meta:
        ordering: ClassVar = ["created_at", "id"]

    def __str__(self) -> str:
        return f"comment {self.pk} on #{self.proposal_id}"
