"""A creator buys featured placement for their published listing: priced per day from the
parameter registry, paid from prepaid balance at once or by card (localstripe), the money moved
wallet → platform revenue and recorded on the placement. The ledger verifies after every test."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace.errors import InvalidState, PermissionDenied, ValidationFailed
from marketplace.models import FeaturedPlacement, ListingStatus
from marketplace.selectors.featured import featured_placement_for_payment
from marketplace.services.featured import FEATURED_PURPOSE, featured_purchase, featured_quote
from tests.marketplace.factories import ListingFactory
from tests.marketplace.services.test_balance_checkout import fund, wallet
from tests.tokenomics.payout_factories import balance_of, parameter_override
from tests.tokenomics.stripe.conftest import LocalStripe
from tests.tokenomics.stripe.test_card_checkout import save_card
from tokenomics.errors import InsufficientFunds
from tokenomics.models import Payment
from tokenomics.models.ledger import AccountKind
from tokenomics.models.rails import PaymentStatus
from tokenomics.services.card_checkout import PAID, card_payment_confirm, card_setup_start

pytestmark = pytest.mark.django_db


def revenue() -> int:
    return balance_of(None, AccountKind.PLATFORM_REVENUE)


def test_the_price_is_the_registry_price_per_day(creator) -> None:
    listing = ListingFactory(creator=creator)
    parameter_override("featured.price_cents_per_day", 250)

    priced = featured_quote(listing=listing, days=14)

    assert (priced.price_cents_per_day, priced.total_cents) == (250, 3_500)
    assert priced.ends_at - priced.starts_at == timedelta(days=14)
    with pytest.raises(ValidationFailed):
        featured_quote(listing=listing, days=3)


def test_paid_from_balance_the_slot_runs_at_once(creator) -> None:
    listing = ListingFactory(creator=creator)
    parameter_override("featured.price_cents_per_day", 100)
    fund(creator, 1_000)

    started = featured_purchase(user=creator, listing_id=listing.pk, days=7, pay_with="balance")

    placement = started.placement
    assert placement is not None
    assert started.payment is None
    assert placement.amount_cents == 700
    assert placement.ends_at - placement.starts_at == timedelta(days=7)
    assert placement.starts_at <= timezone.now()
    listing.refresh_from_db()
    assert listing.featured_until == placement.ends_at
    assert (wallet(creator), revenue()) == (300, 700)
    tx = placement.ledger_transaction
    assert tx is not None
    assert sorted(e.amount for e in tx.entries.all()) == [-700, 700]
    assert not Payment.objects.exists()


def test_a_second_slot_starts_when_the_first_ends(creator) -> None:
    listing = ListingFactory(creator=creator)
    parameter_override("featured.price_cents_per_day", 100)
    fund(creator, 5_000)
    first = featured_purchase(user=creator, listing_id=listing.pk, days=7, pay_with="balance").placement
    second = featured_purchase(user=creator, listing_id=listing.pk, days=14, pay_with="balance").placement
    assert first is not None
    assert second is not None
    assert second.starts_at == first.ends_at
    listing.refresh_from_db()
    assert listing.featured_until == second.ends_at
    assert (wallet(creator), revenue()) == (2_900, 2_100)


def test_too_little_balance_creates_nothing(creator) -> None:
    listing = ListingFactory(creator=creator)
    parameter_override("featured.price_cents_per_day", 100)
    fund(creator, 699)

    with pytest.raises(InsufficientFunds):
        featured_purchase(user=creator, listing_id=listing.pk, days=7, pay_with="balance")

    assert not FeaturedPlacement.objects.exists()
    listing.refresh_from_db()
    assert listing.featured_until is None
    assert (wallet(creator), revenue()) == (699, 0)


def test_only_the_creator_of_a_published_listing_may_buy(creator, other_user) -> None:
    listing = ListingFactory(creator=creator)
    fund(other_user, 10_000)
    with pytest.raises(PermissionDenied):
        featured_purchase(user=other_user, listing_id=listing.pk, days=7, pay_with="balance")
    draft = ListingFactory(creator=creator, status=ListingStatus.DRAFT, published_at=None)
    fund(creator, 10_000)
    with pytest.raises(InvalidState, match="published"):
        featured_purchase(user=creator, listing_id=draft.pk, days=7, pay_with="balance")
    assert not FeaturedPlacement.objects.exists()
    assert revenue() == 0


def test_by_card_the_slot_runs_once_the_card_is_charged(creator, localstripe: LocalStripe) -> None:
    listing = ListingFactory(creator=creator)
    parameter_override("featured.price_cents_per_day", 300)

    started = featured_purchase(user=creator, listing_id=listing.pk, days=30, pay_with="card")

    payment = started.payment
    assert payment is not None
    assert started.placement is None
    assert (payment.purpose, payment.amount, payment.asset) == (FEATURED_PURPOSE, 9_000, "USD")
    assert not FeaturedPlacement.objects.exists()  # nothing runs until the card is charged

    setup = save_card(localstripe, card_setup_start(payment=payment))
    assert card_payment_confirm(payment=payment, setup_intent_id=setup["id"]).outcome == PAID

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    placement = featured_placement_for_payment(payment=payment)
    assert placement is not None
    assert (placement.listing_id, placement.amount_cents) == (listing.pk, 9_000)
    assert placement.ends_at - placement.starts_at == timedelta(days=30)
    listing.refresh_from_db()
    assert listing.featured_until == placement.ends_at
    # The card money passed through the creator's wallet on to platform revenue.
    assert (wallet(creator), revenue()) == (0, 9_000)


def test_confirming_the_same_review_twice_buys_once(creator) -> None:
    listing = ListingFactory(creator=creator)
    parameter_override("featured.price_cents_per_day", 100)
    fund(creator, 5_000)
    key = "ab" * 16

    def buy(pay_with: str, request_key: str = key):
        return featured_purchase(
            user=creator, listing_id=listing.pk, days=7, pay_with=pay_with, request_key=request_key
        )

    first = featured_purchase(
        user=creator, listing_id=listing.pk, days=7, pay_with="balance", request_key=key
    )
    again = featured_purchase(
        user=creator, listing_id=listing.pk, days=7, pay_with="balance", request_key=key
    )

    assert first.placement is not None
    assert again.placement == first.placement
    assert FeaturedPlacement.objects.count() == 1
    assert (wallet(creator), revenue()) == (4_300, 700)
    card = buy("card")
    card_again = featured_purchase(
        user=creator, listing_id=listing.pk, days=7, pay_with="card", request_key=key
    )
    assert card.payment is not None
    assert card_again.payment == card.payment
    assert Payment.objects.count() == 1
    with pytest.raises(ValidationFailed):
        buy("balance", "x:1")
