"""Subscription quota and the playground allowance: exact capped counters on the hot path.

A subscription's calls in its current period are counted in Redis under a key naming the
subscription and the period's start, seeded from `Subscription.quota_used` (what the database
knows, kept current by the settlement task) when the key is missing, so a flushed Redis loses
nothing already settled. A new period is a new key: the count restarts at 0 with no reset job.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from compute import meter_store
from marketplace.models import Subscription

DAY = 86_400


def subscription_counter_name(*, subscription_id: int, period_start: datetime | None) -> str:
    stamp = int(period_start.timestamp()) if period_start is not None else 0
    return f"sub:{subscription_id}:{stamp}"


def playground_counter_name(*, user_id: int, listing_id: int, day: str) -> str:
    return f"play:{user_id}:{listing_id}:{day}"


def subscription_quota_left(*, subscription: Subscription) -> int | None:
    """Calls left in the subscription's current period (None: unlimited)."""
    quota = subscription.monthly_quota
    if quota is None:
        return None
    name = subscription_counter_name(
        subscription_id=subscription.pk, period_start=subscription.current_period_start
    )
    used = meter_store.counter_get(name)
    if used is None:
        used = subscription.quota_used
    return max(quota - used, 0)


def quota_counter_ttl(*, period_end: datetime | None, now: datetime | None = None) -> int:
    """Keep a period's counter a day past the period's end (late settlements still find it)."""
    now = now or timezone.now()
    if period_end is None:
        return 31 * DAY
    return max(int((period_end - now).total_seconds()), 0) + DAY


def playground_day(now: datetime | None = None) -> tuple[str, datetime]:
    """Today's key (UTC date) and when the allowance resets (next UTC midnight)."""
    now = now or timezone.now()
    today = now.date()
    reset = datetime(today.year, today.month, today.day, tzinfo=now.tzinfo) + timedelta(days=1)
    return today.isoformat(), reset
