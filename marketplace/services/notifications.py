"""The storefront's transactional email: receipts, refunds, disputes, renewals, moderation.

Each `*_notify` is called once by the service that records the event, inside its transaction or
after it, and queues one mail per recipient through `core.mail.email_on_commit` under a key naming
the event, so nothing is sent for a rolled-back event and nothing twice for one event. Contexts
carry formatted strings (JSON for the task): the mail says what was true when it happened.
Templates: templates/email/<template>/{subject.txt,body.txt,body.html}.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from core.mail import email_already_sent, email_on_commit, site_url
from marketplace.models import (
    Dispute,
    DisputeStatus,
    Listing,
    ListingStatus,
    Order,
    PlanKind,
    Subscription,
    SubscriptionStatus,
)
from marketplace.selectors.orders import subscription_card_billing
from tokenomics.models import Asset, Rail
from tokenomics.money import format_amount
from tokenomics.selectors.ledger import user_balances

RAIL_LABELS: dict[str, str] = {Rail.CARD: "card", Rail.AGR: "AGR"}  # "Total paid: $49.00 by card"
# Where a refund went, as marketplace.services.refunds.rail_refund reports it.
REFUND_DESTINATIONS = {
    "card": "back to the card you paid with (banks usually show it within 5 to 10 days)",
    "agr": "back to the wallet address you paid from, as an AGR transfer",
    "wallet": "to your Agora wallet balance, ready for your next purchase",
}


def _name(user: User) -> str:
    return user.display_name or user.email.split("@")[0]


def _date(moment: datetime | None) -> str:
    return f"{moment:%d %B %Y}" if moment is not None else ""


def _money(amount: int, asset: str) -> str:
    return format_amount(amount=int(amount), asset=asset)


def _rail_label(rail: str) -> str:
    if rail in RAIL_LABELS:
        return RAIL_LABELS[rail]
    return Rail(rail).label if rail in Rail.values else rail  # a rail added later reads as its label


def _order_context(order: Order) -> dict[str, Any]:
    listing = order.listing
    return {
        "name": _name(order.buyer),
        "listing_title": listing.title,
        "plan_name": order.plan.name,
        "kind": order.kind,
        "kind_label": PlanKind(order.kind).label,
        "order_number": order.pk,
        "order_url": site_url(reverse("marketplace:order", args=[order.pk])),
        "listing_url": site_url(reverse("marketplace:listing", args=[listing.slug])),
        "total": _money(order.total, order.asset),
        "rail": _rail_label(order.rail),
    }


def _send(*, key: str, to: User, template: str, context: dict[str, Any]) -> None:
    email_on_commit(key=key, to=to.email, template=template, context=context)


def _paid_from(order: Order) -> str:
    # A renewal charged through a rail (a card invoice) carries its payment; one taken from the
    # wallet has none.
    if order.payment_id is not None:
        return "your card" if order.rail == Rail.CARD else "your AGR wallet"
    # A card subscription's renewal: Stripe charged the card and the invoice passed through the
    # wallet into escrow, so the order itself carries no payment.
    if order.subscription is not None and subscription_card_billing(subscription=order.subscription):
        return "your card"
    return "your AGR balance" if order.asset == Asset.AGR else "your prepaid balance"


def order_paid_notify(*, order: Order) -> None:
    """A paid order: the buyer's receipt with what comes next, or, for a subscription's later
    period (however it was paid), the renewal notice. Queued after the commit."""
    renewal = (
        order.subscription_id is not None
        and Order.objects.filter(subscription_id=order.subscription_id, paid_at__isnull=False)
        .exclude(pk=order.pk)
        .exists()
    )
    context = _order_context(order)
    context.update(
        {
            "list_amount": _money(order.list_amount, order.asset),
            "agr_discount": _money(order.agr_discount, order.asset) if order.agr_discount else "",
            "volume_discount": _money(order.volume_discount, order.asset) if order.volume_discount else "",
            "paid_on": _date(order.paid_at),
            "period_end": _date(order.period_end),
            "refund_until": _date(order.escrow.release_after) if order.escrow is not None else "",
            "monthly_quota": f"{order.subscription.monthly_quota:,}"
            if order.subscription is not None and order.subscription.monthly_quota
            else "",
            "renewal": renewal,
            "paid_from": _paid_from(order),
            "library_url": site_url(reverse("marketplace:library")),
            "api_keys_url": site_url(reverse("accounts:api-keys")),
        }
    )
    template = "subscription_renewed" if renewal else "order_receipt"
    _send(key=f"order:{order.pk}:paid", to=order.buyer, template=template, context=context)


def order_refunded_notify(*, order: Order, amount: int, destination: str, why: str) -> None:
    """Money of an order went back to its buyer (`destination` as rail_refund returned it)."""
    context = _order_context(order)
    context.update(
        {
            "amount": _money(amount, order.asset),
            "destination": REFUND_DESTINATIONS.get(destination, REFUND_DESTINATIONS["wallet"]),
            "why": why,
            "full": amount == order.total,
        }
    )
    key = f"order:{order.pk}:refund:{int(order.refunded_amount)}:{amount}"
    _send(key=key, to=order.buyer, template="order_refunded", context=context)


def _dispute_context(dispute: Dispute, order: Order, role: str, recipient: User) -> dict[str, Any]:
    context = _order_context(order)
    context.update(
        {
            "name": _name(recipient),
            "role": role,
            "dispute_number": dispute.pk,
            "reason": dispute.reason,
            "status": dispute.status,
            "status_label": DisputeStatus(dispute.status).label,
            "refund_amount": _money(dispute.refund_amount, order.asset) if dispute.refund_amount else "",
            "note": dispute.resolution_note,
            "dashboard_url": site_url(reverse("marketplace:creator-dashboard")),
        }
    )
    return context


def dispute_opened_notify(*, dispute: Dispute) -> None:
    """A dispute was opened: confirmation to the buyer, notice to the creator."""
    order = dispute.order
    for role, recipient in (("buyer", order.buyer), ("creator", order.listing.creator)):
        _send(
            key=f"dispute:{dispute.pk}:opened:{role}",
            to=recipient,
            template="dispute_opened",
            context=_dispute_context(dispute, order, role, recipient),
        )


def dispute_resolved_notify(*, dispute: Dispute, destination: str | None) -> None:
    """Staff resolved a dispute: the outcome to both parties, with where a refund went."""
    order = dispute.order
    for role, recipient in (("buyer", order.buyer), ("creator", order.listing.creator)):
        context = _dispute_context(dispute, order, role, recipient)
        context["destination"] = REFUND_DESTINATIONS.get(destination or "wallet", "")
        _send(
            key=f"dispute:{dispute.pk}:resolved:{role}",
            to=recipient,
            template="dispute_resolved",
            context=context,
        )


def _subscription_context(sub: Subscription) -> dict[str, Any]:
    plan = sub.plan
    return {
        "name": _name(sub.buyer),
        "listing_title": sub.listing.title,
        "plan_name": plan.name,
        "period_end": _date(sub.current_period_end),
        "library_url": site_url(reverse("marketplace:library")),
        "top_up_url": site_url(reverse("tokenomics:top-up")),
        "listing_url": site_url(reverse("marketplace:listing", args=[sub.listing.slug])),
    }


def _renewal_price(sub: Subscription) -> tuple[int, str]:
    from marketplace.services.pricing import quote  # pricing reads the registry; only when renewing

    priced = quote(plan=sub.plan, rail=sub.rail, buyer=sub.buyer)
    return int(priced.total), str(priced.asset)


def _wallet_balance(user: User, asset: str) -> int:
    row = next((b for b in user_balances(user=user) if b.asset == asset), None)
    return int(row.wallet) if row is not None else 0


def subscription_lapsed_notify(*, subscription: Subscription) -> None:
    """A subscription ended at its period end without renewing: why (turned off, plan withdrawn,
    or the balance did not cover the renewal), and how to come back."""
    sub = subscription
    context = _subscription_context(sub)
    if not sub.auto_renew:
        context["reason"] = "canceled"
    elif not (sub.plan.is_active and sub.listing.is_published):
        context["reason"] = "withdrawn"
    else:
        price, asset = _renewal_price(sub)
        context.update(
            {
                "reason": "balance",
                "price": _money(price, asset),
                "balance": _money(_wallet_balance(sub.buyer, asset), asset),
            }
        )
    key = f"subscription:{sub.pk}:lapsed:{sub.current_period_end:%Y%m%dT%H%M%S}"
    _send(key=key, to=sub.buyer, template="subscription_lapsed", context=context)


def subscription_renewal_failed_notify(*, subscription: Subscription, reason: str, retrying: bool) -> None:
    """A renewal payment failed (e.g. a declined card invoice): what happened, whether it is
    retried, and how to fix it. For the card rail's invoice handler."""
    sub = subscription
    context = _subscription_context(sub)
    context.update({"reason": reason, "retrying": retrying})
    key = f"subscription:{sub.pk}:renewal-failed:{sub.current_period_end:%Y%m%dT%H%M%S}:{int(retrying)}"
    _send(key=key, to=sub.buyer, template="subscription_renewal_failed", context=context)


