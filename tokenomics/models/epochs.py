"""Revenue-distribution epochs and on-chain burns: records of what the ledger did, never money.

The money of an epoch is in its ledger transactions (the distribution of the platform-revenue pool,
the provider-rewards emission); an `Epoch` row says which ones and over which `[starts_at, ends_at)`
the weights were read. A `ChainBurn` is one batched AGR transfer to the burn address, sending on
chain what the ledger's burn account received; its transaction hash is kept.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from django.db import models
from django.db.models import F, Q

from core.fields import WideIntegerField
from core.models import BaseModel
from tokenomics.models.ledger import LedgerTransaction
from tokenomics.models.rails import HotWallet


class Share(StrEnum):
    """The four shares of an epoch's platform-revenue pool (SPEC §4); who receives each is decided
    by the weight functions apps register (`tokenomics.services.distribution_weights`)."""

    PROVIDERS = "providers"
    CREATORS = "creators"
    INTEGRATIONS = "integrations"
    COMMUNITY = "community"


class Epoch(BaseModel):
    """A closed epoch (rows are written when an epoch closes, once, at `closed_at`).

    Epoch 1 starts on the UTC day of the token genesis; each next one starts where the previous
    ended and lasts `distribution.epoch_seconds` as the registry said when it closed."""

    number = models.PositiveIntegerField(unique=True)
    starts_at = models.DateTimeField(unique=True)
    ends_at = models.DateTimeField(unique=True)
    closed_at = models.DateTimeField()
    # Null when there was nothing to move (an empty pool, no recipients).
    distribution_transaction = models.OneToOneField(
        LedgerTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    emission_transaction = models.OneToOneField(
        LedgerTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # How the distribution divided each asset's pool, as decimal strings of minor units:
    # {"USD": {"pool": "…", "providers": "…", "creators": "…", "integrations": "…",
    # "community": "…", "carried": "…"}, "AGR": {…}}; the parts sum to the pool and equal the
    # distribution transaction's entries (tests reconcile them). "emission": {"scheduled": "…",
    # "paid": "…"} for the rewards.
    breakdown = models.JSONField(default=dict)

    class Meta:
        ordering = ("-number",)
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="epoch_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"epoch {self.number} [{self.starts_at:%Y-%m-%d}, {self.ends_at:%Y-%m-%d})"


class ChainBurn(BaseModel):
    """One batched transfer of burned AGR to the burn address, signed before it is broadcast (so a
    retry re-sends the same bytes), as a `ChainPayout` is. `ledger_burned` is the burn account's
    balance the batch brought the chain up to."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending (not signed)"
        SIGNED = "signed", "Signed (stored, not yet sent)"
        BROADCAST = "broadcast", "Broadcast"
        CONFIRMED = "confirmed", "Confirmed"
        FAILED = "failed", "Failed on chain"

    amount = WideIntegerField()  # AGR base units
    ledger_burned = WideIntegerField()
    to_address = models.CharField(max_length=42)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    hot_wallet = models.ForeignKey(
        HotWallet, null=True, blank=True, on_delete=models.PROTECT, related_name="burns"
    )
    nonce = models.PositiveBigIntegerField(null=True, blank=True)
    signed_tx = models.TextField(blank=True)
    tx_hash = models.CharField(max_length=66, unique=True, null=True, blank=True)
    broadcast_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["hot_wallet", "nonce"], name="chain_burn_nonce_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="chain_burn_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"burn {self.amount} → {self.to_address} ({self.status})"
