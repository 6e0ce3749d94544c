"""Commerce: orders (paid through the rails), the licenses and subscriptions they grant, disputes."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from core.fields import WideIntegerField
from core.models import BaseModel
from marketplace.models.catalog import Listing, ListingVersion, Plan, PlanKind


class OrderStatus(models.TextChoices):
    AWAITING_PAYMENT = "awaiting_payment", "Awaiting payment"
    PAID = "paid", "Paid"  # per-inference credit: in the buyer's wallet, nothing held
    IN_ESCROW = "in_escrow", "Paid, held in escrow"
    RELEASED = "released", "Released to the creator"
    REFUNDED = "refunded", "Refunded"
    DISPUTED = "disputed", "Disputed"
    CANCELED = "canceled", "Canceled before payment"


class Order(BaseModel):
    """A purchase of a plan through a rail. Its payment (tokenomics.Payment, reference
    "order:<pk>") lands in the buyer's wallet and the order's payment handler moves it on: into
    escrow for one-time and subscription periods, or left as prepaid credit for pay-per-inference.

    Amounts are minor units of `asset` (USD cents for card, AGR base units for agr):
    list_amount - agr_discount - volume_discount = total."""

    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="orders")
    listing = models.ForeignKey(Listing, on_delete=models.PROTECT, related_name="orders")
    kind = models.CharField(max_length=16, choices=PlanKind.choices)
    # The version a one-time license is for (the latest at purchase).
    version = models.ForeignKey(
        ListingVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    rail = models.CharField(max_length=8)  # tokenomics Rail: card | agr
    asset = models.CharField(max_length=3)  # USD | AGR
    list_amount = WideIntegerField()
    agr_discount = WideIntegerField(default=0)
    volume_discount = WideIntegerField(default=0)
    total = WideIntegerField()  # what the buyer pays
    refunded_amount = WideIntegerField(default=0)
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.AWAITING_PAYMENT, db_index=True
    )
    payment = models.OneToOneField(
        "tokenomics.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="order"
    )
    escrow = models.OneToOneField(
        "tokenomics.Escrow", null=True, blank=True, on_delete=models.PROTECT, related_name="order"
    )
    # The subscription this order pays a period of (subscription plans only).
    subscription = models.ForeignKey(
        "Subscription", null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    Status: ClassVar[type[OrderStatus]] = OrderStatus

    class Meta:
        ordering: ClassVar = ["-created_at", "-pk"]
        indexes: ClassVar = [
            models.Index(fields=["buyer", "-created_at"], name="order_buyer_recent"),
            models.Index(fields=["listing", "status"], name="order_listing_status"),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(total__gt=0), name="order_total_positive"),
        ]

    def __str__(self) -> str:
        return f"order {self.pk} {self.listing_id} {self.total} {self.asset} ({self.status})"

    @property
    def reference(self) -> str:
        return f"order:{self.pk}"


class License(BaseModel):
    """A perpetual license to one version, granted by a paid one-time order. The key is shown once;
    only its SHA-256 is stored (looked up by hash, listed by prefix)."""

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="license")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="licenses")
    listing = models.ForeignKey(Listing, on_delete=models.PROTECT, related_name="licenses")
    version = models.ForeignKey(ListingVersion, on_delete=models.PROTECT, related_name="licenses")
    key_prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    download_limit = models.PositiveIntegerField()
    downloads_used = models.PositiveIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)  # a refund revokes the license

    class Meta:
        ordering: ClassVar = ["-created_at", "-pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(downloads_used__lte=F("download_limit")), name="license_downloads_within_limit"
            ),
        ]

    def __str__(self) -> str:
        return f"license {self.key_prefix}… for {self.listing_id}"

    @property
    def downloads_left(self) -> int:
        return max(self.download_limit - self.downloads_used, 0)


class LicenseDownload(BaseModel):
    """One counted download of a license's artefact (or of a subscriber's current version)."""

    license = models.ForeignKey(
        License, null=True, blank=True, on_delete=models.PROTECT, related_name="downloads"
    )
    subscription = models.ForeignKey(
        "Subscription", null=True, blank=True, on_delete=models.PROTECT, related_name="downloads"
    )
    version = models.ForeignKey(ListingVersion, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"download of {self.version_id} by {self.user_id}"


class SubscriptionStatus(models.TextChoices):
    PENDING = "pending", "Awaiting the first payment"
    ACTIVE = "active", "Active"
    CANCELED = "canceled", "Canceled"
    EXPIRED = "expired", "Lapsed"


class Subscription(BaseModel):
    """API access to a listing on a subscription plan: a monthly quota (None = unlimited), updates,
    downloads while active. Each period is paid by an order; `current_period_end` is when access
    ends unless the next period is paid."""

    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="marketplace_subscriptions"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    listing = models.ForeignKey(Listing, on_delete=models.PROTECT, related_name="subscriptions")
    rail = models.CharField(max_length=8)
    status = models.CharField(
        max_length=10, choices=SubscriptionStatus.choices, default=SubscriptionStatus.PENDING, db_index=True
    )
    monthly_quota = models.PositiveBigIntegerField(null=True, blank=True)
    quota_used = models.PositiveBigIntegerField(default=0)  # in the current period
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True, db_index=True)
    # Renew from the buyer's prepaid balance at period end; off = lapse at period end.
    auto_renew = models.BooleanField(default=True)
    canceled_at = models.DateTimeField(null=True, blank=True)

    Status: ClassVar[type[SubscriptionStatus]] = SubscriptionStatus

    class Meta:
        ordering: ClassVar = ["-created_at", "-pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["buyer", "listing"],
                condition=Q(status__in=["pending", "active"]),
                name="subscription_one_open_per_listing",
            ),
        ]

    def __str__(self) -> str:
        return f"subscription {self.pk} {self.buyer_id} → {self.listing_id} ({self.status})"


class DisputeStatus(models.TextChoices):
    OPEN = "open", "Open"
    RELEASED = "released", "Resolved: released to the creator"
    PARTIAL_REFUND = "partial_refund", "Resolved: partly refunded"
    REFUNDED = "refunded", "Resolved: refunded in full"


class Dispute(BaseModel):
    """A buyer's dispute of an order; the money stays held (escrow frozen) until staff resolve it."""

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="dispute")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="disputes")
    reason = models.CharField(max_length=200)
    evidence = models.TextField()
    evidence_file = models.FileField(upload_to="dispute-evidence/", blank=True, max_length=255)
    status = models.CharField(max_length=16, choices=DisputeStatus.choices, default=DisputeStatus.OPEN)
    refund_amount = WideIntegerField(default=0)  # minor units of the order's asset
    resolution_note = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    Status: ClassVar[type[DisputeStatus]] = DisputeStatus

    class Meta:
        # Resolving moves escrow money (or claws it back from the creator): never `is_staff` alone.
        permissions: ClassVar = [("resolve_dispute", "Can resolve disputes (refunds or releases the money)")]

    def __str__(self) -> str:
        return f"dispute on order {self.order_id} ({self.status})"