def _reminder_key(sub: Subscription) -> str:
    return f"subscription:{sub.pk}:renewal-reminder:{sub.current_period_end:%Y%m%dT%H%M%S}"


def subscriptions_remind_renewal(*, now: datetime | None = None, limit: int = 500) -> int:
    """Remind each buyer whose subscription renews from the prepaid or AGR balance within
    settings.SUBSCRIPTION_RENEWAL_REMINDER_DAYS, once per period: the date, the price and whether
    the balance covers it. Subscriptions Stripe bills by card are not reminded. Returns
    how many reminders were queued."""
    now = now or timezone.now()
    horizon = now + timedelta(days=settings.SUBSCRIPTION_RENEWAL_REMINDER_DAYS)
    due = list(
        Subscription.objects.filter(
            status=SubscriptionStatus.ACTIVE,
            auto_renew=True,
            current_period_end__gt=now,
            current_period_end__lte=horizon,
        )
        .filter(plan__is_active=True, listing__status=ListingStatus.PUBLISHED)
        .select_related("plan", "listing", "buyer")
        .order_by("current_period_end", "pk")[:limit]
    )
    # Those Stripe bills by card are charged there; a US dollar subscription bought from the
    # prepaid balance (rail card, no Stripe billing) renews from the balance and is reminded.
    due = [sub for sub in due if subscription_card_billing(subscription=sub) is None]
    done = email_already_sent(keys=[_reminder_key(sub) for sub in due])
    queued = 0
    for sub in due:
        key = _reminder_key(sub)
        if key in done:
            continue
        price, asset = _renewal_price(sub)
        balance = _wallet_balance(sub.buyer, asset)
        context = _subscription_context(sub)
        context.update(
            {
                "price": _money(price, asset),
                "balance": _money(balance, asset),
                "covered": balance >= price,
                "short": _money(price - balance, asset) if balance < price else "",
                "asset": asset,
            }
        )
        _send(key=key, to=sub.buyer, template="subscription_renewal_reminder", context=context)
        queued += 1
    return queued


MODERATION_WORDS = {
    ListingStatus.SUSPENDED: "suspended",
    ListingStatus.TAKEN_DOWN: "taken down",
    ListingStatus.PUBLISHED: "restored",
}


def listing_moderated_notify(*, listing: Listing) -> None:
    """Staff suspended, took down or restored a listing: tell its creator why and what now."""
    status = ListingStatus(listing.status)
    context = {
        "name": _name(listing.creator),
        "listing_title": listing.title,
        "status": status.value,
        "action": MODERATION_WORDS.get(status, status.label),
        "reason": listing.status_reason,
        "manage_url": site_url(reverse("marketplace:listing-manage", args=[listing.slug])),
    }
    key = f"listing:{listing.pk}:moderated:{status.value}:{listing.updated_at:%Y%m%dT%H%M%S.%f}"
    _send(key=key, to=listing.creator, template="listing_moderated", context=context)
