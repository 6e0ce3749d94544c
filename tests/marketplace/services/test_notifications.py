"""The storefront's email (SPEC: receipts, refunds, disputes, renewals, moderation): each event
leaves exactly its mails in the outbox, to the right people, with the key facts in both the plain
text and the HTML; Stripe is localstripe and Celery runs eagerly, as everywhere in the suite."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.test import Client

from marketplace.models import ListingStatus, OrderStatus, PlanKind, Subscription
from marketplace.selectors.orders import subscription_billing_reference
from marketplace.services.listings import listing_moderate
from marketplace.services.notifications import (
    subscription_renewal_failed_notify,
    subscriptions_remind_renewal,
)
from marketplace.services.orders import ORDER_PURPOSE, order_create, order_fulfil, order_record
from marketplace.services.pricing import quote
from marketplace.services.refunds import dispute_resolve, order_dispute_open, order_refund
from marketplace.services.subscriptions import subscription_cancel, subscriptions_renew_due
from tests.accounts.factories import UserFactory, staff_with
from tests.marketplace.commerce import card_order, credit_arrival, on_sale
from tests.tokenomics.factories import funded_wallet
from tests.tokenomics.stripe.conftest import LocalStripe
from tokenomics.models import StripeSubscription
from tokenomics.models.ledger import AccountKind
from tokenomics.money import agr, format_amount
from tokenomics.services.ledger_accounts import user_account_get_or_create
from tokenomics.services.payments import payment_create

pytestmark = pytest.mark.django_db


def parts(message: Any) -> tuple[str, str]:
    """The plain-text body and the HTML alternative of a sent mail."""
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return message.body, html


def in_both(message: Any, *facts: str) -> None:
    text, html = parts(message)
    for fact in facts:
        assert fact in text, f"{fact!r} not in the text of {message.subject!r}"
        assert fact in html, f"{fact!r} not in the HTML of {message.subject!r}"


def test_a_card_purchase_mails_the_buyer_a_receipt_with_next_steps(
    user, localstripe: LocalStripe, since: int, client: Client, django_capture_on_commit_callbacks
) -> None:
    plan = on_sale(price_cents=4_900)
    order = card_order(user, plan, localstripe, client, since, django_capture_on_commit_callbacks)
    assert order.status == OrderStatus.IN_ESCROW
    [receipt] = mail.outbox
    assert receipt.to == [user.email]
    assert receipt.subject == f"[Agora] Receipt: {plan.listing.title} ({plan.name}), $49.00"
    closes = f"{order.escrow.release_after:%d %B %Y}"
    in_both(
        receipt,
        plan.listing.title,
        f"#{order.pk}",
        "$49.00",
        "by card",
        "license key",
        f"until {closes}",
        f"http://127.0.0.1:8000/orders/{order.pk}/",
    )
    text, _ = parts(receipt)
    assert "Total paid: $49.00 by card" in text


def test_a_refund_mails_the_amount_and_where_it_went(
    user, localstripe: LocalStripe, since: int, client: Client, django_capture_on_commit_callbacks
) -> None:
    plan = on_sale(price_cents=4_900)
    order = card_order(user, plan, localstripe, client, since, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        order_refund(buyer=user, order_id=order.pk)
    _receipt, refund = mail.outbox
    assert refund.to == [user.email]
    assert refund.subject == f"[Agora] Refund of $49.00: {plan.listing.title}"
    in_both(refund, "$49.00 of $49.00 paid", "back to the card you paid with", f"#{order.pk}", "revoked")


def test_cancelling_a_subscription_mails_the_pro_rata_refund(
    user, localstripe: LocalStripe, since: int, client: Client, django_capture_on_commit_callbacks
) -> None:
    plan = on_sale(kind=PlanKind.SUBSCRIPTION, price_cents=3_000)
    order = card_order(user, plan, localstripe, client, since, django_capture_on_commit_callbacks)
    with (
        time_machine.travel(order.period_start + timedelta(days=10), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        subscription_cancel(buyer=user, subscription_id=order.subscription_id)
    receipt, refund = mail.outbox
    assert "active until" in receipt.body
    assert refund.subject == f"[Agora] Refund of $20.00: {plan.listing.title}"
    in_both(refund, "unused days", "$20.00 of $30.00 paid", "back to the card")


def test_a_renewal_and_a_lapse_are_mailed(
    user, localstripe: LocalStripe, django_capture_on_commit_callbacks
) -> None:
    plan = on_sale(kind=PlanKind.SUBSCRIPTION, price_cents=1_500)
    with django_capture_on_commit_callbacks(execute=True):
        first = credit_arrival(order_create(buyer=user, plan_id=plan.pk, rail="card").order)
    funded_wallet(user=user, amount=2_000)
    with (
        time_machine.travel(first.period_end + timedelta(minutes=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert subscriptions_renew_due() == (1, 0)
    sub = Subscription.objects.get(pk=first.subscription_id)
    receipt, renewed = mail.outbox
    assert receipt.subject.startswith("[Agora] Receipt:")
    assert renewed.to == [user.email]
    until = f"{sub.current_period_end:%d %B %Y}"
    assert renewed.subject == f"[Agora] Renewed: {plan.listing.title} ({plan.name}) until {until}"
    in_both(renewed, "$15.00 from your prepaid balance", until)

    with (
        time_machine.travel(sub.current_period_end + timedelta(minutes=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert subscriptions_renew_due() == (0, 1)  # $5.00 left does not cover another month
    lapsed = mail.outbox[-1]
    assert len(mail.outbox) == 3
    assert lapsed.subject == f"[Agora] Renewal failed: {plan.listing.title} ({plan.name}) has ended"
    in_both(lapsed, "$15.00", "$5.00", "/wallet/top-up/")


def test_a_renewal_that_fails_inside_its_transaction_mails_nothing(
    user, localstripe: LocalStripe, django_capture_on_commit_callbacks
) -> None:
    plan = on_sale(kind=PlanKind.SUBSCRIPTION, price_cents=1_500)
    with django_capture_on_commit_callbacks(execute=True):
        first = credit_arrival(order_create(buyer=user, plan_id=plan.pk, rail="card").order)
    funded_wallet(user=user, amount=2_000)
    sub = Subscription.objects.get(pk=first.subscription_id)

    def renewal_that_fails_after_paying() -> None:
        with transaction.atomic():
            wallet = user_account_get_or_create(user=user, kind=AccountKind.WALLET, asset="USD")
            priced = quote(plan=plan, rail="card", buyer=user)
            order = order_record(buyer=user, plan=plan, priced=priced, subscription=sub)
            order_fulfil(order=order, source=wallet)  # queues the renewal mail
            raise RuntimeError("the transaction fails after the order was paid")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        renewal_that_fails_after_paying()
    assert [m.subject.split(":")[0] for m in mail.outbox] == ["[Agora] Receipt"]


def test_a_dispute_is_mailed_to_both_parties_when_opened_and_resolved(
    user, localstripe: LocalStripe, since: int, client: Client, django_capture_on_commit_callbacks
) -> None:
    staff = staff_with("marketplace.resolve_dispute")
    plan = on_sale(price_cents=4_900)
    creator = plan.listing.creator
    order = card_order(user, plan, localstripe, client, since, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        dispute = order_dispute_open(buyer=user, order_id=order.pk, reason="Broken weights", evidence="Logs")
    opened = {m.to[0]: m for m in mail.outbox}
    assert set(opened) == {user.email, creator.email}
    assert opened[user.email].subject == f"[Agora] Dispute #{dispute.pk} opened: {plan.listing.title}"
    assert opened[creator.email].subject == (
        f"[Agora] A buyer disputed order #{order.pk} of {plan.listing.title}"
    )
    for message in opened.values():
        in_both(message, "Broken weights", "$49.00")

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        dispute_resolve(
            staff_user=staff,
            dispute_id=dispute.pk,
            outcome="partial_refund",
            refund_amount=1_900,
            note="Half works",
        )
    resolved = {m.to[0]: m for m in mail.outbox}
    assert set(resolved) == {user.email, creator.email}
    for message in resolved.values():
        assert message.subject == f"[Agora] Dispute #{dispute.pk} resolved: $19.00 refunded"
        in_both(message, "partly refunded", "$19.00", "Half works")
    in_both(resolved[user.email], "back to the card")
    in_both(resolved[creator.email], "taken from the sale")


def test_reminders_go_before_a_balance_renewal_once_a_period(
    user, settings, localstripe: LocalStripe, django_capture_on_commit_callbacks
) -> None:
    settings.SUBSCRIPTION_RENEWAL_REMINDER_DAYS = 3
    plan = on_sale(kind=PlanKind.SUBSCRIPTION, price_cents=1_000)
    # An AGR subscription, paid from the AGR balance as a renewal is (no chain needed).
    wallet = funded_wallet(user=user, amount=agr(200), asset="AGR")
    priced = quote(plan=plan, rail="agr", buyer=user)
    with transaction.atomic():
        sub = Subscription.objects.create(buyer=user, plan=plan, listing=plan.listing, rail="agr")
        order = order_fulfil(
            order=order_record(buyer=user, plan=plan, priced=priced, subscription=sub), source=wallet
        )
    # A card subscription is charged by Stripe: no balance reminder. Its Stripe billing is recorded
    # as card_subscription_billing_start leaves it (test_card_subscriptions.py sets it up at
    # localstripe for real).
    card = on_sale(kind=PlanKind.SUBSCRIPTION, price_cents=1_000)
    card_sub = credit_arrival(order_create(buyer=user, plan_id=card.pk, rail="card").order).subscription
    assert card_sub is not None
    StripeSubscription.objects.create(
        user=user,
        reference=subscription_billing_reference(card_sub.pk),
        stripe_subscription_id="sub_billed_by_stripe",
        status="trialing",
        amount=1_000,
    )
    mail.outbox.clear()

    # Hourly runs of the beat task, each committing (its mails sent) before the next.
    for days_before, queued in ((4, 0), (2, 1), (1, 0)):  # not yet; then once a period
        with (
            time_machine.travel(order.period_end - timedelta(days=days_before)),
            django_capture_on_commit_callbacks(execute=True),
        ):
            assert subscriptions_remind_renewal() == queued
    [reminder] = mail.outbox
    left = agr(200) - int(priced.total)
    due = f"{order.period_end:%d %B %Y}"
    assert reminder.to == [user.email]
    assert reminder.subject == f"[Agora] {plan.listing.title} renews on {due}"
    in_both(
        reminder,
        format_amount(amount=int(priced.total), asset="AGR"),
        format_amount(amount=left, asset="AGR"),
    )
    in_both(reminder, "covers it")


def test_a_short_balance_is_told_how_much_to_top_up(
    user, localstripe: LocalStripe, django_capture_on_commit_callbacks
) -> None:
    plan = on_sale(kind=PlanKind.SUBSCRIPTION, price_cents=1_000)
    priced = quote(plan=plan, rail="agr", buyer=user)
    wallet = funded_wallet(user=user, amount=int(priced.total) + agr(1), asset="AGR")
    with transaction.atomic():
        sub = Subscription.objects.create(buyer=user, plan=plan, listing=plan.listing, rail="agr")
        order = order_fulfil(
            order=order_record(buyer=user, plan=plan, priced=priced, subscription=sub), source=wallet
        )
    mail.outbox.clear()
    with (
        time_machine.travel(order.period_end - timedelta(days=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert subscriptions_remind_renewal() == 1
    [reminder] = mail.outbox
    short = format_amount(amount=int(priced.total) - agr(1), asset="AGR")
    assert reminder.subject.endswith(f": top up {short}")
    in_both(reminder, short, "short. Top up before", "/wallet/top-up/")


def test_the_creator_is_mailed_when_staff_suspend_or_restore_a_listing(
    user, django_capture_on_commit_callbacks
) -> None:
    staff = UserFactory(is_staff=True)
    listing = on_sale().listing
    with django_capture_on_commit_callbacks(execute=True):
        listing_moderate(
            listing=listing, staff_user=staff, status=ListingStatus.SUSPENDED, reason="License unclear"
        )
        listing_moderate(listing=listing, staff_user=staff, status=ListingStatus.PUBLISHED, reason="")
    suspended, restored = mail.outbox
    assert suspended.to == restored.to == [listing.creator.email]
    assert suspended.subject == f"[Agora] Your model {listing.title} was suspended"
    in_both(suspended, "License unclear", f"/creator/listings/{listing.slug}/")
    assert restored.subject == f"[Agora] Your model {listing.title} was restored"
    in_both(restored, "published and on sale again")


def test_a_subscription_turned_off_ends_with_a_mail_that_charges_nothing(
    user, localstripe: LocalStripe, django_capture_on_commit_callbacks
) -> None:
    plan = on_sale(kind=PlanKind.SUBSCRIPTION, price_cents=1_500)
    first = credit_arrival(order_create(buyer=user, plan_id=plan.pk, rail="card").order)
    subscription_cancel(buyer=user, subscription_id=first.subscription_id, at_period_end=True)
    funded_wallet(user=user, amount=5_000)  # enough to renew, but renewal is off
    with (
        time_machine.travel(first.period_end + timedelta(seconds=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert subscriptions_renew_due() == (0, 1)
    [ended] = mail.outbox
    assert ended.subject == f"[Agora] Your subscription to {plan.listing.title} ({plan.name}) has ended"
    in_both(ended, "turned renewal off", "Nothing was charged")


def test_a_declined_renewal_payment_is_mailed_with_what_happens_next(
    user, localstripe: LocalStripe, django_capture_on_commit_callbacks
) -> None:
    """For the card rail's failed invoices: a retry is announced, then the end."""
    plan = on_sale(kind=PlanKind.SUBSCRIPTION, price_cents=1_500)
    first = credit_arrival(order_create(buyer=user, plan_id=plan.pk, rail="card").order)
    sub = Subscription.objects.get(pk=first.subscription_id)
    with django_capture_on_commit_callbacks(execute=True):
        subscription_renewal_failed_notify(subscription=sub, reason="Your card was declined.", retrying=True)
        subscription_renewal_failed_notify(subscription=sub, reason="Your card was declined.", retrying=True)
        subscription_renewal_failed_notify(subscription=sub, reason="Your card was declined.", retrying=False)
    retrying, final = mail.outbox  # the repeated notice of the same attempt is sent once
    for message in (retrying, final):
        assert message.subject == f"[Agora] Payment failed: {plan.listing.title} ({plan.name}) did not renew"
        in_both(message, "Your card was declined.")
    in_both(retrying, "We will try again")
    in_both(final, "the subscription has ended")


def test_a_period_paid_through_the_card_rail_is_mailed_as_a_renewal_from_the_card(
    user, localstripe: LocalStripe, django_capture_on_commit_callbacks
) -> None:
    """However a later period is paid (here a card payment for the subscription's next order, as a
    paid Stripe invoice would be), its mail is the renewal notice, not a second receipt."""
    plan = on_sale(kind=PlanKind.SUBSCRIPTION, price_cents=1_500)
    first = credit_arrival(order_create(buyer=user, plan_id=plan.pk, rail="card").order)
    sub = Subscription.objects.get(pk=first.subscription_id)
    priced = quote(plan=plan, rail="card", buyer=user)
    with transaction.atomic():
        order = order_record(buyer=user, plan=plan, priced=priced, subscription=sub)
        order.payment = payment_create(
            user=user, purpose=ORDER_PURPOSE, rail="card", amount=int(priced.total), reference=order.reference
        )
        order.save(update_fields=["payment"])
    with django_capture_on_commit_callbacks(execute=True):
        credit_arrival(order)
    [renewed] = mail.outbox
    assert renewed.subject.startswith(f"[Agora] Renewed: {plan.listing.title}")
    in_both(renewed, "$15.00 from your card")
