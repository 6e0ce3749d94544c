"""A buyer's inference journey in Chromium (issue 17, "How it is checked"): run the playground of a
hosted model for free, buy per-inference credit by card, call the model with an API key, and see
the usage page move.

Real: the live server, PostgreSQL, Redis, the gateway (entitlement, metering, settlement), a real
Triton (the session's PyTriton server running the iris model), Stripe.js and the charge
(localstripe). Stood in: compute's router, by the gateway tests' `DirectTritonBackend` (one node,
tritonclient to the same real Triton, no retries; tests/compute/gateway/backend.py) until compute's
router lands; the journey does not depend on which one routes.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tritonclient.http as httpclient
from playwright.sync_api import Page, expect

from accounts import services as account_services
from compute.services.gateway_backend import gateway_backend_set
from marketplace.hosted_demo import IRIS
from marketplace.models import Order, OrderStatus, PlanKind
from tests.accounts.factories import UserFactory
from tests.compute.gateway.backend import DirectTritonBackend
from tests.compute.pages.conftest import hosted_listing
from tests.e2e.test_storefront_journeys import _pay_by_card, card_payments  # noqa: F401
from tests.e2e.test_top_up import PASSWORD, POLL_TIMEOUT, _log_in
from tests.marketplace.factories import PlanFactory
from tests.tokenomics.stripe.conftest import _stripe_is_localstripe, localstripe  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


class PerThreadTritonBackend(DirectTritonBackend):
    """The live server answers each request in its own thread, and tritonclient's HTTP client is
    bound to the thread (gevent) that first used it: one client per thread."""

    def __init__(self, *, address: str, node_id: int, provider_id: int | None) -> None:
        super().__init__(address=address, node_id=node_id, provider_id=provider_id)
        self._address = address
        self._local = threading.local()

    @property  # type: ignore[override]
    def client(self) -> Any:
        if not hasattr(self._local, "client"):
            self._local.client = httpclient.InferenceServerClient(url=self._address)
        return self._local.client

    @client.setter
    def client(self, value: Any) -> None:  # the parent's constructor sets one; each thread makes its own
        pass


@pytest.fixture
def routed_to_triton(pytriton_server: Any) -> Iterator[DirectTritonBackend]:
    provider = UserFactory()
    backend = PerThreadTritonBackend(address=pytriton_server.http_address, node_id=7, provider_id=provider.pk)
    previous = gateway_backend_set(backend)
    yield backend
    gateway_backend_set(previous)


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
    routed_to_triton: DirectTritonBackend,
    card_payments: None,  # noqa: F811
    artifacts_dir: Path,
) -> None:
    base = live_server.url
    iris = hosted_listing(IRIS, slug="iris-journey")
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
    expect(result.locator("[data-node]")).to_have_text("#7")
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
    assert routed_to_triton.calls == 2
