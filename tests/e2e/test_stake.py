"""Staking in Chromium (issue 18, "How it is checked"): stake with a review step, the tier shows,
unstake, the unbonding row shows the time left, and a slash shows with its evidence. Real: the
live server, the ledger, the pages."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.accounts.factories import UserFactory
from tests.tokenomics.factories import funded_wallet
from tokenomics.money import agr
from tokenomics.services.staking import stake_slash

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

PASSWORD = "correct-horse-battery-staple-42"


def test_stake_see_the_tier_unstake_and_the_countdown(
    page: Page, live_server: Any, artifacts_dir: Any
) -> None:
    holder = UserFactory(password=PASSWORD)
    funded_wallet(user=holder, amount=agr(80_000), asset="AGR")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(holder.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.goto(f"{live_server.url}/wallet/")
    page.get_by_role("link", name="Stake AGR").click()
    expect(page.locator("#stake-tier")).to_have_text("None")

    page.get_by_label("Amount (AGR)").fill("90000")
    page.get_by_role("button", name="Review").click()
    expect(page.locator("#stake-amount_error")).to_contain_text("Your wallet holds")  # next to its field

    page.get_by_label("Amount (AGR)").fill("60000")
    page.get_by_role("button", name="Review").click()
    expect(page.locator("#stake-review")).to_contain_text("tier Silver")
    expect(page.locator("#stake-tier")).to_have_text("None")  # nothing moved before confirming
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#stake-tier")).to_have_text("Silver")
    expect(page.locator("#stake-next")).to_contain_text("more for Gold")
    expect(page.locator('#tier-ladder tr[data-tier="silver"]')).to_have_attribute("aria-current", "true")

    page.get_by_role("radio", name="Unstake").check()
    page.get_by_label("Amount (AGR)").fill("15000")
    page.get_by_role("button", name="Review").click()
    expect(page.locator("#stake-review")).to_contain_text("tier Bronze")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#stake-tier")).to_have_text("Bronze")
    row = page.locator("#unbonding-list li")
    expect(row).to_have_count(1)
    expect(row.locator("[data-countdown]")).to_contain_text("days")

    # A slash (the provider economy calls the service) shows with its evidence after a reload.
    expect(page.locator("#slashes-empty")).to_be_visible()
    stake_slash(
        user=holder,
        fraction_bps=500,
        reason="Wrong outputs",
        evidence={"probe": "p-17"},
        idempotency_key="e2e",
    )
    page.reload()
    slash = page.locator("#slash-table tbody tr")
    expect(slash).to_have_count(1)
    expect(slash.locator("[data-reason]")).to_have_text("Wrong outputs")
    expect(slash.locator("[data-evidence]")).to_contain_text("p-17")
    expect(slash.locator("[data-fraction]")).to_contain_text("5%")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(artifacts_dir / "stake-390.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path="/tmp/stake-1280.png", full_page=True)
