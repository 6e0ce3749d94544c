"""Providers' reputation (SPEC §6): buyers' ratings of the calls they made, and the daily trust
score snapshots that keep its history.

The score itself is computed by `compute.selectors.reputation` from measured data; the daily task
(`compute.services.reputation.trust_scores_snapshot`) stores one `TrustScore` per provider and UTC
day, and the provider's current score is always its latest snapshot (pages and the API never compute
90 days of measurements on a request).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

STARS_MIN = 1
STARS_MAX = 5


class CallRating(models.Model):
    """A buyer's 1-5 star rating of one served call they made: one per call (the call is the key),
    within `reputation.rating_window_seconds` of the call. It counts toward the trust score of the
    provider that served it."""

    call = models.OneToOneField(
        "compute.InferenceRequest", on_delete=models.PROTECT, related_name="rating", primary_key=True
    )
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    stars = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(stars__gte=STARS_MIN, stars__lte=STARS_MAX), name="call_rating_one_to_five_stars"
            )
        ]
        indexes: ClassVar = [
            models.Index(fields=["provider", "created_at"], name="call_rating_provider_time")
        ]

    def __str__(self) -> str:
        return f"{self.stars}* for call {self.call_id}"


class TrustScore(models.Model):
    """A provider's trust score (0-1000) computed for the 90 days ending at midnight UTC that starts
    `day` + 1 (so `day` is the last whole day measured), with its parts: each 0-10,000 bps of
    its own best, weighed by the registry's `reputation.weight.*`. `measurements` keeps the counts
    each part was computed from, and `weights` the weights used."""

    provider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    score = models.PositiveSmallIntegerField()
    latency_bps = models.PositiveSmallIntegerField()
    uptime_bps = models.PositiveSmallIntegerField()
    success_bps = models.PositiveSmallIntegerField()
    attestations_bps = models.PositiveSmallIntegerField()
    ratings_bps = models.PositiveSmallIntegerField()
    weights = models.JSONField(default=dict)
    measurements = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["provider", "day"], name="trust_score_once_a_day"),
            models.CheckConstraint(condition=Q(score__lte=1000), name="trust_score_at_most_1000"),
            models.CheckConstraint(
                condition=Q(
                    latency_bps__lte=10_000,
                    uptime_bps__lte=10_000,
                    success_bps__lte=10_000,
                    attestations_bps__lte=10_000,
                    ratings_bps__lte=10_000,
                ),
                name="trust_score_parts_at_most_100_percent",
            ),
        ]
        ordering: ClassVar = ["provider", "-day"]

    def __str__(self) -> str:
        return f"trust {self.score} of provider {self.provider_id} on {self.day}"
