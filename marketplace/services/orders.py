"""Orders: start one for a plan through a rail, fulfil it when the money arrives, release it.

Money path (SPEC §4): a rail's arrival is credited to the buyer's wallet by tokenomics, which then
calls the handler registered here for the payment's purpose (ARCHITECTURE.md: the lower app never
imports this one). The handler moves the money on, in the same transaction:
- one-time: into escrow until the first download or call, or until the refund window closes;
- subscription: into escrow until the period ends, so a cancellation can refund the unused days
  exactly, and the creator is paid for what was used;
- pay-per-inference: nothing; the credit (with the prepaid bonus) stays in the wallet.

Lock order, everywhere: the Order row, then its License or Subscription, then the escrow.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from marketplace.errors import InvalidState, NotFound
from marketplace.models import (
    License,
    Listing,
    ListingVersion,
    Order,
    OrderStatus,
    Plan,
    PlanKind,
    Subscription,
    SubscriptionStatus,
)
from marketplace.models.catalog import PlanInterval
from marketplace.selectors.catalog import latest_downloadable_version, plan_get_for_sale
from marketplace.selectors.history import ORDER_PREFIX
from marketplace.selectors.orders import subscription_billing_reference
from marketplace.services.lifecycle import (
    OrderEvent,
    escrow_order_lock,
    escrow_order_resolved,
    license_lock_owned,
    order_transition,
)
from marketplace.services.notifications import order_paid_notify
from marketplace.services.pricing import Quote, quote
from tokenomics.errors import TokenomicsError
from tokenomics.models import LedgerAccount, Payment, Rail, StripeSubscription
from tokenomics.models.ledger import AccountKind
from tokenomics.models.rails import PaymentStatus
from tokenomics.selectors.parameters import parameter_get
from tokenomics.services.chain_rail import agr_payment_start
from tokenomics.services.escrow import (
    escrow_hold,
    escrow_owner_register,
    escrow_release,
    escrows_release_due,
)
from tokenomics.services.ledger_accounts import user_account_get_or_create
from tokenomics.services.payments import payment_create, payment_handler_register, payment_mark
from tokenomics.services.stripe_rail import card_amount_check, card_payment_intent_ensure
from tokenomics.services.stripe_subscriptions import card_payment_method_of, stripe_subscription_start

logger = logging.getLogger(__name__)

ORDER_PURPOSE = "order"  # one-time and subscription periods: held in escrow
ORDER_CREDIT_PURPOSE = "order_credit"  # pay-per-inference credit: stays in the wallet, with the bonus

# A subscription period, in seconds: a month is 30 days and a year 365, so a pro-rata refund is the
# same fraction whatever the calendar month.
PERIOD_SECONDS = {PlanInterval.MONTH: 30 * 86_400, PlanInterval.YEAR: 365 * 86_400}
LICENSE_KEY_PREFIX = "agl_"


@dataclass(frozen=True)
class OrderStarted:
    order: Order
    client_secret: str | None  # card: for Stripe.js confirmCardPayment; never logged


def _close_abandoned_subscription(*, buyer: User, listing: Listing) -> None:
    """A pending subscription whose first order was never paid gives way to a new checkout."""
    for sub in Subscription.objects.select_for_update().filter(
        buyer=buyer, listing=listing, status=SubscriptionStatus.PENDING
    ):
        for order in sub.orders.select_for_update().filter(status=OrderStatus.AWAITING_PAYMENT):
            order_transition(order=order, event=OrderEvent.CANCEL)
            if order.payment_id is not None:
                payment_mark(payment_id=order.payment_id, status=PaymentStatus.CANCELED)
        if not sub.orders.exclude(status=OrderStatus.CANCELED).exists():
            sub.status = SubscriptionStatus.CANCELED
            sub.canceled_at = timezone.now()
            sub.save(update_fields=["status", "canceled_at", "updated_at"])


def order_record(
    *,
    buyer: User,
    plan: Plan,
    priced: Quote,
    version: ListingVersion | None = None,
    subscription: Subscription | None = None,
) -> Order:
    """Insert an order awaiting payment for `plan` at the `priced` amounts (inside the caller's
    transaction). No money moves; the caller attaches a payment or fulfils it from a wallet."""
    return Order.objects.create(
        buyer=buyer,
        plan=plan,
        listing=plan.listing,
        kind=plan.kind,
        version=version,
        rail=priced.rail,
        asset=priced.asset,
        list_amount=priced.list_amount,
        agr_discount=priced.agr_discount,
        volume_discount=priced.volume_discount,
        total=priced.total,
        subscription=subscription,
    )


def subscription_open(*, buyer: User, plan: Plan, rail: str) -> Subscription:
    """The buyer's subscription to `plan`, opened at checkout (not active: its first order's
    payment activates it), paid through `rail`, with the plan's monthly quota."""
    return Subscription.objects.create(
        buyer=buyer, plan=plan, listing=plan.listing, rail=rail, monthly_quota=plan.monthly_quota
    )


