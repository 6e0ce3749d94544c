"""The listing page's current per-call price (issue 15 item 2): compute's partial, loaded by the
marketplace page by URL, shows the gateway's quote with its parts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from compute.services import pricing
from compute.templatetags.inference import bps_multiplier
from marketplace.hosted_demo import IRIS
from tests.compute.gateway.conftest import per_inference_plan, subscription_plan
from tests.compute.pages.conftest import hosted_listing


@pytest.mark.parametrize(
    ("bps", "style", "shown"),
    [
        (10_000, "", "1.0"),
        (12_500, "", "1.25"),
        (8000, "", "0.8"),
        (20_000, "", "2.0"),
        (1000, "percent", "10%"),
        (1250, "percent", "12.5%"),
        (5, "percent", "0.05%"),
        ("x", "", ""),
    ],
)
def test_bps_are_shown_exactly(bps: object, style: str, shown: str) -> None:
    assert bps_multiplier(bps, style) == shown


@pytest.mark.django_db
def test_the_listing_page_shows_the_current_price_with_its_parts(client) -> None:
    listing = hosted_listing(IRIS, slug="iris-page", size="large")
    plan = per_inference_plan(listing, price_per_1000_cents=500)
    subscription_plan(listing, quota=100)
    page = client.get(reverse("marketplace:listing", args=[listing.slug])).content.decode()
    url = reverse("compute:listing-price", args=[listing.slug])
    assert page.count(f'hx-get="{url}?plan=') == 1  # under the per-inference plan only
    pricing.quote_refresh(listing_id=listing.pk, size="large")  # no node: 2.0x demand, supply 1

    html = client.get(f"{url}?plan={plan.pk}").content.decode()
    assert 'data-total="7000"' in html  # 5,000 creator + 100 x 10 x 2.0 compute
    assert "$0.007</strong> per call now" in html
    assert '<dd data-part="creator">$0.005</dd>' in html
    assert '<dd data-part="compute">$0.002</dd>' in html
    assert '<dd class="muted" data-part="demand">2.0\u00d7</dd>' in html
    assert "Priority fee (10%)</dt>" in html
    assert '<dd data-part="priority">+$0.0007</dd>' in html
    assert '<dd data-part="priority-total">$0.0077</dd>' in html

    assert client.get(f"{url}?plan=0").content.decode().count("per call now") == 0
    assert client.get(reverse("compute:listing-price", args=["no-such-model"])).status_code == 404
