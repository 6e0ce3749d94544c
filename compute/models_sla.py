"""SLA enforcement of providers: severe-slash proposals that staff decide, and appeals of slashes.

The slashes themselves are the token economy's (`tokenomics.models.Slash`, made only by
`tokenomics.services.staking.stake_slash`): an automatic SLA slash carries its evidence there
(`evidence["kind"] == "sla"`, the rule, the window, the measurements). What compute adds is what a
slash cannot hold: a severe offence proposed before staff uphold it, and the provider's appeal.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import BaseModel


class ProposalSource(models.TextChoices):
    SYSTEM = "system", "Proposed by the system"
    BUYER = "buyer", "Reported by a buyer"


class ProposalState(models.TextChoices):
    PROPOSED = "proposed", "Awaiting staff"
    UPHELD = "upheld", "Upheld: slashed and banned"
    DISMISSED = "dismissed", "Dismissed"


class SevereSlashProposal(BaseModel):
    """A severe offence (malicious output) awaiting staff: upheld, it slashes 15-20% and bans the
    provider (every node deregistered, no new one accepted); dismissed, nothing happens."""

    provider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=8, choices=ProposalSource.choices)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=255)
    evidence = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=ProposalState.choices, default=ProposalState.PROPOSED)
    fraction_bps = models.PositiveIntegerField(null=True, blank=True)  # what staff chose, if upheld
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    slash = models.OneToOneField(
        "tokenomics.Slash", null=True, blank=True, on_delete=models.PROTECT, related_name="severe_proposal"
    )

    class Meta:
        indexes: ClassVar = [models.Index(fields=["provider", "state"], name="sla_proposal_provider_state")]

    def __str__(self) -> str:
        return f"severe slash proposal #{self.pk} of provider {self.provider_id} ({self.state})"


class AppealState(models.TextChoices):
    OPEN = "open", "Awaiting staff"
    UPHELD = "upheld", "Upheld: the slash was reversed"
    REJECTED = "rejected", "Rejected"


class SlashAppeal(BaseModel):
    """A provider's appeal of one of their slashes, made within `slashing.appeal_window_seconds`.
    Upheld, the slash is reversed (`stake_slash_reverse`); rejected, it stands."""

    slash = models.OneToOneField("tokenomics.Slash", on_delete=models.PROTECT, related_name="appeal")
    provider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(max_length=4000)
    state = models.CharField(max_length=10, choices=AppealState.choices, default=AppealState.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    staff_note = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(state="open") | Q(decided_by__isnull=False), name="sla_appeal_decided_by_staff"
            )
        ]

    def __str__(self) -> str:
        return f"appeal of slash {self.slash_id} ({self.state})"
