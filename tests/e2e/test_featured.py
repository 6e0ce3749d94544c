"""A creator buys a 7-day featured slot by card in Chromium, from the listing's manage page through
the review step to the shared card form (localstripe's Stripe.js as shipped, the test card typed
into its element), and the catalog's featured strip then shows the model labelled Sponsored."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from marketplace.models import FeaturedPlacement
from tests.accounts.factories import UserFactory
from tests.e2e.test_top_up import PASSWORD, POLL_TIMEOUT, _log_in, fill_card
from tests.marketplace.factories import ListingFactory
from tests.tokenomics.stripe.conftest import _stripe_is_localstripe, localstripe  # noqa: F401
from tokenomics.models import Payment

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def test_a_creator_buys_a_week_of_sponsored_placement_by_card(
    page: Page,
    live_server,
    localstripe,  # noqa: F811
    settings,
):
    settings.STRIPE_JS_URL = f"{localstripe.url}/js.stripe.com/v3/"
    creator = UserFactory(password=PASSWORD)
    listing = ListingFactory(creator=creator, title="Sunny Diffusion")
    _log_in(page, live_server.url, creator.email)

    page.goto(f"{live_server.url}/creator/listings/{listing.slug}/")
    feature = page.locator("#feature")
    expect(feature).to_contain_text("Feature this model")
    feature.get_by_label("7 days").check()
    feature.get_by_label("Card", exact=True).check()
    feature.get_by_role("button", name="Review the charge").click()

    # The review names the slot and exactly what is charged (the registry's default: $5.00 a day).
    expect(page.locator("#quote-total")).to_have_text("$35.00 by card")
    expect(page.locator("#quote-per-day")).to_contain_text("$5.00 a day")
    assert not Payment.objects.exists()  # the review moves no money
    page.get_by_role("button", name="Confirm and pay $35.00").click()

    expect(page.locator("#card-test-mode")).to_contain_text("4242 4242 4242 4242")
    fill_card(page)
    page.get_by_role("button", name="Pay $35.00").click()
    expect(page.locator("#featured-done")).to_contain_text("is featured as Sponsored", timeout=POLL_TIMEOUT)

    placement = FeaturedPlacement.objects.get()
    assert (placement.listing_id, placement.amount_cents) == (listing.pk, 3_500)

    page.goto(f"{live_server.url}/models/")
    strip = page.locator(".featured-strip")
    card = strip.locator(".listing-card", has_text="Sunny Diffusion")
    expect(card).to_be_visible()
    expect(card.locator(".badge-sponsored")).to_have_text("Sponsored")
    page.get_by_role("link", name="Sunny Diffusion").first.click()
    expect(page.locator("#sponsored")).to_have_text("Sponsored")
    call_command("ledger_check")
