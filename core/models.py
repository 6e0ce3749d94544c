from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models


class BaseModel(models.Model):
    """Creation and update timestamps for every domain model (aware UTC datetimes)."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class IdempotencyRecord(BaseModel):
    """The first response to an API write sent with an `Idempotency-Key` header (API.md): a repeat
    with the same key gets it back and changes nothing; the same key with another body is a 409.
    `status_code` is None while the first request is still running."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)  # SHA-256 of method, path and body
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_record_unique_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code or 'running'})"


class SentEmail(BaseModel):
    """One transactional email, under a key naming the event it tells of (e.g. "order:12:paid"), so
    a retried or repeated task sends it once (core.mail.email_send). `sent_at` is None until the
    mail backend accepted it; `claimed_until` keeps a second worker off it while one is sending."""

    key = models.CharField(max_length=200, unique=True)
    to = models.EmailField()
    template = models.CharField(max_length=100)
    subject = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.key} to {self.to} ({'sent' if self.sent_at else 'pending'})"
