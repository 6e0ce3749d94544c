"""A provider watches the console in Chromium: the nodes card refreshes itself (htmx polling) when
a node serves a call, without a reload, and the earnings show the provider payable balance.

The served calls are written straight into the gateway's request log (compute's router, which
would route a real call to a registered node, is not on this branch yet); the page, htmx and the
selectors are the real ones."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from compute.models_gateway import Entitlement, InferenceRequest, Outcome, Via
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import ListingFactory
from tests.tokenomics.payout_factories import funded_payable
from tokenomics.models.ledger import AccountKind

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

PASSWORD = "correct-horse-battery-staple-42"


def _served(provider, node_id: int, latency_us: int) -> None:
    InferenceRequest.objects.create(
        request_id=uuid.uuid4(),
        user=UserFactory(),
        listing=ListingFactory(),
        entitlement=Entitlement.PREPAID,
        via=Via.API,
        node_id=node_id,
        provider=provider,
        outcome=Outcome.OK,
        latency_us=latency_us,
        created_at=timezone.now(),
    )


def test_provider_sees_calls_arrive_and_earnings(page: Page, live_server) -> None:
    provider = UserFactory(password=PASSWORD)
    funded_payable(user=provider, amount=4_200, kind=AccountKind.PROVIDER_PAYABLE)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(provider.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("link", name="Provider")).to_be_visible()

    page.get_by_role("link", name="Provider").click()
    expect(page.get_by_role("heading", name="Provider console")).to_be_visible()
    expect(page.locator("#nodes-empty")).to_contain_text("manage.py run_provider")
    expect(page.locator('[data-provider-payable="USD"]')).to_have_text("$42.00")

    _served(provider, 3, 4_000)
    _served(provider, 3, 6_000)

    row = page.locator('#nodes-table tr[data-node="3"]')
    expect(row).to_be_visible(timeout=15_000)  # the next poll (every 5 s) brings it in
    expect(row.locator("[data-calls]")).to_have_text("2")
    expect(row.locator("[data-p50]")).to_have_text("4.0 ms")
    expect(row.locator("[data-p99]")).to_have_text("6.0 ms")
    expect(page.locator("#nodes-empty")).to_have_count(0)
