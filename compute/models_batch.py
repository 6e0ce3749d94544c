"""Batch jobs: many inputs for one listing, run by Celery workers through the metered gateway.

A job's items are rows (never one big blob): the API writes them in chunks as it reads the upload,
a worker claims one at a time, and the results stream out of the rows. Each item has its own
request id, which is the request-log row's unique key: an item is billed by the gateway's
settlement exactly once when it succeeds and never when it fails. The job's counters (`done`,
`failed`, `canceled`, `spend_micro`) move in the same transaction that moves an item out of
RUNNING, so progress is one row read.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.fields import WideIntegerField
from core.models import BaseModel


class BatchState(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    CANCELED = "canceled", "Canceled"


class ItemState(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed (not charged)"
    CANCELED = "canceled", "Canceled (not run)"


class WebhookState(models.TextChoices):
    NONE = "none", "No webhook"
    PENDING = "pending", "To deliver"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Gave up"


class BatchJob(BaseModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    listing = models.ForeignKey("marketplace.Listing", on_delete=models.PROTECT, related_name="+")
    version = models.CharField(max_length=50, blank=True)  # the version asked for ("" = the latest)
    state = models.CharField(max_length=10, choices=BatchState.choices, default=BatchState.RUNNING)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    canceled = models.PositiveIntegerField(default=0)
    # The quote: what an item costs (micro-USD) under the entitlement it was quoted under.
    entitlement = models.CharField(max_length=16)
    item_price_micro = WideIntegerField(default=0)
    batch_discount_bps = models.PositiveIntegerField(default=0)
    spend_micro = WideIntegerField(default=0)  # Σ charges of the items done
    finished_at = models.DateTimeField(null=True, blank=True)
    webhook_url = models.CharField(max_length=500, blank=True)
    webhook_secret = models.CharField(max_length=80, blank=True)  # "whsec_" + base64 (Standard Webhooks)
    webhook_state = models.CharField(max_length=10, choices=WebhookState.choices, default=WebhookState.NONE)
    webhook_attempts = models.PositiveSmallIntegerField(default=0)
    webhook_last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["user", "created_at"], name="batch_job_user_time")]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(done__gte=0, failed__gte=0, canceled__gte=0, spend_micro__gte=0),
                name="batch_job_counts_not_negative",
            )
        ]

    def __str__(self) -> str:
        return f"batch job {self.pk} ({self.state}, {self.done}+{self.failed}/{self.total})"

    @property
    def remaining(self) -> int:
        return int(self.total) - int(self.done) - int(self.failed) - int(self.canceled)


class BatchItem(models.Model):
    job = models.ForeignKey(BatchJob, on_delete=models.CASCADE, related_name="items")
    index = models.PositiveIntegerField()  # 0-based position in the upload
    state = models.CharField(max_length=10, choices=ItemState.choices, default=ItemState.PENDING)
    request_id = models.UUIDField(unique=True)  # the gateway's request id for this item
    body = models.JSONField()  # the KServe v2 request body of this item
    outputs = models.JSONField(null=True, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    error = models.CharField(max_length=300, blank=True)
    charge_micro = WideIntegerField(default=0)
    leased_until = models.DateTimeField(null=True, blank=True)  # a RUNNING item's claim

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["job", "index"], name="batch_item_index_once"),
            models.CheckConstraint(
                condition=Q(state="done") | Q(charge_micro=0), name="batch_item_charged_only_when_done"
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["job", "state", "index"], name="batch_item_job_state")]

    def __str__(self) -> str:
        return f"item {self.index} of batch job {self.job_id} ({self.state})"
