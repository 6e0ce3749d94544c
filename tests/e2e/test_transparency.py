"""The public transparency page in a browser: after three closed epochs it draws its three charts
(burns, emission against the schedule, distributions per epoch) with a mark per point, lists the
epochs, and fits a phone's width."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from playwright.sync_api import Browser, expect

from tests.accounts.factories import UserFactory
from tests.tokenomics.factories import funded_wallet
from tokenomics.money import agr
from tokenomics.services import distribution_weights as registry
from tokenomics.services.epochs import epochs_close_due, token_genesis
from tokenomics.services.escrow import escrow_hold, escrow_release

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

GENESIS = datetime(2026, 3, 2, 9, tzinfo=UTC)
WEEK = timedelta(days=7)


def _seed() -> None:
    with time_machine.travel(GENESIS, tick=False):
        token_genesis()
    creator, provider = UserFactory(), UserFactory()
    for week in range(3):
        for asset, gross in (("USD", 25_000 + week * 5_000), ("AGR", agr(900 + week * 100))):
            with time_machine.travel(GENESIS + week * WEEK + timedelta(days=1), tick=False):
                buyer = UserFactory()
                wallet = funded_wallet(user=buyer, amount=gross, asset=asset)
                escrow = escrow_hold(
                    reference=f"e2e-transparency:{week}:{asset}",
                    creator=creator,
                    source_account=wallet,
                    amount=gross,
                )
                escrow_release(escrow_id=escrow.pk)
    saved = dict(registry._weights)
    registry.distribution_weights_register("creators", lambda start, end: {creator.pk: 1})
    registry.distribution_weights_register("providers", lambda start, end: {provider.pk: 1})
    try:
        with time_machine.travel(GENESIS.replace(hour=0) + 3 * WEEK + timedelta(hours=1), tick=False):
            assert len(epochs_close_due()) == 3
    finally:
        registry._weights.clear()
        registry._weights.update(saved)


@pytest.mark.parametrize("width", [390, 1280])
def test_the_transparency_page_draws_its_charts(
    browser: Browser, live_server: Any, width: int, artifacts_dir: Path
) -> None:
    _seed()
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        response = page.goto(f"{live_server.url}/transparency/")
        assert response is not None
        assert response.status == 200
        expect(page.get_by_role("heading", name="Transparency", level=1)).to_be_visible()
        for chart, marks in (
            ("burned-chart", "circle"),
            ("emission-chart", "circle"),
            ("distribution-chart", "rect"),
        ):
            svg = page.locator(f'svg[aria-labelledby="{chart}-title {chart}-desc"]')
            svg.scroll_into_view_if_needed()
            expect(svg).to_be_visible()
            box = svg.bounding_box()
            assert box is not None
            assert box["width"] > 200
            assert box["height"] > 60
            assert svg.locator(f".chart-{'bars' if marks == 'rect' else 'line'} {marks}").count() >= 3
        expect(page.locator("#epoch-table tbody tr[data-epoch]")).to_have_count(6)
        expect(page.locator('[data-figure="burned"]')).not_to_have_text("0 AGR")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(artifacts_dir / f"transparency-{width}.png"), full_page=True)
        page.goto(f"{live_server.url}/")
        page.get_by_role("contentinfo").get_by_role("link", name="Transparency").click()
        expect(page).to_have_url(f"{live_server.url}/transparency/")
    finally:
        context.close()
