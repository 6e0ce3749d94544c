"""Reads of the settlement backlog (the operators' settlement-lag metric)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Min
from django.utils import timezone

from compute.models_gateway import Entitlement, InferenceRequest, Outcome


def settlement_lag_seconds(*, now: datetime | None = None) -> float:
    """How long the oldest served prepaid call stored in the request log has waited to be billed
    (0 when none waits). Calls still in the Redis stream are not counted: the run drains it first."""
    oldest = InferenceRequest.objects.filter(
        settlement__isnull=True, outcome=Outcome.OK, entitlement=Entitlement.PREPAID
    ).aggregate(at=Min("created_at"))["at"]
    if oldest is None:
        return 0.0
    waited: float = ((now or timezone.now()) - oldest).total_seconds()
    return max(waited, 0.0)
