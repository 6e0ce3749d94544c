"""Prices as a buyer reads them (unit, one AGR rate, the AGR discount) and what the buyer holds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from marketplace.models import License, Listing, PlanKind, Subscription, SubscriptionStatus
from marketplace.models.catalog import PriceUnit
from marketplace.selectors.offers import listing_holding, plan_offers
from marketplace.services.listings import listing_pricing_refresh
from marketplace.services.search import listing_search_index
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import ListingFactory, PlanFactory, VersionFactory, paid_order
from tokenomics.selectors.parameters import parameter_get

pytestmark = pytest.mark.django_db

AGR = 10**18


def test_every_plan_states_its_unit():
    listing = ListingFactory()
    plans = [
        PlanFactory(listing=listing, kind=PlanKind.ONE_TIME),
        PlanFactory(listing=listing, kind=PlanKind.SUBSCRIPTION, interval="month"),
        PlanFactory(listing=listing, kind=PlanKind.SUBSCRIPTION, interval="year"),
        PlanFactory(listing=listing, kind=PlanKind.PER_INFERENCE, price_cents=20),
    ]
    units = [offer.unit for offer in plan_offers(plans=plans)]
    assert units == [PriceUnit.ONE_TIME, PriceUnit.MONTH, PriceUnit.YEAR, PriceUnit.PER_1000_CALLS]
    assert [unit.label for unit in units] == ["one-time", "/ month", "/ year", "/ 1,000 calls"]


def test_the_same_usd_price_is_the_same_agr_price_on_every_listing():
    own_rate = PlanFactory(price_cents=1_900, price_agr=171 * AGR)  # a creator's own AGR price
    plain = PlanFactory(price_cents=1_900)
    rate = parameter_get("token.agr_price_micro_usd")
    discount = parameter_get("discount.agr_payment_bps")
    first, second = plan_offers(plans=[own_rate, plain])
    expected = -(-1_900 * 10_000 * AGR // rate)
    assert first.agr_list == second.agr_list == expected
    assert first.agr_total == second.agr_total == expected - expected * discount // 10_000


def test_the_card_price_unit_follows_the_cheapest_plan():
    listing = ListingFactory()
    PlanFactory(listing=listing, kind=PlanKind.ONE_TIME, price_cents=900)
    PlanFactory(listing=listing, kind=PlanKind.SUBSCRIPTION, interval="month", price_cents=1_900)
    listing_pricing_refresh(listing_id=listing.pk)
    listing_search_index(listing_id=listing.pk)
    assert Listing.objects.get(pk=listing.pk).min_price_unit == PriceUnit.ONE_TIME
    PlanFactory(listing=listing, kind=PlanKind.PER_INFERENCE, price_cents=20)
    listing_pricing_refresh(listing_id=listing.pk)
    listing_search_index(listing_id=listing.pk)
    refreshed = Listing.objects.get(pk=listing.pk)
    assert (refreshed.min_price_cents, refreshed.min_price_unit) == (20, PriceUnit.PER_1000_CALLS)
    assert refreshed.get_min_price_unit_display() == "/ 1,000 calls"


def _license(*, buyer, listing, version, used=0, revoked=False) -> License:
    order = paid_order(listing=listing, buyer=buyer)
    return License.objects.create(
        order=order,
        buyer=buyer,
        listing=listing,
        version=version,
        key_prefix="",
        key_hash=f"{order.pk:064d}",
        download_limit=5,
        downloads_used=used,
        revoked_at=timezone.now() if revoked else None,
    )


def test_holding_is_the_newest_unrevoked_license_and_a_live_subscription():
    listing = ListingFactory()
    buyer = UserFactory()
    old, new = (
        VersionFactory(listing=listing, major=1, minor=0),
        VersionFactory(listing=listing, major=1, minor=1),
    )
    assert not listing_holding(buyer=buyer, listing=listing).any
    _license(buyer=buyer, listing=listing, version=old)
    newest = _license(buyer=buyer, listing=listing, version=new, used=2)
    _license(buyer=UserFactory(), listing=listing, version=new)  # someone else's
    holding = listing_holding(buyer=buyer, listing=listing)
    assert holding.license == newest
    assert holding.license.downloads_left == 3
    assert holding.subscription is None

    plan = PlanFactory(listing=listing, kind=PlanKind.SUBSCRIPTION, interval="month")
    end = timezone.now() + timedelta(days=12)
    subscription = Subscription.objects.create(
        buyer=buyer,
        plan=plan,
        listing=listing,
        rail="card",
        status=SubscriptionStatus.ACTIVE,
        current_period_start=timezone.now(),
        current_period_end=end,
    )
    holding = listing_holding(buyer=buyer, listing=listing)
    assert (holding.subscription, holding.subscribed_until) == (subscription, end)


def test_a_revoked_license_a_lapsed_period_and_anonymous_hold_nothing():
    listing = ListingFactory()
    buyer = UserFactory()
    _license(buyer=buyer, listing=listing, version=VersionFactory(listing=listing), revoked=True)
    plan = PlanFactory(listing=listing, kind=PlanKind.SUBSCRIPTION, interval="month")
    Subscription.objects.create(
        buyer=buyer,
        plan=plan,
        listing=listing,
        rail="card",
        status=SubscriptionStatus.ACTIVE,
        current_period_end=timezone.now() - timedelta(seconds=1),
    )
    assert not listing_holding(buyer=buyer, listing=listing).any
    assert not listing_holding(buyer=None, listing=listing).any
    assert not listing_holding(buyer=AnonymousUser(), listing=listing).any  # type: ignore[arg-type]
