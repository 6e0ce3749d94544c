"""In Chromium: a buyer submits a batch in the form, sees its progress bar at done and downloads
the results; a provider sees a slash with its evidence on the console and appeals it.

Celery runs eagerly beside the live server, so the job has run by the time the form redirects;
the page, the htmx card and the download are the real ones, and the items really go through the
gateway to a stub KServe node (a real HTTP server on loopback)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from compute.models import Node, NodeVersion
from compute.services import routing
from compute.services.gateway_impl import gateway_caches_clear
from compute.services.sla import provider_sla_evaluate
from tests.accounts.factories import UserFactory
from tests.compute.gateway.conftest import per_inference_plan
from tests.compute.sla.conftest import node_of, record_day, staked_provider
from tests.compute.stub_kserve import MODEL, StubNode
from tests.marketplace.factories import ListingFactory, VersionFactory
from tests.tokenomics.factories import funded_wallet

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

PASSWORD = "correct-horse-battery-staple-42"


def _login(page: Page, base: str, user) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("link", name="Provider")).to_be_visible()


def test_a_buyer_submits_a_batch_and_downloads_the_results(page: Page, live_server, tmp_path) -> None:
    gateway_caches_clear()
    routing.candidates_forget()
    listing = ListingFactory(slug="identity-e2e")
    version = VersionFactory(listing=listing, version="1.0.0", triton_model_name=MODEL)
    per_inference_plan(listing, price_per_1000_cents=500)
    stub = StubNode(mode="ok").start()
    try:
        node = Node.objects.create(
            provider=staked_provider(),  # only staked providers' nodes take paid traffic
            name="stub",
            triton_url=stub.url,
            healthy=True,
            last_probe_at=timezone.now(),
        )
        NodeVersion.objects.create(node=node, version=version, model_name=MODEL, ready=True)
        buyer = UserFactory(password=PASSWORD)
        funded_wallet(user=buyer, amount=5_000)
        _login(page, live_server.url, buyer)

        page.goto(f"{live_server.url}/batch-jobs/new/?listing=identity-e2e")
        lines = [
            json.dumps(
                {"inputs": [{"name": "INPUT_1", "datatype": "FP32", "shape": [1, 4], "data": [n, n, n, n]}]}
            )
            for n in range(6)
        ]
        page.get_by_label("Inputs, one JSON object a line").fill("\n".join(lines))
        page.get_by_role("button", name="Start batch").click()

        bar = page.locator("#batch-bar")
        expect(bar).to_have_attribute("max", "6")
        expect(bar).to_have_attribute("value", "6")
        expect(page.locator("#batch-progress")).to_have_attribute("data-state", "done")
        expect(page.locator("[data-done]")).to_have_text("6")
        expect(page.locator("[data-failed]")).to_have_text("0")
        with page.expect_download() as download_info:
            page.locator("#batch-results").click()
        path = tmp_path / "results.jsonl"
        download_info.value.save_as(path)
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        assert [row["state"] for row in rows] == ["done"] * 6
        assert rows[2]["outputs"][0]["data"] == [2.0, 2.0, 2.0, 2.0]
    finally:
        stub.stop()


def test_a_provider_sees_a_slash_with_its_evidence_and_appeals(page: Page, live_server) -> None:
    provider = staked_provider()
    provider.set_password(PASSWORD)
    provider.save()
    end = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    record_day(node_of(provider, name="gpu-west"), end=end, probes=200, probes_ok=180)
    slash = provider_sla_evaluate(provider=provider, end=end)
    assert slash is not None
    _login(page, live_server.url, provider)

    page.get_by_role("link", name="Provider").click()
    item = page.locator(f'[data-slash="{slash.pk}"]')
    expect(item).to_contain_text("SLA minor: availability")
    expect(item.locator("[data-evidence-availability]")).to_contain_text("180 of 200")
    expect(item.locator(".evidence-nodes")).to_contain_text("gpu-west")
    item.get_by_role("textbox").fill("A power cut at the data centre; here is the ticket.")
    item.get_by_role("button", name="Appeal this slash").click()
    expect(page.locator(f'[data-slash="{slash.pk}"] [data-appeal-state="open"]')).to_be_visible()
