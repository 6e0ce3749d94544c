"""A buyer's inference journey in Chromium (issue 17, "How it is checked"): run the playground of a
hosted model for free, buy per-inference credit by card, call the model with an API key, and see
the usage page move.

Real: the live server, PostgreSQL, Redis, the gateway (entitlement, metering, settlement), compute's
router and a node registered through compute's node service (readiness and tensors checked) on a
real Triton (the session's PyTriton server running the iris model), Stripe.js and the charge
(localstripe). Nothing is stood in.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from accounts import services as account_services
from compute.models import Node
from compute.services import routing
from compute.services.nodes import node_register
from marketplace.hosted_demo import IRIS
from marketplace.models import Order, OrderStatus, PlanKind
from tests.accounts.factories import UserFactory
from tests.compute.pages.conftest import hosted_listing
from tests.e2e.test_storefront_journeys import _pay_by_card, card_payments  # noqa: F401
from tests.e2e.test_top_up import PASSWORD, POLL_TIMEOUT, _log_in
from tests.marketplace.factories import PlanFactory
from tests.tokenomics.factories import staked
from tests.tokenomics.stripe.conftest import _stripe_is_localstripe, localstripe  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


@pytest.fixture
def provider_node(pytriton_server: Any) -> Any:
    """Registers a provider's node on the real Triton for a listing's hosted version."""

    def register(listing: Any) -> Node:
        routing.candidates_forget()
        version = listing.versions.get()
        return node_register(
            provider=staked(user=UserFactory()), triton_url=pytriton_server.url, version_ids=[version.pk]
        )

    return register


def _wait_paid(order: Order) -> None:
    deadline = time.monotonic() + POLL_TIMEOUT / 1000
    while True:
        order.refresh_from_db()
        if order.status == OrderStatus.PAID:
            return
        assert time.monotonic() < deadline, f"order {order.pk} is still {order.status}"
        time.sleep(0.25)


def test_playground_then_credit_then_api_key_and_usage_moves(
    page: Page,
    live_server: Any,
    provider_node: Any,
    card_payments: None,  # noqa: F811
    artifacts_dir: Path,
) -> None:
    base = live_server.url
    iris = hosted_listing(IRIS, slug="iris-journey")
    node = provider_node(iris)
    plan = PlanFactory(listing=iris, kind=PlanKind.PER_INFERENCE, name="Metered", price_cents=500)
    buyer = UserFactory(password=PASSWORD)
    _log_in(page, base, buyer.email)

    # 1. The playground: prefilled from the sample, run for free through the gateway.
    page.goto(f"{base}/models/{iris.slug}/")
    expect(page.locator('input[name="in-FEATURES-0"]')).to_have_value("5.1")
    expect(page.locator("#playground-free")).to_have_text("5 of 5 free runs left today")
    page.get_by_role("button", name="Run", exact=True).click()
    result = page.locator("#playground-result")
    expect(result.locator(".prob-bars li")).to_have_count(3)
    expect(result.locator(".prob-bars li.top .prob-label")).to_have_text("setosa")
    expect(result.locator("[data-node]")).to_have_text(f"#{node.pk}")
    expect(result.locator("[data-charge]")).to_contain_text("$0.00")
    expect(page.locator("#playground-free")).to_have_text("4 of 5 free runs left today")
    page.screenshot(path=str(artifacts_dir / "inference-journey-playground.png"), full_page=True)

    # 2. Buy $10.00 of per-inference credit by card.
    page.get_by_role("link", name="Buy credit").click()
    expect(page).to_have_url(re.compile(rf"/checkout/{plan.pk}/$"))
    page.get_by_label("Card (US dollars)").check()
    page.get_by_label("Prepaid credit (US dollars)").fill("10.00")
    page.get_by_role("button", name="Review the charge").click()
    expect(page.locator("#quote-list")).to_have_text("$10.00")
    page.get_by_role("button", name=re.compile(r"^Confirm and pay")).click()
    expect(page).to_have_url(re.compile(r"/orders/\d+/$"))
    order = Order.objects.get(pk=int(page.url.rstrip("/").rsplit("/", 1)[1]))
    total = page.locator("#order-total").inner_text().split(" ")[0]
    _pay_by_card(page, total)
    _wait_paid(order)
    # The order page reloads itself once the money arrives: let it, before leaving it.
    expect(page.locator("#order-paid")).to_be_visible(timeout=POLL_TIMEOUT)
    page.wait_for_load_state("networkidle")

    # 3. Call it with an API key (the inference scope), over HTTP, like any client.
    secret = account_services.api_key_create(user=buyer, name="journey", scopes=["inference"]).secret
    request = urllib.request.Request(
        f"{base}/api/v1/inference/{iris.slug}",
        data=json.dumps(
            {
                "inputs": [
                    {"name": "FEATURES", "datatype": "FP32", "shape": [1, 4], "data": [6.7, 3.0, 5.2, 2.3]}
                ]
            }
        ).encode(),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # the live server
        answer = json.load(response)
    assert int(answer["charge"]["amount"]) > 0
    assert answer["outputs"][1]["data"] == [2]  # virginica

    # 4. The usage page counts both calls and the spend of the paid one.
    page.goto(f"{base}/usage/")
    row = page.locator(f'#usage-table tr[data-listing="{iris.slug}"]')
    expect(row.locator("[data-calls]")).to_have_text("2")
    expect(row.locator("[data-spend]")).not_to_have_text("$0.00")
    expect(page.locator('[data-total="calls"]')).to_have_text("2")
    page.screenshot(path=str(artifacts_dir / "inference-journey-usage.png"), full_page=True)
    assert answer["node"] == str(node.pk)
