"""A provider in Chromium sees their node healthy and their earnings move (issue 17, "How it is
checked"): the node is registered through compute's node service on the session's real Triton
(PyTriton), a buyer calls the model through the gateway with an API key, settlement pays the
provider's part of the compute fee, and the console shows it. Nothing is stood in."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect
from rest_framework.test import APIClient

from accounts import services as account_services
from compute.services import routing
from compute.services.health import nodes_probe_all
from compute.services.nodes import node_register
from compute.services.settlement import metering_settle
from marketplace.hosted_demo import IRIS
from marketplace.models import PlanKind
from tests.accounts.factories import UserFactory
from tests.compute.pages.conftest import hosted_listing
from tests.marketplace.factories import PlanFactory
from tests.tokenomics.factories import funded_wallet, staked
from tests.tokenomics.payout_factories import parameter_override

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

PASSWORD = "correct-horse-battery-staple-42"
CALLS = 10


def test_provider_sees_the_node_healthy_and_earnings_move(
    page: Page, live_server: Any, pytriton_server: Any
) -> None:
    parameter_override("compute.base_rate_micro_usd", 10_000)  # a cent a call, so a few calls settle
    provider = staked(user=UserFactory(password=PASSWORD))  # paid traffic needs the minimum stake
    iris = hosted_listing(IRIS, slug="iris-provider")
    PlanFactory(listing=iris, kind=PlanKind.PER_INFERENCE, name="Metered", price_cents=500)
    routing.candidates_forget()
    node = node_register(
        provider=provider,
        triton_url=pytriton_server.url,
        version_ids=[iris.versions.get().pk],
        name="gpu-box-1",
    )
    nodes_probe_all()

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(provider.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_role("link", name="Provider").click()
    row = page.locator(f'#nodes-table tr[data-node="{node.pk}"]')
    expect(row).to_contain_text("gpu-box-1")
    expect(row.locator("[data-health]")).to_contain_text("Healthy")
    expect(page.locator('[data-provider-payable="USD"]')).to_have_text("$0.00")

    buyer = UserFactory()
    funded_wallet(user=buyer, amount=1_000)
    client = APIClient()
    key = account_services.api_key_create(user=buyer, name="k", scopes=["inference"]).secret
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    body = {
        "inputs": [{"name": "FEATURES", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]
    }
    for _ in range(CALLS):
        response = client.post(f"/api/v1/inference/{iris.slug}", body, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["node"] == str(node.pk)
    metering_settle()

    expect(row.locator("[data-calls]")).to_have_text(str(CALLS), timeout=15_000)  # the next poll
    page.reload()
    earned = page.locator('[data-provider-payable="USD"]')
    expect(earned).not_to_have_text("$0.00")
    page.screenshot(path="/tmp/provider-console.png", full_page=True)
