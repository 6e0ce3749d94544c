"""The listing page's current per-call price in Chromium (issue 15 item 2): loaded from compute by
URL under the per-inference plan, its parts one click away, under the Content-Security-Policy, at
1280 and 390 px."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from marketplace.hosted_demo import IRIS
from tests.compute.gateway.conftest import per_inference_plan
from tests.compute.pages.conftest import hosted_listing
from tests.e2e.test_playground_pages import _violations

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def test_the_price_and_its_parts_show_under_the_per_inference_plan(
    page: Page, live_server, artifacts_dir: Path
) -> None:
    violations = _violations(page)
    listing = hosted_listing(IRIS, size="medium")
    per_inference_plan(listing, price_per_1000_cents=500)
    page.goto(f"{live_server.url}/models/{listing.slug}/")
    price = page.locator(".listing-price")
    # Before the first price refresh: demand 1.0x, supply at least 1; 5,000 + 100 x 3 micro-USD.
    expect(price).to_contain_text("$0.0053 per call now")
    price.get_by_text("How this price is made").click()
    expect(price.locator('[data-part="compute"]')).to_have_text("$0.0003")
    expect(price.locator('[data-part="priority"]')).to_have_text("+$0.00053")
    expect(price.locator('[data-part="priority-total"]')).to_have_text("$0.00583")
    page.screenshot(path=str(artifacts_dir / "listing-price-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    expect(price.locator('[data-part="creator"]')).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "listing-price-390.png"), full_page=True)
    assert violations == []
