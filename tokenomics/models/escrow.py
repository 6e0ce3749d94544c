"""Escrow holds: a payment kept in the escrow account until it is released or refunded, once."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.fields import WideIntegerField
from core.models import BaseModel
from tokenomics.models.ledger import Asset, LedgerAccount, LedgerTransaction


class EscrowState(models.TextChoices):
    HELD = "held", "Held"
    RELEASED = "released", "Released to the split"
    REFUNDED = "refunded", "Refunded in full"
    PARTIALLY_REFUNDED = "partially_refunded", "Partly refunded, the rest released"


class Escrow(BaseModel):
    """A held payment. Leaves HELD exactly once (row lock + state check in the services)."""

    reference = models.CharField(max_length=120, unique=True)  # e.g. "order:42"
    asset = models.CharField(max_length=3, choices=Asset.choices)
    amount = WideIntegerField()  # gross held, minor units of `asset`
    payer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="escrows_paid"
    )
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="escrows_earned"
    )
    # Where a refund goes back to: the payer's wallet, or the rail's external account.
    source_account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=24, choices=EscrowState.choices, default=EscrowState.HELD)
    # A refund request or dispute holds the escrow past release_after until staff resolve it.
    frozen = models.BooleanField(default=False)
    release_after = models.DateTimeField(db_index=True)
    refunded_amount = WideIntegerField(default=0)
    hold_transaction = models.OneToOneField(LedgerTransaction, on_delete=models.PROTECT, related_name="+")
    # A partial refund resolves with both: the refund to the payer and the rest released as a sale.
    release_transaction = models.OneToOneField(
        LedgerTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    refund_transaction = models.OneToOneField(
        LedgerTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    State: ClassVar[type[EscrowState]] = EscrowState

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(
                    state=EscrowState.HELD,
                    release_transaction__isnull=True,
                    refund_transaction__isnull=True,
                    resolved_at__isnull=True,
                )
                | Q(
                    state=EscrowState.RELEASED,
                    release_transaction__isnull=False,
                    refund_transaction__isnull=True,
                )
                | Q(
                    state=EscrowState.REFUNDED,
                    release_transaction__isnull=True,
                    refund_transaction__isnull=False,
                )
                | Q(
                    state=EscrowState.PARTIALLY_REFUNDED,
                    release_transaction__isnull=False,
                    refund_transaction__isnull=False,
                ),
                name="escrow_transactions_match_state",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="escrow_amount_positive"),
        ]
        indexes: ClassVar = [models.Index(fields=["state", "frozen", "release_after"], name="escrow_due")]

    def __str__(self) -> str:
        return f"escrow {self.reference} {self.amount} {self.asset} ({self.state})"