def order_create(*, buyer: User, plan_id: int, rail: str, credit_cents: int | None = None) -> OrderStarted:
    """Start an order for a plan, priced by marketplace.services.pricing.quote, with its payment
    due through `rail`; card orders come back with the PaymentIntent's client secret (Stripe is
    called after the commit). No money moves until the payment arrives, except from prepaid
    balance ("balance", "agr_balance"), which pays at once. Raises NotFound, InsufficientFunds,
    InvalidState (own listing, already owned or subscribed, nothing to download), ValidationFailed,
    AmountInvalid (outside card limits), ChainNotConfigured, PaymentProviderUnavailable/Rejected
    (the order stays awaiting payment; order_card_client_secret retries)."""
    plan = plan_get_for_sale(plan_id=plan_id)
    listing = plan.listing
    if listing.creator_id == buyer.pk:
        raise InvalidState("You cannot buy your own model.")
    priced = quote(plan=plan, rail=rail, buyer=buyer, credit_cents=credit_cents)
    if priced.rail == Rail.CARD and not priced.from_balance:
        card_amount_check(priced.total)
    version = None
    if plan.kind == PlanKind.ONE_TIME:
        version = latest_downloadable_version(listing=listing)
        if version is None:
            raise InvalidState("This model has no downloadable version yet.")
        if License.objects.filter(buyer=buyer, version=version, revoked_at__isnull=True).exists():
            raise InvalidState(
                f"You already own version {version.version}; find it in your library.",
                detail={"version": version.version},
            )
    purpose = ORDER_CREDIT_PURPOSE if plan.kind == PlanKind.PER_INFERENCE else ORDER_PURPOSE
    try:
        with transaction.atomic(durable=True):
            subscription = None
            if plan.kind == PlanKind.SUBSCRIPTION:
                _close_abandoned_subscription(buyer=buyer, listing=listing)
                subscription = subscription_open(buyer=buyer, plan=plan, rail=priced.rail)
            order = order_record(
                buyer=buyer, plan=plan, priced=priced, version=version, subscription=subscription
            )
            if priced.from_balance:
                # Paid now from the wallet, as a renewal is: no payment, and a refund returns to
                # the balance. Too little balance rolls the whole checkout back, and so does a
                # license bought meanwhile by a concurrent checkout (checked under its lock).
                if version is not None and license_lock_owned(buyer_id=buyer.pk, version_id=version.pk):
                    raise InvalidState(
                        f"You already own version {version.version}; find it in your library.",
                        detail={"version": version.version},
                    )
                wallet = user_account_get_or_create(user=buyer, kind=AccountKind.WALLET, asset=priced.asset)
                order_fulfil(order=order, source=wallet)
                return OrderStarted(order=order, client_secret=None)
            if priced.rail == Rail.CARD:
                payment = payment_create(
                    user=buyer,
                    purpose=purpose,
                    rail=Rail.CARD,
                    amount=priced.total,
                    reference=order.reference,
                )
            else:
                payment = agr_payment_start(
                    user=buyer, purpose=purpose, amount=priced.total, reference=order.reference
                )
            order.payment = payment
            order.save(update_fields=["payment", "updated_at"])
    except IntegrityError as exc:  # the open-subscription constraint: a concurrent checkout won
        raise InvalidState("You already have a subscription to this model.") from exc
    client_secret = card_payment_intent_ensure(payment=payment) if priced.rail == Rail.CARD else None
    return OrderStarted(order=order, client_secret=client_secret)


def order_card_client_secret(*, order: Order) -> str:
    """The client secret of a card order still awaiting payment (creates its PaymentIntent at most
    once). Calls Stripe. Raises InvalidState, PaymentProviderUnavailable/Rejected."""
    if order.rail != Rail.CARD or order.payment is None or order.status != OrderStatus.AWAITING_PAYMENT:
        raise InvalidState("This order is not waiting for a card payment.", detail={"status": order.status})
    return card_payment_intent_ensure(payment=order.payment)


