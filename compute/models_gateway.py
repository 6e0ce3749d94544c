"""The inference gateway's records: the request log and the settlement batches that bill it.

The hot path writes no row: each call's log entry goes to a Redis stream
(`compute.services.metering`), and the settlement task drains the stream into `InferenceRequest`
rows and settles the successful prepaid ones in `SettlementBatch`es, one ledger posting set per
batch under the batch's idempotency key, in the same database transaction that marks the rows
settled. So a settlement killed midway leaves nothing half-done, and a rerun settles each call once.

Amounts are micro-USD (10^-6 USD) per call, because a call may cost less than a cent; the ledger
itself moves whole cents (see `compute.services.settlement` for the rounding).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.fields import WideIntegerField


class Entitlement(models.TextChoices):
    """What allowed a call (first match wins, in this order)."""

    SUBSCRIPTION = "subscription", "Subscription quota"
    PREPAID = "prepaid", "Prepaid credit, per-inference plan"
    PLAYGROUND = "playground", "Free playground allowance"


class Via(models.TextChoices):
    API = "api", "API (/api/v1/inference)"
    KSERVE = "kserve", "KServe v2 (/v2/models/…/infer)"
    PLAYGROUND = "playground", "Playground (browser session)"
    BATCH = "batch", "Batch job item"


class Outcome(models.TextChoices):
    OK = "ok", "Served"
    FAILED = "failed", "Failed (no charge)"


class SettlementBatch(models.Model):
    """One settlement of consumed prepaid calls. `key` is the idempotency key's stem of every
    ledger posting it made; a batch exists only if its postings and its rows' marks committed."""

    key = models.CharField(max_length=120, unique=True)
    calls = models.PositiveIntegerField(default=0)
    gross_micro = WideIntegerField(default=0)  # Σ charges of the calls settled, micro-USD
    charged_cents = WideIntegerField(default=0)  # what left the buyers' metering holds, cents
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"settlement {self.key}: {self.calls} calls, {self.charged_cents} cents"


class InferenceRequest(models.Model):
    """One call through the gateway (served or failed), as the request log. Written in batches
    from the Redis stream, never on the hot path; `request_id` makes the write idempotent."""

    request_id = models.UUIDField(unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    listing = models.ForeignKey("marketplace.Listing", on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(
        "marketplace.ListingVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    plan = models.ForeignKey(
        "marketplace.Plan", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subscription = models.ForeignKey(
        "marketplace.Subscription", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    entitlement = models.CharField(max_length=16, choices=Entitlement.choices)
    via = models.CharField(max_length=12, choices=Via.choices)
    # The `Agora-Integration` header: which integration brought the call (revenue epochs).
    integration_id = models.CharField(max_length=64, blank=True, db_index=True)
    # The node that served it (compute's Node id; an id, not a key, so a deleted node keeps its log).
    node_id = models.PositiveBigIntegerField(null=True, blank=True)
    provider = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    error_code = models.CharField(max_length=40, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    latency_us = models.PositiveBigIntegerField(default=0)
    # The charge, micro-USD: the creator's per-call price after the volume discount, and the
    # compute fee. Both 0 for a failed call, a playground call, and the creator part of a
    # subscription call (its compute fee is paid from the period's escrow).
    creator_price_micro = WideIntegerField(default=0)
    compute_fee_micro = WideIntegerField(default=0)
    # A priority-lane call, and its priority fee (included in compute_fee_micro, split like it).
    priority = models.BooleanField(default=False)
    priority_fee_micro = WideIntegerField(default=0)
    settlement = models.ForeignKey(
        SettlementBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="requests"
    )
    created_at = models.DateTimeField(db_index=True)

    Outcome: ClassVar[type[Outcome]] = Outcome

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["user", "created_at"], name="inference_user_time"),
            models.Index(fields=["listing", "created_at"], name="inference_listing_time"),
            models.Index(fields=["provider", "created_at"], name="inference_provider_time"),
            models.Index(
                fields=["entitlement", "outcome"],
                condition=Q(settlement__isnull=True),
                name="inference_unsettled",
            ),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(outcome="ok")
                | Q(creator_price_micro=0, compute_fee_micro=0, priority_fee_micro=0),
                name="inference_failed_costs_nothing",
            ),
            models.CheckConstraint(
                condition=Q(creator_price_micro__gte=0, compute_fee_micro__gte=0, priority_fee_micro__gte=0),
                name="inference_charge_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"inference {self.request_id} {self.listing_id} ({self.outcome})"

    @property
    def charge_micro(self) -> int:
        return int(self.creator_price_micro) + int(self.compute_fee_micro)


class CarryPart(models.TextChoices):
    CREATOR = "creator", "The creator's per-call price"
    COMPUTE = "compute", "The compute fee"


class MeteringCarry(models.Model):
    """Per buyer, listing and payee: the micro-USD consumed but not yet billed because it is under
    a cent (the ledger moves cents). Each settlement adds the pair's new charges and moves the whole
    cents, so over any run of batches the pair is billed floor(Σ charges / 10_000) cents exactly:
    the buyer is never charged more than consumed, and a payee loses less than a cent per pair."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    listing = models.ForeignKey("marketplace.Listing", on_delete=models.PROTECT, related_name="+")
    part = models.CharField(max_length=8, choices=CarryPart.choices)
    payee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Always under 10,000, so a plain integer: SQLite keeps WideIntegerField as text, and the
    # check below would compare text with a number there (and refuse every row).
    carry_micro = models.PositiveIntegerField(default=0)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["user", "listing", "part", "payee"], name="metering_carry_unique"
            ),
            models.CheckConstraint(
                condition=Q(carry_micro__gte=0, carry_micro__lt=10_000), name="metering_carry_under_a_cent"
            ),
        ]

    def __str__(self) -> str:
        return f"carry {self.user_id}/{self.listing_id}/{self.part}/{self.payee_id}: {self.carry_micro} µUSD"
