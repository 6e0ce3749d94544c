"""Buying featured placement from the listing's manage page: choose a slot, review the exact
charge, pay from balance (at once) or by card (the shared card form); the catalog, the card and
the listing page then label the model "Sponsored"."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace.models import FeaturedPlacement, ListingStatus
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import ListingFactory
from tests.marketplace.services.test_balance_checkout import fund, wallet
from tests.tokenomics.payout_factories import parameter_override
from tokenomics.models import Payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def listing(creator):
    parameter_override("featured.price_cents_per_day", 200)
    return ListingFactory(creator=creator, title="Boosted Llama")


@pytest.fixture
def signed_in(client, creator):
    client.force_login(creator)
    return client


def review(slug: str) -> str:
    return f"/creator/listings/{slug}/feature/"


def confirm(slug: str) -> str:
    return f"/creator/listings/{slug}/feature/confirm/"


def test_the_manage_page_offers_a_slot_for_a_published_listing_only(signed_in, listing, creator) -> None:
    html = signed_in.get(f"/creator/listings/{listing.slug}/").content.decode()
    assert "Feature this model" in html
    assert f'action="{review(listing.slug)}"' in html
    draft = ListingFactory(creator=creator, status=ListingStatus.DRAFT, published_at=None)
    assert "Feature this model" not in signed_in.get(f"/creator/listings/{draft.slug}/").content.decode()


def test_the_review_shows_exactly_what_is_charged(signed_in, listing, creator) -> None:
    fund(creator, 5_000)
    response = signed_in.get(review(listing.slug), {"days": "14", "pay_with": "balance"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "$2.00 a day \u00d7 14" in html
    assert "$28.00" in html
    assert "$22.00 remains" in html
    assert not FeaturedPlacement.objects.exists()  # reviewing moves nothing


def test_the_review_refuses_a_length_not_offered_and_too_little_balance(signed_in, listing, creator) -> None:
    response = signed_in.get(review(listing.slug), {"days": "5", "pay_with": "balance"})
    assert response.status_code == 400
    assert "Choose 7, 14, 30 days." in response.content.decode()
    fund(creator, 100)
    html = signed_in.get(review(listing.slug), {"days": "7", "pay_with": "balance"}).content.decode()
    assert "Your prepaid balance is $1.00, $14.00 is due." in html
    assert "disabled>Confirm and pay" in html


def test_confirming_from_balance_features_the_listing_as_sponsored(
    signed_in, listing, creator, client
) -> None:
    fund(creator, 5_000)
    response = signed_in.post(confirm(listing.slug), {"days": "7", "pay_with": "balance"})
    assert response.status_code == 302
    assert response["Location"] == f"/creator/listings/{listing.slug}/"
    placement = FeaturedPlacement.objects.get()
    assert placement.amount_cents == 1_400
    assert wallet(creator) == 3_600
    manage_html = signed_in.get(response["Location"]).content.decode()
    assert "is featured as sponsored until" in manage_html
    assert 'id="featured-now"' in manage_html

    catalog = client.get("/models/").content.decode()
    strip = catalog.split('class="featured-strip"', 1)[1].split("results-count", 1)[0]
    assert "Boosted Llama" in strip
    assert "Sponsored" in strip
    assert 'id="sponsored"' in client.get(f"/models/{listing.slug}/").content.decode()


def test_too_little_balance_at_confirm_creates_nothing(signed_in, listing, creator) -> None:
    fund(creator, 100)
    response = signed_in.post(confirm(listing.slug), {"days": "7", "pay_with": "balance"}, follow=True)
    assert "The balance is too low for this payment." in response.content.decode()
    assert not FeaturedPlacement.objects.exists()
    assert wallet(creator) == 100


def test_another_user_cannot_feature_the_listing(client, listing) -> None:
    other = UserFactory()
    fund(other, 5_000)
    client.force_login(other)
    assert client.get(review(listing.slug), {"days": "7"}).status_code == 404
    assert client.post(confirm(listing.slug), {"days": "7", "pay_with": "balance"}).status_code == 404
    assert not FeaturedPlacement.objects.exists()


def test_by_card_the_confirm_leads_to_the_card_form(signed_in, listing, localstripe) -> None:
    response = signed_in.post(confirm(listing.slug), {"days": "30", "pay_with": "card"})
    payment = Payment.objects.get()
    assert response["Location"] == f"/creator/featured/{payment.pk}/pay/"
    html = signed_in.get(response["Location"]).content.decode()
    assert 'id="card-pay"' in html
    assert f"/payments/{payment.pk}/card/setup/" in html
    assert "Pay $60.00" in html
    assert "js/pay.js" in html  # the one pay step: it reloads once the card is accepted
    assert 'data-reload-on-accept="true"' in html
    assert not FeaturedPlacement.objects.exists()


def test_a_featured_card_payment_page_is_only_its_payers(client, listing, creator, localstripe) -> None:
    client.force_login(creator)
    client.post(confirm(listing.slug), {"days": "7", "pay_with": "card"})
    payment = Payment.objects.get()
    client.force_login(UserFactory())
    assert client.get(f"/creator/featured/{payment.pk}/pay/").status_code == 404


def test_an_expired_placement_is_no_longer_sponsored(client, creator) -> None:
    old = ListingFactory(
        creator=creator, title="Old Boost", featured_until=timezone.now() - timedelta(hours=1)
    )
    assert "Sponsored" not in client.get(f"/models/{old.slug}/").content.decode()


def test_a_resubmitted_confirm_charges_once(signed_in, listing, creator) -> None:
    fund(creator, 5_000)
    html = signed_in.get(review(listing.slug), {"days": "7", "pay_with": "balance"}).content.decode()
    key = re.search(r'name="request_key" value="([0-9a-f]{32})"', html)
    assert key is not None
    form = {"days": "7", "pay_with": "balance", "request_key": key.group(1)}
    signed_in.post(confirm(listing.slug), form)
    signed_in.post(confirm(listing.slug), form)
    assert FeaturedPlacement.objects.count() == 1
    assert wallet(creator) == 3_600
