"""Request-log entries as the gateway writes them, for tests of what settlement does with them."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.utils import timezone

from accounts.models import User
from compute import meter_store
from compute.models_gateway import Entitlement, Outcome
from compute.services.settlement import log_entry_fields
from marketplace.models import Listing, Subscription


def log_call(
    *,
    user: User,
    listing: Listing,
    provider: User | None,
    entitlement: str = Entitlement.PREPAID,
    outcome: str = Outcome.OK,
    creator_price_micro: int = 5_000,
    compute_fee_micro: int = 100,
    subscription: Subscription | None = None,
    integration_id: str = "",
    at: datetime | None = None,
    request_id: str | None = None,
) -> str:
    """Append one request-log entry to the stream (what `inference_run` appends after a call)."""
    rid = request_id or str(uuid.uuid4())
    served = outcome == Outcome.OK
    meter_store.log_append(
        log_entry_fields(
            request_id=rid,
            user_id=user.pk,
            listing_id=listing.pk,
            version_id=None,
            plan_id=None,
            subscription_id=subscription.pk if subscription else None,
            period_start=subscription.current_period_start if subscription else None,
            entitlement=entitlement,
            via="api",
            integration_id=integration_id,
            node_id=1 if served else None,
            provider_id=provider.pk if (served and provider) else None,
            outcome=outcome,
            error_code="" if served else "provider_failed",
            attempts=1,
            latency_us=1500,
            creator_price_micro=creator_price_micro if served else 0,
            compute_fee_micro=compute_fee_micro if served else 0,
            at=at or timezone.now(),
        )
    )
    return rid
