"""Payment rails: money entering through Stripe (USD) or an EVM chain (AGR), and leaving as payouts.

Inbound events are rows under a UNIQUE key with a status before they are processed (ARCHITECTURE
rule 5): Stripe events by event id, chain transfers by (chain_id, tx_hash, log_index).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.fields import WideIntegerField
from core.models import BaseModel
from tokenomics.models.ledger import Asset, LedgerTransaction


class Rail(models.TextChoices):
    CARD = "card", "Card (Stripe)"
    AGR = "agr", "AGR (on chain)"


class PaymentStatus(models.TextChoices):
    AWAITING = "awaiting_payment", "Awaiting payment"
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


class Payment(BaseModel):
    """Money due from a user through a rail, for a purpose (a prepaid top-up, an order...).

    `purpose` names who fulfils it once paid: tokenomics handles "credit_top_up"; higher apps
    register handlers for theirs (see tokenomics.services.payments)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments")
    purpose = models.CharField(max_length=40)
    reference = models.CharField(max_length=120, unique=True)  # e.g. "credit:<uuid>", "order:42"
    rail = models.CharField(max_length=8, choices=Rail.choices)
    asset = models.CharField(max_length=3, choices=Asset.choices)
    amount = WideIntegerField()  # due, minor units of `asset`
    received_amount = WideIntegerField(default=0)  # credited so far (an AGR overpayment counts)
    status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.AWAITING)
    # Card: the PaymentIntent, created with idempotency key "payment-<pk>-intent" after this row exists.
    stripe_payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    # AGR: where and what to pay.
    chain_id = models.PositiveBigIntegerField(null=True, blank=True)
    token_address = models.CharField(max_length=42, blank=True)
    deposit_address = models.CharField(max_length=42, blank=True)
    credit_transaction = models.OneToOneField(
        LedgerTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    paid_at = models.DateTimeField(null=True, blank=True)

    Status: ClassVar[type[PaymentStatus]] = PaymentStatus

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(rail=Rail.CARD, asset=Asset.USD) | Q(rail=Rail.AGR, asset=Asset.AGR),
                name="payment_rail_matches_asset",
            ),
        ]

    def __str__(self) -> str:
        return f"payment {self.reference} {self.amount} {self.asset} ({self.status})"


class PaymentRefund(BaseModel):
    """A refund through the rail that paid; created before the Stripe call, keyed by its own id."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = WideIntegerField()  # minor units of the payment's asset
    reason = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    stripe_refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    ledger_transaction = models.OneToOneField(
        LedgerTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"refund {self.pk} of {self.payment_id}: {self.amount}"


class StripeCustomer(BaseModel):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="stripe_customer"
    )
    stripe_customer_id = models.CharField(max_length=255, unique=True)

    def __str__(self) -> str:
        return self.stripe_customer_id


class StripeSubscription(BaseModel):
    """A Stripe Subscription for a subscription plan (the plan itself lives in marketplace)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="stripe_subscriptions"
    )
    reference = models.CharField(max_length=120, unique=True)  # e.g. "subscription:9"
    stripe_subscription_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_plan_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=32, default="incomplete")
    amount = WideIntegerField()  # per interval, US cents
    interval = models.CharField(max_length=8, default="month")
    current_period_end = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"subscription {self.reference} ({self.status})"


class StripeEvent(BaseModel):
    """Every webhook or reconciled event, stored under its id before it is processed."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (type not handled)"
        FAILED = "failed", "Failed (will be retried)"

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    object_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_created = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.event_id} {self.type} ({self.status})"


class ChainTransfer(BaseModel):
    """An AGR Transfer log to the deposit address, credited at most once (the unique triple is
    inserted in the same transaction as the ledger credit)."""

    chain_id = models.PositiveBigIntegerField()
    tx_hash = models.CharField(max_length=66)
    log_index = models.PositiveIntegerField()
    block_number = models.PositiveBigIntegerField()
    token_address = models.CharField(max_length=42)
    from_address = models.CharField(max_length=42)
    to_address = models.CharField(max_length=42)
    amount = WideIntegerField()  # AGR base units
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="transfers"
    )
    ledger_transaction = models.OneToOneField(
        LedgerTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["chain_id", "tx_hash", "log_index"], name="chain_transfer_once"),
        ]

    def __str__(self) -> str:
        return f"{self.tx_hash}#{self.log_index} {self.amount}"


class ChainScanCursor(BaseModel):
    """The last block the Transfer scan of one (chain, token, deposit address) has covered, in the
    database so that every web and worker process shares it and it survives a cache flush. It only
    moves forward (chain_scan.transfers_scan_recent)."""

    chain_id = models.PositiveBigIntegerField()
    token_address = models.CharField(max_length=42)
    deposit_address = models.CharField(max_length=42)
    last_block = models.PositiveBigIntegerField()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["chain_id", "token_address", "deposit_address"], name="chain_scan_cursor_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"scan of {self.deposit_address} on {self.chain_id}: block {self.last_block}"


class HotWallet(BaseModel):
    """A platform-controlled sending address and its next nonce (locked FOR UPDATE to assign)."""

    chain_id = models.PositiveBigIntegerField()
    address = models.CharField(max_length=42)
    next_nonce = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["chain_id", "address"], name="hot_wallet_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.address} on {self.chain_id} (next nonce {self.next_nonce})"


class ChainPayout(BaseModel):
    """An outbound AGR transfer. The signed transaction is stored before broadcast and re-broadcast
    unchanged after a crash, so one payout is one transaction on chain whatever happens."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending (not signed)"
        SIGNED = "signed", "Signed (stored, not yet sent)"
        BROADCAST = "broadcast", "Broadcast"
        CONFIRMED = "confirmed", "Confirmed"
        FAILED = "failed", "Failed on chain"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="chain_payouts")
    reference = models.CharField(max_length=120, unique=True)
    to_address = models.CharField(max_length=42)
    amount = WideIntegerField()  # AGR base units
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    hot_wallet = models.ForeignKey(
        HotWallet, null=True, blank=True, on_delete=models.PROTECT, related_name="payouts"
    )
    nonce = models.PositiveBigIntegerField(null=True, blank=True)
    signed_tx = models.TextField(blank=True)  # hex of the raw signed transaction
    tx_hash = models.CharField(max_length=66, unique=True, null=True, blank=True)
    ledger_transaction = models.OneToOneField(
        LedgerTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    broadcast_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["hot_wallet", "nonce"], name="chain_payout_nonce_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="chain_payout_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"payout {self.reference} {self.amount} → {self.to_address} ({self.status})"
