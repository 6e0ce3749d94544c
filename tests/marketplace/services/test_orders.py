"""Orders end to end on the real rails: localstripe charges and signed webhooks, escrow on the
ledger, refunds back through Stripe. The ledger is verified after every test (conftest)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from marketplace.errors import DownloadLimitReached, InvalidState, NotFound, RefundWindowClosed
from marketplace.models import License, OrderStatus, PlanKind
from marketplace.services.licenses import license_check, license_download, license_key_issue
from marketplace.services.orders import order_cancel, order_create, orders_release_due
from marketplace.services.pricing import quote
from marketplace.services.refunds import order_refund
from tests.marketplace.commerce import card_order, credit_arrival, on_sale, pay_by_card
from tests.tokenomics.stripe.conftest import LocalStripe
from tokenomics.models import Escrow
from tokenomics.models.escrow import EscrowState
from tokenomics.selectors.ledger import user_balances

pytestmark = pytest.mark.django_db


def balance(user, kind: str = "wallet", asset: str = "USD") -> int:
    row = next((b for b in user_balances(user=user) if b.asset == asset), None)
    return getattr(row, kind, 0) if row else 0


def test_a_card_purchase_is_held_in_escrow_and_grants_a_license(
    user, localstripe: LocalStripe, since: int, client: Client, django_capture_on_commit_callbacks
) -> None:
    plan = on_sale(price_cents=4_900)
    started = order_create(buyer=user, plan_id=plan.pk, rail="card")
    assert started.order.status == OrderStatus.AWAITING_PAYMENT
    assert started.client_secret
    intent = localstripe.intent(started.order.payment.stripe_payment_intent_id)
    assert intent["amount"] == 4_900
    assert intent["metadata"]["agora_reference"] == f"order:{started.order.pk}"

    order = pay_by_card(started.order, localstripe, client, since, django_capture_on_commit_callbacks)
    assert order.status == OrderStatus.IN_ESCROW
    escrow = Escrow.objects.get(pk=order.escrow_id)
    assert (escrow.amount, escrow.state, escrow.reference) == (4_900, EscrowState.HELD, order.reference)
    assert escrow.release_after > timezone.now() + timedelta(days=6, hours=23)
    assert balance(user) == 0  # the card money passed through the wallet into escrow
    lic = License.objects.get(order=order)
    assert (lic.download_limit, lic.downloads_used, lic.key_prefix) == (5, 0, "")
    plan.listing.refresh_from_db()
    assert plan.listing.sales_count == 1


def test_a_refund_inside_the_window_goes_back_to_the_card(
    user, localstripe: LocalStripe, since: int, client: Client, django_capture_on_commit_callbacks
) -> None:
    plan = on_sale(price_cents=4_900)
    order = card_order(user, plan, localstripe, client, since, django_capture_on_commit_callbacks)
    refunded = order_refund(buyer=user, order_id=order.pk, reason="Not what I needed")
    assert (refunded.status, refunded.refunded_amount) == (OrderStatus.REFUNDED, 4_900)
    assert Escrow.objects.get(pk=order.escrow_id).state == EscrowState.REFUNDED
    assert License.objects.get(order=order).revoked_at is not None
    refunds = localstripe.refunds_for(order.payment.stripe_payment_intent_id)
    assert [(r["amount"], r["status"]) for r in refunds] == [(4_900, "succeeded")]
    assert balance(user) == 0  # out through Stripe, not left in the wallet
    assert balance(plan.listing.creator, "creator_payable") == 0
    with pytest.raises(InvalidState):
        order_refund(buyer=user, order_id=order.pk)


def test_no_refund_after_a_download(
    user, localstripe: LocalStripe, since: int, client: Client, django_capture_on_commit_callbacks
) -> None:
    plan = on_sale(price_cents=4_900)
    order = card_order(user, plan, localstripe, client, since, django_capture_on_commit_callbacks)
    license_download(buyer=user, license_id=order.license.pk)
    with pytest.raises(RefundWindowClosed) as refused:
        order_refund(buyer=user, order_id=order.pk)
    assert refused.value.code == "refund_window_closed"
    order.refresh_from_db()
    # The first download released the payment to the creator: Bronze tier, 80% of $49.00.
    assert order.status == OrderStatus.RELEASED
    assert balance(plan.listing.creator, "creator_payable") == 3_920


def test_no_refund_after_seven_days_and_the_task_releases_it(
    user, localstripe: LocalStripe, since: int, client: Client, django_capture_on_commit_callbacks
) -> None:
    plan = on_sale(price_cents=4_900)
    order = card_order(user, plan, localstripe, client, since, django_capture_on_commit_callbacks)
    with time_machine.travel(timezone.now() + timedelta(days=7, seconds=1)):
        with pytest.raises(RefundWindowClosed):
            order_refund(buyer=user, order_id=order.pk)
        assert orders_release_due() == 1
        assert orders_release_due() == 0
    order.refresh_from_db()
    assert order.status == OrderStatus.RELEASED
    assert Escrow.objects.get(pk=order.escrow_id).state == EscrowState.RELEASED
    assert balance(plan.listing.creator, "creator_payable") == 3_920


def test_the_download_limit_is_enforced(user, localstripe: LocalStripe) -> None:
    plan = on_sale(price_cents=1_000, download_limit=2)
    order = credit_arrival(order_create(buyer=user, plan_id=plan.pk, rail="card").order)
    version = plan.listing.versions.get()
    assert license_download(buyer=user, license_id=order.license.pk) == version
    assert license_download(buyer=user, license_id=order.license.pk) == version
    with pytest.raises(DownloadLimitReached):
        license_download(buyer=user, license_id=order.license.pk)
    lic = License.objects.get(pk=order.license.pk)
    assert (lic.downloads_used, lic.downloads.count()) == (2, 2)


def test_a_license_key_is_shown_once_and_stored_hashed(user, other_user, localstripe: LocalStripe) -> None:
    plan = on_sale()
    order = credit_arrival(order_create(buyer=user, plan_id=plan.pk, rail="card").order)
    issued = license_key_issue(buyer=user, license_id=order.license.pk)
    assert issued.key.startswith("agl_")
    lic = License.objects.get(pk=order.license.pk)
    assert issued.key not in (lic.key_hash, lic.key_prefix)
    assert issued.key.startswith(lic.key_prefix)
    assert license_check(key=issued.key).pk == lic.pk
    again = license_key_issue(buyer=user, license_id=lic.pk)  # rotating: the first key stops working
    assert license_check(key=again.key).pk == lic.pk
    with pytest.raises(Exception, match="not valid"):
        license_check(key=issued.key)
    with pytest.raises(NotFound):
        license_key_issue(buyer=other_user, license_id=lic.pk)
    with pytest.raises(NotFound):
        license_download(buyer=other_user, license_id=lic.pk)


def test_rules_before_payment(user, other_user, localstripe: LocalStripe) -> None:
    plan = on_sale()
    with pytest.raises(InvalidState, match="your own"):
        order_create(buyer=plan.listing.creator, plan_id=plan.pk, rail="card")
    order = credit_arrival(order_create(buyer=user, plan_id=plan.pk, rail="card").order)
    with pytest.raises(InvalidState, match="already own"):
        order_create(buyer=user, plan_id=plan.pk, rail="card")
    with pytest.raises(NotFound):
        order_refund(buyer=other_user, order_id=order.pk)
    pending = order_create(buyer=other_user, plan_id=plan.pk, rail="card").order
    with pytest.raises(NotFound):
        order_cancel(buyer=user, order_id=pending.pk)
    assert order_cancel(buyer=other_user, order_id=pending.pk).status == OrderStatus.CANCELED
    plan.is_active = False
    plan.save()
    with pytest.raises(NotFound):
        order_create(buyer=other_user, plan_id=plan.pk, rail="card")


def test_prepaid_credit_lands_in_the_wallet_with_the_bonus(user, localstripe: LocalStripe) -> None:
    plan = on_sale(kind=PlanKind.PER_INFERENCE, price_cents=50)
    started = order_create(buyer=user, plan_id=plan.pk, rail="card", credit_cents=2_500)
    assert started.order.total == 2_500
    order = credit_arrival(started.order)
    assert order.status == OrderStatus.PAID
    assert balance(user) == 2_750  # 10% prepaid bonus
    assert order.escrow_id is None


def test_the_quote_shows_the_agr_discount() -> None:
    plan = on_sale(price_cents=4_900)
    card = quote(plan=plan, rail="card")
    assert (card.list_amount, card.agr_discount, card.total, card.asset) == (4_900, 0, 4_900, "USD")
    agr = quote(plan=plan, rail="agr")
    # $49.00 at the reference price of $0.10 per AGR is 490 AGR; 15% off is 416.5 AGR.
    assert agr.list_amount == 490 * 10**18
    assert agr.agr_discount == 735 * 10**17
    assert agr.total == 4165 * 10**17
    assert agr.asset == "AGR"
