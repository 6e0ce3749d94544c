"""Celery tasks of the storefront's commerce: primitive arguments in, one service call."""

from __future__ import annotations

from celery import shared_task

from marketplace.services.notifications import subscriptions_remind_renewal
from marketplace.services.subscriptions import subscriptions_renew_due


@shared_task(name="marketplace.renew_subscriptions", acks_late=True)
def renew_subscriptions() -> list[int]:
    """Renew subscriptions whose period ended from the prepaid balance, or let them lapse."""
    renewed, lapsed = subscriptions_renew_due()
    return [renewed, lapsed]


@shared_task(name="marketplace.remind_renewals", acks_late=True)
def remind_renewals() -> int:
    """Remind buyers whose subscription renews from their balance in the next few days (once a period)."""
    return subscriptions_remind_renewal()
