"""Featured placement a creator buys for their published listing (SPEC §2): a time-boxed slot in
the catalog's featured strip, shown as sponsored.

Priced per day from the parameter registry (`featured.price_cents_per_day`), paid in USD either by
card (a tokenomics Payment of purpose FEATURED_PURPOSE; its handler activates the slot inside the
crediting transaction) or at once from the creator's prepaid balance. Either way the money moves
wallet → platform revenue in one ledger posting, recorded on FeaturedPlacement.ledger_transaction.

A new slot starts now, or when the listing's current placement ends, so slots bought back to back
keep the listing featured without a gap and `featured_until` is simply the last slot's end.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from marketplace.errors import InvalidState, NotFound, ValidationFailed
from marketplace.models import FeaturedPlacement, Listing, ListingStatus
from marketplace.selectors.creator import listing_creator_check
from tokenomics.models import Asset, Payment, Rail
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.selectors.parameters import parameter_get
from tokenomics.services.ledger import Leg, transaction_post
from tokenomics.services.ledger_accounts import system_account_get_or_create, user_account_get_or_create
from tokenomics.services.payments import payment_create, payment_handler_register
from tokenomics.services.stripe_rail import card_amount_check

FEATURED_PURPOSE = "featured_placement"
FEATURED_DAYS = (7, 14, 30)
PAY_CARD = "card"
PAY_BALANCE = "balance"
PAY_WITH = (PAY_CARD, PAY_BALANCE)
_REFERENCE_PREFIX = "featured"
_REQUEST_KEY = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class FeaturedQuote:
    listing: Listing
    days: int
    price_cents_per_day: int
    total_cents: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class FeaturedStarted:
    placement: FeaturedPlacement | None  # paid from balance: active (or queued) at once
    payment: Payment | None  # by card: due; the slot starts once it is paid


def _slot_start(listing: Listing, now: datetime) -> datetime:
    current = listing.featured_until
    return current if current is not None and current > now else now


def featured_check(*, listing: Listing, user: User) -> None:
    """Whether `user` may buy featured placement for `listing`. No side effects. Raises
    PermissionDenied/NotFound (not the listing's creator), InvalidState (not published)."""
    listing_creator_check(listing=listing, user=user)
    if listing.status != ListingStatus.PUBLISHED:
        raise InvalidState("Only a published listing can be featured.", detail={"status": listing.status})


def featured_quote(*, listing: Listing, days: int, now: datetime | None = None) -> FeaturedQuote:
    """What a slot of `days` costs and when it would run, at today's registry price. No side
    effects. Raises ValidationFailed (a length not offered)."""
    if days not in FEATURED_DAYS:
        raise ValidationFailed(
            detail={"days": [f"Choose {', '.join(str(d) for d in FEATURED_DAYS)} days."]},
        )
    now = now or timezone.now()
    per_day = parameter_get("featured.price_cents_per_day")
    starts_at = _slot_start(listing, now)
    return FeaturedQuote(
        listing=listing,
        days=days,
        price_cents_per_day=per_day,
        total_cents=per_day * days,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(days=days),
    )


def _activate(*, listing: Listing, user: User, days: int, amount: int, reference: str) -> FeaturedPlacement:
    """Charge `amount` from the creator's USD wallet to platform revenue and run the slot (inside
    the caller's transaction; `listing` locked by the caller). Raises InsufficientFunds."""
    now = timezone.now()
    starts_at = _slot_start(listing, now)
    ends_at = starts_at + timedelta(days=days)
    posted = transaction_post(
        kind=TransactionKind.TRANSFER,
        legs=[
            Leg(user_account_get_or_create(user=user, kind=AccountKind.WALLET, asset=Asset.USD), -amount),
            Leg(system_account_get_or_create(kind=AccountKind.PLATFORM_REVENUE, asset=Asset.USD), amount),
        ],
        idempotency_key=reference,
        memo=f"Featured placement of {listing.title}, {days} days until {ends_at:%Y-%m-%d}",
        reference=reference,
        party=user,
    )
    placement = FeaturedPlacement.objects.create(
        listing=listing,
        starts_at=starts_at,
        ends_at=ends_at,
        amount_cents=amount,
        ledger_transaction=posted.transaction,
    )
    listing.featured_until = ends_at
    listing.save(update_fields=["featured_until", "updated_at"])
    return placement


def _locked_listing(listing_id: int) -> Listing:
    listing = Listing.objects.select_for_update().filter(pk=listing_id).first()
    if listing is None:
        raise NotFound("No such listing.")
    return listing


def featured_purchase(
    *, user: User, listing_id: int, days: int, pay_with: str, request_key: str | None = None
) -> FeaturedStarted:
    """Buy a featured slot of `days` for the user's own published listing. From the prepaid USD
    balance it is paid and placed at once (too little balance creates nothing); by card it returns
    the Payment due, and the slot starts when that is paid. `request_key` (32 hex digits, one per
    review step) makes a repeated confirm return the first purchase instead of buying again.
    Raises NotFound, PermissionDenied, InvalidState, ValidationFailed, InsufficientFunds,
    AmountInvalid (outside card limits)."""
    if pay_with not in PAY_WITH:
        raise ValidationFailed(detail={"pay_with": ["Choose card or prepaid balance."]})
    if request_key is not None and not _REQUEST_KEY.fullmatch(request_key):
        raise ValidationFailed(detail={"request_key": ["Review the charge again."]})
    reference = f"{_REFERENCE_PREFIX}:{listing_id}:{days}:{pay_with}:{request_key or uuid.uuid4().hex}"
    with transaction.atomic(durable=True):
        listing = _locked_listing(listing_id)
        featured_check(listing=listing, user=user)
        # The listing's row lock serialises confirms of the same listing: a repeat sees the first.
        done = FeaturedPlacement.objects.filter(ledger_transaction__reference=reference).first()
        due = Payment.objects.filter(reference=reference, user=user).first()
        if done is not None or due is not None:
            return FeaturedStarted(placement=done, payment=due)
        quote = featured_quote(listing=listing, days=days)
        if pay_with == PAY_BALANCE:
            placement = _activate(
                listing=listing, user=user, days=days, amount=quote.total_cents, reference=reference
            )
            return FeaturedStarted(placement=placement, payment=None)
        card_amount_check(quote.total_cents)
        payment = payment_create(
            user=user, purpose=FEATURED_PURPOSE, rail=Rail.CARD, amount=quote.total_cents, reference=reference
        )
        return FeaturedStarted(placement=None, payment=payment)


def featured_reference_parse(reference: str) -> tuple[int, int] | None:
    """(listing id, days) of a featured payment's reference, or None for any other reference."""
    parts = reference.split(":")
    if len(parts) != 5 or parts[0] != _REFERENCE_PREFIX or not (parts[1].isdigit() and parts[2].isdigit()):
        return None
    return int(parts[1]), int(parts[2])


def _featured_payment_received(payment: Payment) -> None:
    """tokenomics calls this inside the crediting transaction once a featured payment is paid: the
    card money, now in the creator's wallet, moves on to platform revenue and the slot runs."""
    parsed = featured_reference_parse(payment.reference)
    if parsed is None:
        return
    listing_id, days = parsed
    listing = Listing.objects.select_for_update().filter(pk=listing_id).first()
    if listing is None or listing.status != ListingStatus.PUBLISHED or listing.creator_id != payment.user_id:
        return  # unpublished while the card was paid: the money stays in the creator's wallet
    _activate(
        listing=listing, user=payment.user, days=days, amount=int(payment.amount), reference=payment.reference
    )


def register_featured_payment_handler() -> None:
    """Called from MarketplaceConfig.ready()."""
    payment_handler_register(FEATURED_PURPOSE, _featured_payment_received)
