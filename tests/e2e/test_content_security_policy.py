"""The Content-Security-Policy in Chromium (issue 13 item 8): the site's own pages, htmx, the API
docs and the API-key page's Copy button run without a single violation, and an image a creator
links from a model card to another site is refused by the browser (it may only come from here)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from marketplace.markdown import render_model_card
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import ListingFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

PASSWORD = "correct-horse-battery-staple-42"


def _violations(page: Page) -> list[str]:
    seen: list[str] = []
    page.on(
        "console",
        lambda message: seen.append(message.text) if "Content Security Policy" in message.text else None,
    )
    return seen


def test_pages_run_under_the_policy_and_outside_images_are_refused(page: Page, live_server) -> None:
    violations = _violations(page)
    base = live_server.url
    card = "# Card\n\n![pixel](https://tracker.example/pixel.png)\n"
    listing = ListingFactory(model_card=card, model_card_html=render_model_card(card))

    for path in ("/", "/models/", "/accounts/login/"):
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
    page.goto(base + "/api/docs/")
    expect(page.locator(".swagger-ui .info")).to_be_visible()  # its start-up script ran
    assert violations == []

    page.goto(f"{base}/models/{listing.slug}/")
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("img", name="pixel")).to_be_attached()
    assert violations
    assert all("tracker.example/pixel.png" in text for text in violations)
    violations.clear()

    user = UserFactory(password=PASSWORD)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("laptop")
    page.get_by_role("button", name="Create key").click()  # an htmx swap
    secret = page.locator("#new-key-secret").text_content()
    copy = page.locator("button[data-copy-target=new-key-secret]")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    assert violations == []
