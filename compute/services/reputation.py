"""Reputation's writes (SPEC §6): buyers rate the calls they made, and the daily task snapshots
every provider's trust score (`compute.selectors.reputation` computes it).

A call is rated once (the rating's key is the call), by the buyer who made it, when it was served,
within `reputation.rating_window_seconds` of it. Free playground calls are not rated, and nobody
rates a call their own node served: ratings that cost nothing to make would let a provider's
friends (or the provider) write its score. The snapshot of a provider's day is written once
(unique per provider and day): the hourly beat run finds the day done and moves on.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from compute.errors import CallNotFound, RatingRefused
from compute.models_gateway import Entitlement, InferenceRequest, Outcome
from compute.models_nodes import Node
from compute.models_reputation import STARS_MAX, STARS_MIN, CallRating, TrustScore
from compute.selectors.reputation import trust_compute
from tokenomics.errors import AmountInvalid
from tokenomics.selectors.parameters import parameter_get

logger = logging.getLogger(__name__)


def call_rate(*, buyer: User, request_id: str, stars: int, now: datetime | None = None) -> CallRating:
    """The buyer rates one of their served calls 1-5 stars. Raises CallNotFound (not theirs, not
    served, unknown), RatingRefused (already rated, window closed), AmountInvalid (stars)."""
    now = now or timezone.now()
    if type(stars) is not int or not STARS_MIN <= stars <= STARS_MAX:
        raise AmountInvalid(
            f"A rating is {STARS_MIN} to {STARS_MAX} stars.",
            detail={"stars": [f"Give a whole number from {STARS_MIN} to {STARS_MAX}."]},
        )
    call = (
        InferenceRequest.objects.filter(request_id=request_id, user=buyer, outcome=Outcome.OK)
        .exclude(entitlement=Entitlement.PLAYGROUND)
        .only("pk", "request_id", "provider_id", "created_at")
        .first()
    )
    if call is None or call.provider_id is None:
        raise CallNotFound()
    if call.provider_id == buyer.pk:
        raise RatingRefused("You served this call yourself.", detail={"reason": "own_call"})
    window = timedelta(seconds=parameter_get("reputation.rating_window_seconds"))
    if now > call.created_at + window:
        raise RatingRefused(
            "This call is too old to rate.",
            detail={"reason": "window_closed", "deadline": (call.created_at + window).isoformat()},
        )
    try:
        with transaction.atomic():
            return CallRating.objects.create(
                call=call, buyer=buyer, provider_id=call.provider_id, stars=stars
            )
    except IntegrityError as exc:  # the call's key: rated already (perhaps a moment ago)
        raise RatingRefused("This call was already rated.", detail={"reason": "already_rated"}) from exc


def provider_trust_snapshot(*, provider_id: int, end: datetime) -> TrustScore:
    """Store the provider's trust score over the window ending at `end` (a UTC midnight) as the
    snapshot of the day before it; the day's existing snapshot is returned unchanged."""
    day = (end - timedelta(days=1)).date()
    existing = TrustScore.objects.filter(provider_id=provider_id, day=day).first()
    if existing is not None:
        return existing
    breakdown = trust_compute(provider_id=provider_id, end=end)
    try:
        with transaction.atomic():
            return TrustScore.objects.create(
                provider_id=provider_id,
                day=day,
                score=breakdown.score,
                latency_bps=breakdown.parts["latency"],
                uptime_bps=breakdown.parts["uptime"],
                success_bps=breakdown.parts["success"],
                attestations_bps=breakdown.parts["attestations"],
                ratings_bps=breakdown.parts["ratings"],
                weights=breakdown.weights,
                measurements=breakdown.measurements,
            )
    except IntegrityError:  # another run stored the day first
        return TrustScore.objects.get(provider_id=provider_id, day=day)


def trust_scores_snapshot(*, now: datetime | None = None) -> dict[str, int]:
    """The daily task (checked hourly): snapshot every provider with an active node for the last
    whole UTC day, each once."""
    now = now or timezone.now()
    end = now.replace(hour=0, minute=0, second=0, microsecond=0)
    day = (end - timedelta(days=1)).date()
    providers = set(Node.objects.filter(is_active=True).values_list("provider_id", flat=True).distinct())
    done = set(
        TrustScore.objects.filter(day=day, provider_id__in=providers).values_list("provider_id", flat=True)
    )
    for provider_id in sorted(providers - done):
        provider_trust_snapshot(provider_id=provider_id, end=end)
    return {"providers": len(providers), "scored": len(providers - done)}
