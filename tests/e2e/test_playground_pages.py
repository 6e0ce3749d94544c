"""The playground, the usage page and the creator's inference revenue in Chromium: the listing page
loads compute's playground by URL, the 8x8 pad inks cells into the form's JSON, and every page runs
under the Content-Security-Policy with no violation, at 1280 and 390 px."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from compute.services.settlement import log_drain
from marketplace.hosted_demo import DIGITS, IRIS
from tests.accounts.factories import UserFactory
from tests.compute.gateway.helpers import log_call
from tests.compute.pages.conftest import hosted_listing

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

PASSWORD = "correct-horse-battery-staple-42"


def _violations(page: Page) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    return seen


def _log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("link", name="API keys")).to_be_visible()


def test_the_pad_inks_cells_into_the_form_under_the_policy(
    page: Page, live_server, artifacts_dir: Path
) -> None:
    violations = _violations(page)
    base = live_server.url
    creator = UserFactory(password=PASSWORD)
    digits = hosted_listing(DIGITS, creator=creator)
    iris = hosted_listing(IRIS, creator=creator)
    log_call(user=UserFactory(), listing=iris, provider=UserFactory(), creator_price_micro=5_000)
    log_drain()

    page.goto(f"{base}/models/{digits.slug}/")
    expect(page.locator("#playground-sign-in")).to_be_visible()

    _log_in(page, base, creator.email)
    page.goto(f"{base}/models/{digits.slug}/")
    pad = page.locator("[data-draw-pad]")
    expect(pad.locator(".pad-cell")).to_have_count(64)
    expect(page.locator("#playground-free")).to_contain_text("free runs left today")
    page.get_by_role("button", name="Clear").click()
    assert json.loads(page.locator("#in-IMAGE").input_value()) == [[0] * 8 for _ in range(8)]
    cell = pad.locator('.pad-cell[data-row="3"][data-col="4"]')
    cell.click()
    cell.click()
    grid = json.loads(page.locator("#in-IMAGE").input_value())
    assert grid[3][4] == 16
    assert sum(map(sum, grid)) == 16
    cell.click(modifiers=["Shift"])
    assert json.loads(page.locator("#in-IMAGE").input_value())[3][4] == 0
    # A stroke: press on one cell and drag down the column, as a person draws a "1".
    centres = []
    for row in range(1, 7):
        box = pad.locator(f'.pad-cell[data-row="{row}"][data-col="3"]').bounding_box()
        assert box is not None
        centres.append((box["x"] + box["width"] / 2, box["y"] + box["height"] / 2))
    page.mouse.move(*centres[0])
    page.mouse.down()
    for x, y in centres[1:]:
        page.mouse.move(x, y, steps=4)
    page.mouse.up()
    stroke = json.loads(page.locator("#in-IMAGE").input_value())
    assert [stroke[row][3] for row in range(8)] == [0, 8, 8, 8, 8, 8, 8, 0]
    page.screenshot(path=str(artifacts_dir / "playground-digits-1280.png"), full_page=True)

    page.goto(f"{base}/models/{iris.slug}/")
    expect(page.locator('input[name="in-FEATURES-0"]')).to_have_value("5.1")
    page.goto(f"{base}/creator/")
    expect(
        page.locator(f'#inference-revenue-table tr[data-listing="{iris.slug}"] [data-calls]')
    ).to_have_text("1")
    page.goto(f"{base}/usage/")
    expect(page.locator("#usage-empty")).to_be_visible()

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/models/{digits.slug}/")
    expect(pad.locator(".pad-cell")).to_have_count(64)
    box = pad.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts_dir / "playground-digits-390.png"), full_page=True)
    page.goto(f"{base}/usage/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts_dir / "usage-390.png"), full_page=True)
    page.goto(f"{base}/models/{iris.slug}/")
    expect(page.locator('input[name="in-FEATURES-3"]')).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.goto(f"{base}/creator/")
    expect(page.locator("#inference-revenue-table")).to_be_attached()
    page.screenshot(path=str(artifacts_dir / "creator-inference-revenue-390.png"), full_page=True)
    assert violations == []