def order_cancel(*, buyer: User, order_id: int) -> Order:
    """Cancel an order still awaiting payment (its payment is canceled too; money that arrives
    later stays in the buyer's wallet). Raises NotFound, InvalidState."""
    with transaction.atomic(durable=True):
        order = Order.objects.select_for_update().filter(pk=order_id, buyer=buyer).first()
        if order is None:
            raise NotFound("No such order.")
        if order.status != OrderStatus.AWAITING_PAYMENT:
            raise InvalidState(
                "Only an order awaiting payment can be canceled.", detail={"status": order.status}
            )
        order_transition(order=order, event=OrderEvent.CANCEL)
        if order.payment_id is not None:
            payment_mark(payment_id=order.payment_id, status=PaymentStatus.CANCELED)
        if order.subscription_id is not None:
            Subscription.objects.filter(pk=order.subscription_id, status=SubscriptionStatus.PENDING).update(
                status=SubscriptionStatus.CANCELED, canceled_at=timezone.now(), updated_at=timezone.now()
            )
        return order


# ------------------------------------------------------------------------- fulfilment


def _unusable_key_hash() -> str:
    # A license starts with the hash of a key nobody ever sees; the buyer reveals a fresh key.
    return hashlib.sha256(secrets.token_bytes(32)).hexdigest()


def order_fulfil(
    *, order: Order, source: LedgerAccount, now: datetime | None = None, at: datetime | None = None
) -> Order:
    """Move a paid order's money on from `source` (the buyer's wallet) and grant what it buys:
    escrow + license (one-time), escrow for the period + access (subscription), or nothing held
    (pay-per-inference credit). `order` is locked by the caller, inside its transaction.
    `now`: when it counts as paid (a renewal passes the end of the last period); `at`: when this
    happens (default now; demo history passes a past moment), the escrow hold's posting date and
    the start of a one-time order's refund window, and `now`'s default.
    Raises InsufficientFunds."""
    now = now or at or timezone.now()
    plan = order.plan
    listing = order.listing
    if order.kind == PlanKind.PER_INFERENCE:
        order_transition(order=order, event=OrderEvent.PAY, now=now)
    elif order.kind == PlanKind.ONE_TIME:
        escrow = escrow_hold(
            reference=order.reference,
            creator=listing.creator,
            source_account=source,
            amount=int(order.total),
            payer=order.buyer,
            memo=f"Order {order.pk}: {listing.title}",
            at=at,
        )
        order.escrow = escrow
        order.save(update_fields=["escrow", "updated_at"])
        order_transition(order=order, event=OrderEvent.HOLD, now=now)
        assert order.version_id is not None
        License.objects.create(
            order=order,
            buyer=order.buyer,
            listing=listing,
            version_id=order.version_id,
            key_prefix="",
            key_hash=_unusable_key_hash(),
            download_limit=plan.download_limit or parameter_get("license.download_limit"),
        )
    else:
        assert order.subscription_id is not None
        subscription = Subscription.objects.select_for_update().get(pk=order.subscription_id)
        start = max(now, subscription.current_period_end or now)
        end = start + timedelta(seconds=PERIOD_SECONDS[PlanInterval(plan.interval)])
        escrow = escrow_hold(
            reference=order.reference,
            creator=listing.creator,
            source_account=source,
            amount=int(order.total),
            payer=order.buyer,
            release_after=end,
            memo=f"Order {order.pk}: {listing.title}, {plan.name} until {end:%Y-%m-%d}",
            at=at,
        )
        order.escrow = escrow
        order.period_start, order.period_end = start, end
        order.save(update_fields=["escrow", "period_start", "period_end", "updated_at"])
        order_transition(order=order, event=OrderEvent.HOLD, now=now)
        subscription.status = SubscriptionStatus.ACTIVE
        subscription.current_period_start, subscription.current_period_end = start, end
        subscription.quota_used = 0
        subscription.save(
            update_fields=["status", "current_period_start", "current_period_end", "quota_used", "updated_at"]
        )
    Listing.objects.filter(pk=listing.pk).update(sales_count=F("sales_count") + 1)
    order_paid_notify(order=order)
    return order


def _order_payment_received(payment: Payment) -> None:
    """tokenomics calls this inside the crediting transaction once an order's payment is paid."""
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("plan", "listing", "listing__creator", "buyer")
        .filter(payment=payment)
        .first()
    )
    if order is None or order.status != OrderStatus.AWAITING_PAYMENT:
        return  # canceled before the money came: it stays in the buyer's wallet as credit
    if (
        order.kind == PlanKind.ONE_TIME
        and order.version_id is not None
        and license_lock_owned(buyer_id=order.buyer_id, version_id=order.version_id)
    ):
        _duplicate_refund(order)
        return
    order_fulfil(
        order=order,
        source=user_account_get_or_create(user=order.buyer, kind=AccountKind.WALLET, asset=order.asset),
    )
    if order.subscription_id is not None and payment.rail == Rail.CARD:
        # The next periods are billed to the same card by Stripe; set up once the period is ours.
        subscription_id = order.subscription_id

        def start_card_billing() -> None:  # named: Django logs a robust hook's __qualname__
            _billing_start_logged(subscription_id)

        transaction.on_commit(start_card_billing, robust=True)


