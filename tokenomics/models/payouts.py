"""Payouts: a creator or provider withdrawing their payable balance through a rail.

One `Payout` is one ledger transaction (the payable debited by `amount`; `fee` to platform revenue;
`net` to the rail's external account) and, for AGR, one `ChainPayout` that sends `net` on chain.
The state machine and the money live in `tokenomics.services.payouts`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Q
from django.db.models.sql.compiler import SQLCompiler

from core.fields import WideIntegerField
from core.models import BaseModel
from tokenomics.models.ledger import AccountKind, Asset, LedgerTransaction
from tokenomics.models.rails import ChainPayout, Rail

PAYABLE_KINDS = (AccountKind.CREATOR_PAYABLE, AccountKind.PROVIDER_PAYABLE)
# Below 10^18 every wide integer fits SQLite's 64-bit arithmetic (2^63 ≈ 9.2·10^18).
_SQLITE_EXACT_DIGITS = 18


class WideDifferenceIs(models.Func):
    """`result = minuend - subtrahend` over WideIntegerFields, as a CHECK condition.

    Exact on PostgreSQL (numeric(78,0)). SQLite, the embedded demo database, stores wide integers
    as TEXT and its arithmetic is 64-bit and then float, so there the check runs only while both
    operands have at most 18 digits (every USD amount; AGR below 1 token), and bigger rows rely on
    the service that writes them (which computes net = amount - fee with Python ints).
    """

    arity = 3
    conditional = True
    output_field = models.BooleanField()

    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, list[Any]]:
        (result, r_params), (minuend, m_params), (subtrahend, s_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        return f"({result} = {minuend} - {subtrahend})", [*r_params, *m_params, *s_params]

    def as_sqlite(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, list[Any]]:
        (result, r_params), (minuend, m_params), (subtrahend, s_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        exact = (
            f"length({minuend}) <= {_SQLITE_EXACT_DIGITS} AND length({subtrahend}) <= {_SQLITE_EXACT_DIGITS}"
        )
        return (
            f"(CASE WHEN {exact} THEN {result} = {minuend} - {subtrahend} ELSE 1 END)",
            [*m_params, *s_params, *r_params, *m_params, *s_params],
        )


class PayoutStatus(models.TextChoices):
    # The money is held (payable debited) but no rail has it yet; the request service moves a
    # payout on to NEEDS_REVIEW or PROCESSING in the transaction that creates it.
    REQUESTED = "requested", "Requested"
    # Above the KYC threshold (payout.kyc_threshold_cents): held until staff approve it.
    NEEDS_REVIEW = "needs_review", "Needs review"
    PROCESSING = "processing", "Processing"
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed (returned to the payable balance)"
    CANCELED = "canceled", "Canceled (returned to the payable balance)"


OPEN_PAYOUT_STATUSES = (PayoutStatus.REQUESTED, PayoutStatus.NEEDS_REVIEW, PayoutStatus.PROCESSING)
CANCELABLE_PAYOUT_STATUSES = (PayoutStatus.REQUESTED, PayoutStatus.NEEDS_REVIEW)


class Payout(BaseModel):
    """A withdrawal of a creator's or provider's payable balance: USD by card rail (Stripe), AGR on chain."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts")
    account_kind = models.CharField(
        max_length=32, choices=[(kind.value, kind.label) for kind in PAYABLE_KINDS]
    )
    asset = models.CharField(max_length=3, choices=Asset.choices)
    amount = WideIntegerField()  # gross debited from the payable, minor units of `asset`
    fee = WideIntegerField(default=0)  # instant-withdrawal fee to platform revenue, minor units
    net = WideIntegerField()  # sent through the rail (amount - fee), minor units
    rail = models.CharField(max_length=8, choices=Rail.choices)
    instant = models.BooleanField(default=True)  # on demand (with the fee) rather than scheduled
    status = models.CharField(max_length=16, choices=PayoutStatus.choices, default=PayoutStatus.REQUESTED)
    # Chosen by the caller ("payout:<uuid>", "scheduled:<user>:<kind>:<asset>:<period>"); a repeat
    # with the same reference returns this payout.
    reference = models.CharField(max_length=120, unique=True)
    to_address = models.CharField(max_length=42, blank=True)  # AGR: EIP-55 recipient
    chain_payout = models.OneToOneField(
        ChainPayout, null=True, blank=True, on_delete=models.PROTECT, related_name="payout"
    )
    ledger_transaction = models.ForeignKey(
        LedgerTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The reversal that returned the money (canceled, or failed on the rail).
    reversal_transaction = models.ForeignKey(
        LedgerTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    failure_reason = models.CharField(max_length=255, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    settled_at = models.DateTimeField(null=True, blank=True)  # when it became paid, failed or canceled
    # When `reviewed_by` last acted on it (approved, canceled, marked paid or failed).
    reviewed_at = models.DateTimeField(null=True, blank=True)

    Status: ClassVar[type[PayoutStatus]] = PayoutStatus

    class Meta:
        ordering = ("-created_at", "-id")
        # Approving, canceling and settling move payable money: an explicit grant, never is_staff.
        permissions: ClassVar = [("settle_payout", "Can approve, cancel and settle payouts")]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive"),
            models.CheckConstraint(condition=Q(fee__gte=0), name="payout_fee_not_negative"),
            models.CheckConstraint(condition=Q(net__gt=0), name="payout_net_positive"),
            models.CheckConstraint(
                condition=WideDifferenceIs(F("net"), F("amount"), F("fee")),
                name="payout_net_is_amount_minus_fee",
            ),
            models.CheckConstraint(
                condition=Q(rail=Rail.CARD, asset=Asset.USD) | Q(rail=Rail.AGR, asset=Asset.AGR),
                name="payout_rail_matches_asset",
            ),
            models.CheckConstraint(
                condition=Q(account_kind__in=[kind.value for kind in PAYABLE_KINDS]),
                name="payout_from_a_payable",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["user", "-created_at"], name="payout_user_recent")]

    def __str__(self) -> str:
        return f"payout {self.reference} {self.amount} {self.asset} ({self.status})"
