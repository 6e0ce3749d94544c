"""Staking: the AGR a holder bonds (a STAKE ledger account), what is unbonding (an UNBONDING
account, one row per unstake with its release time), slashes with their evidence, and the KYC flag
staff set before large payouts."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.fields import WideIntegerField
from core.models import BaseModel
from tokenomics.models.ledger import LedgerTransaction


class UnbondingState(models.TextChoices):
    UNBONDING = "unbonding", "Unbonding"
    RELEASED = "released", "Released to the wallet"


class Unbonding(BaseModel):
    """One unstake in its cool-down. `amount` is what will be released (less any slash since)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="unbondings")
    amount = WideIntegerField()  # AGR base units still unbonding
    release_at = models.DateTimeField(db_index=True)
    state = models.CharField(max_length=16, choices=UnbondingState.choices, default=UnbondingState.UNBONDING)
    start_transaction = models.OneToOneField(LedgerTransaction, on_delete=models.PROTECT, related_name="+")
    release_transaction = models.OneToOneField(
        LedgerTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="unbonding_not_negative")
        ]

    def __str__(self) -> str:
        return f"unbonding {self.amount} of user {self.user_id} until {self.release_at:%Y-%m-%d %H:%M}"


class Slash(BaseModel):
    """A slash of a holder's stake: how much, why, on what evidence, and the burn that took it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="slashes")
    fraction_bps = models.PositiveIntegerField()  # asked for
    applied_bps = models.PositiveIntegerField()  # after the tier's cap
    tier = models.CharField(max_length=16, blank=True)
    bonded_amount = WideIntegerField()  # taken from bonded stake
    unbonding_amount = WideIntegerField()  # taken from unbonding stake
    reason = models.CharField(max_length=255)
    evidence = models.JSONField(default=dict)
    transaction = models.OneToOneField(LedgerTransaction, on_delete=models.PROTECT, related_name="+")
    reversal = models.OneToOneField(
        LedgerTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    @property
    def total(self) -> int:
        return int(self.bonded_amount) + int(self.unbonding_amount)

    def __str__(self) -> str:
        return f"slash of {self.total} from user {self.user_id}: {self.reason}"


class KycVerification(models.Model):
    """Staff verified this person's identity (SPEC §8): payouts above the registry's threshold need it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="kyc"
    )
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"KYC of user {self.user_id} by {self.verified_by_id} at {self.verified_at:%Y-%m-%d}"