def _duplicate_refund(order: Order) -> None:
    """ "You already own this", when the payment arrives: a second license order of the same buyer
    and version (opened before the first was paid) is marked refunded instead of fulfilled. The
    money is in the buyer's wallet already; after the commit a card payment goes back to the card
    through the refund path (AGR stays in the wallet as credit, as a balance payment would)."""
    order_transition(order=order, event=OrderEvent.DUPLICATE)
    order_id = order.pk

    def refund_duplicate() -> None:  # named: Django logs a robust hook's __qualname__
        from marketplace.services.refunds import order_duplicate_refund_send

        order_duplicate_refund_send(order_id=order_id)

    transaction.on_commit(refund_duplicate, robust=True)


def card_subscription_billing_start(*, subscription_id: int) -> StripeSubscription | None:
    """Bill an active card subscription's next periods at Stripe: a Stripe Subscription for the
    plan's card price, charged to the card that paid the first period, first invoicing when the
    paid period ends. Idempotent (the reference resumes where a failure stopped). Returns None for
    a subscription that is not card-paid, active and renewing, or whose payment names no card
    (it then renews from the prepaid balance). Calls Stripe; raises
    PaymentProviderUnavailable/Rejected."""
    sub = (
        Subscription.objects.select_related("plan", "listing", "buyer")
        .filter(pk=subscription_id, rail=Rail.CARD, status=SubscriptionStatus.ACTIVE, auto_renew=True)
        .first()
    )
    first = (
        Order.objects.select_related("payment")
        .filter(subscription_id=subscription_id, payment__isnull=False, paid_at__isnull=False)
        .order_by("pk")
        .first()
    )
    if sub is None or first is None or first.payment is None:
        return None
    method = card_payment_method_of(payment=first.payment)
    if not method:
        return None  # nothing Stripe could bill: it renews from the prepaid balance instead
    plan = sub.plan
    return stripe_subscription_start(
        user=sub.buyer,
        reference=subscription_billing_reference(sub.pk),
        amount=quote(plan=plan, rail=Rail.CARD, buyer=sub.buyer).total,
        name=f"{sub.listing.title} ({plan.name})",
        interval=plan.interval,
        payment_method_id=method,
        trial_end=sub.current_period_end,
    )


def _billing_start_logged(subscription_id: int) -> None:
    try:
        card_subscription_billing_start(subscription_id=subscription_id)
    except TokenomicsError as exc:
        # The period is paid either way; without Stripe billing it renews from the prepaid balance
        # (or lapses), as a balance subscription does.
        logger.warning("Stripe billing of subscription %s not set up yet: %s", subscription_id, exc)


def register_payment_handlers() -> None:
    """Called from MarketplaceConfig.ready(): orders follow their payments and their escrows."""
    payment_handler_register(ORDER_PURPOSE, _order_payment_received)
    payment_handler_register(ORDER_CREDIT_PURPOSE, _order_payment_received, prepaid_credit=True)
    escrow_owner_register(ORDER_PREFIX, lock=escrow_order_lock, resolved=escrow_order_resolved)


# ------------------------------------------------------------------------- release


def order_release(*, order_id: int, at: datetime | None = None) -> Order:
    """Release a held order's escrow to the sale split now (first download or first call), or
    `at` (demo history); the escrow hook moves the order. An order not in escrow (released,
    refunded, disputed) is returned unchanged."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status != OrderStatus.IN_ESCROW or order.escrow_id is None:
            return order
        escrow_release(escrow_id=order.escrow_id, at=at)
        order.refresh_from_db()
        return order


def orders_release_for_first_use(*, buyer: User, listing: Listing) -> int:
    """Release the buyer's one-time orders of `listing` still in escrow (their first call through
    the gateway counts as use). Returns how many this call released."""
    ids = list(
        Order.objects.filter(
            buyer=buyer, listing=listing, kind=PlanKind.ONE_TIME, status=OrderStatus.IN_ESCROW
        ).values_list("pk", flat=True)
    )
    released = 0
    with transaction.atomic():
        for pk in ids:
            order = Order.objects.select_for_update().get(pk=pk)
            if order.status == OrderStatus.IN_ESCROW and order.escrow_id is not None:
                escrow_release(escrow_id=order.escrow_id)
                released += 1
    return released


def orders_release_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Release the orders whose escrow is due (refund window or subscription period over, not
    frozen by a dispute). A thin alias of tokenomics' escrows_release_due for order escrows: that
    is the one beat task releasing escrowed money, and the escrow hook moves each order with its
    escrow. Returns how many this call released itself."""
    return escrows_release_due(now=now, limit=limit, reference_prefix=f"{ORDER_PREFIX}:")
