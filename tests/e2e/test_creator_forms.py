"""The creator's listing page in Chromium, as shipped (htmx and static/js/creator_forms.js).

The page is long (details with the model card, versions, plans), so each form answers with its own
section: a refused plan shows its error next to the field without reloading the page or losing the
scroll position, a subscription saves on the first try, a failed upload keeps the chosen file, and
an upload shows its progress with the button disabled. Without JavaScript the same forms still
work, the reloaded page opening at the first error, focused, and a success at the form's section.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from marketplace.models import Listing, ListingVersion, Plan, PlanKind
from marketplace.services import listings as svc
from tests.accounts.factories import UserFactory
from tests.e2e.test_top_up import PASSWORD, _log_in
from tests.marketplace.factories import CategoryFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

TENSORS = [{"name": "INPUT_1", "datatype": "FP32", "shape": [-1, 4]}]
# A model card long enough that the plans sit well below the first screen, as on a real listing.
MODEL_CARD = "# Pet classifier\n\n" + "\n\n".join(f"## Section {n}\n\nSome text about it." for n in range(30))
# Every value the upload bar is set to, in window.__progress (it lives in #versions, swapped whole).
RECORD_PROGRESS_JS = """() => {
    window.__progress = [];
    const record = (changes) => changes.forEach((change) => {
        if (change.target.matches("form.version-form progress")) window.__progress.push(change.target.value);
    });
    new MutationObserver(record).observe(
        document.getElementById("versions").parentNode,
        {attributes: true, subtree: true, attributeFilter: ["value"]},
    );
}"""


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def js_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


@pytest.fixture
def draft() -> Listing:
    creator = UserFactory(password=PASSWORD)
    return svc.listing_create(
        creator=creator,
        title="Pet classifier",
        summary="Tells cats from dogs.",
        category=CategoryFactory(name="Vision", slug="vision"),
        task="image_classification",
        size="small",
        model_card=MODEL_CARD,
    )


def _open(page: Page, base: str, listing: Listing) -> None:
    _log_in(page, base, listing.creator.email)
    page.goto(f"{base}/creator/listings/{listing.slug}/")
    # Survives an htmx swap, not a page load: tells the two apart.
    page.evaluate("window.__samePage = true")


def _in_sight(page: Page, selector: str) -> None:
    """`selector` is on screen: inside the viewport and not under the sticky header."""
    expect(page.locator(selector)).to_be_in_viewport()
    box = page.locator(selector).bounding_box()
    header = page.locator("header.site-header").bounding_box()
    assert box is not None
    assert header is not None
    assert box["y"] >= header["y"] + header["height"], (box, header)
    assert box["y"] + box["height"] <= page.viewport_size["height"], box


def _same_page(page: Page) -> bool:
    return bool(page.evaluate("window.__samePage === true"))


def test_a_bad_plan_shows_its_error_in_place_and_a_subscription_saves_first_time(
    page: Page, live_server: Any, draft: Listing, js_errors: list[str], artifacts_dir: Path
) -> None:
    _open(page, live_server.url, draft)
    plans = page.locator("form.plan-form")
    plans.get_by_label("Subscription").check()
    # The interval is already chosen: monthly.
    expect(plans.get_by_label("Billing interval")).to_have_value("month")
    plans.get_by_label("Price (US dollars)").fill("9")
    plans.get_by_role("button", name="Add plan").click()

    # The error is next to the field, in the same page, which stays at the plans section.
    name_errors = page.locator("#plans .field-name .errorlist")
    expect(name_errors).to_have_text("This field is required.")
    assert _same_page(page)
    expect(plans.get_by_label("Name")).to_be_focused()
    _in_sight(page, "#plans .field-name")  # the label and the error, not only the input
    assert page.evaluate("window.scrollY") > 0
    expect(page.locator("#id_title")).not_to_be_in_viewport()  # not back at the top of the page
    # What was typed is kept.
    expect(plans.get_by_label("Subscription")).to_be_checked()
    expect(plans.get_by_label("Price (US dollars)")).to_have_value("9")
    page.screenshot(path=str(artifacts_dir / "creator-plan-error.png"))  # what the creator sees

    plans.get_by_label("Name").fill("Pro")
    plans.get_by_role("button", name="Add plan").click()
    expect(page.locator("#plans .section-messages")).to_have_text("Plan “Pro” added.")
    row = page.locator("#plan-table tbody tr").first
    expect(row).to_contain_text("Pro")
    expect(row).to_contain_text("$9.00 / month")
    assert _same_page(page)
    _in_sight(page, "#plans .section-messages")
    # The publishing checklist at the top followed the change (swapped out of band).
    expect(page.locator("#publish-problems")).to_contain_text("needs a version with an uploaded model file")
    expect(page.locator("#publish-problems")).not_to_contain_text("Add at least one active plan")
    plan = Plan.objects.get(listing=draft)
    assert (plan.kind, plan.interval, plan.price_cents) == (PlanKind.SUBSCRIPTION, "month", 900)
    assert js_errors == []


def test_a_failed_upload_keeps_the_file_and_an_upload_shows_its_progress(
    page: Page, live_server: Any, draft: Listing, js_errors: list[str], artifacts_dir: Path
) -> None:
    model_file = b"PETS-ONNX" + bytes(range(256)) * 4096  # 1 MiB
    _open(page, live_server.url, draft)
    versions = page.locator("form.version-form")
    versions.get_by_label("Version").fill("1.0.0")
    versions.get_by_label("Changelog").fill("First release.")
    versions.get_by_label("Model file").set_input_files(
        {"name": "pets.onnx", "mimeType": "application/octet-stream", "buffer": model_file}
    )
    versions.get_by_label("Input tensors").fill("[not json")
    versions.get_by_role("button", name="Upload version").click()
    expect(page.locator("#versions .field-input_spec .errorlist")).to_contain_text("Enter valid JSON")
    assert _same_page(page)
    expect(versions.get_by_label("Input tensors")).to_be_focused()
    _in_sight(page, "#versions .field-input_spec")
    # Every input is kept, the chosen file included (no need to choose it again).
    expect(versions.get_by_label("Version")).to_have_value("1.0.0")
    expect(versions.get_by_label("Changelog")).to_have_value("First release.")
    assert versions.get_by_label("Model file").evaluate("input => input.files[0] && input.files[0].name") == (
        "pets.onnx"
    )
    expect(page.locator("#artefact-again")).to_have_count(0)

    # The upload is held at the browser's edge until the bar has been seen, so that the check does
    # not race a local upload, then sent at 1 MB/s (Chromium's own network throttling), as over a
    # real link, so that it reports progress on the way; every value the bar is set to is recorded.
    held: list[Route] = []
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 1_000_000},
    )
    page.route("**/versions/", lambda route: held.append(route))
    page.evaluate(RECORD_PROGRESS_JS)
    versions.get_by_label("Input tensors").fill(json.dumps(TENSORS))
    versions.get_by_label("Output tensors").fill(json.dumps(TENSORS).replace("INPUT", "OUTPUT"))
    versions.get_by_label("Triton model name").fill("pets")
    button = versions.get_by_role("button", name="Upload version")
    button.click()
    bar = page.locator("#versions [data-upload-bar]")
    expect(bar).to_be_visible()
    expect(bar.locator("progress")).to_be_visible()
    expect(bar).to_contain_text("Uploading…")
    expect(button).to_be_disabled()
    page.screenshot(path=str(artifacts_dir / "creator-upload-progress.png"))
    for _ in range(100):  # the route handler runs as Playwright's messages arrive
        if held:
            break
        page.wait_for_timeout(100)
    assert len(held) == 1
    assert held[0].request.method == "POST"
    held[0].continue_()

    expect(page.locator("#versions .section-messages")).to_have_text("Version 1.0.0 uploaded.")
    row = page.locator("#version-table tbody tr").first
    expect(row).to_contain_text("pets.onnx")
    expect(row).to_contain_text("1.0 MB")
    assert _same_page(page)
    progress = page.evaluate("window.__progress")
    assert max(progress) == 100  # filled as the file went, through values on the way
    assert [value for value in progress if 0 < value < 100], progress
    # A fresh form: empty, the bar hidden again, the button back.
    expect(page.locator("#versions [data-upload-bar]")).to_be_hidden()
    expect(versions.get_by_label("Version")).to_have_value("")
    expect(versions.get_by_role("button", name="Upload version")).to_be_enabled()
    version = ListingVersion.objects.get(listing=draft)
    assert version.artefact_size == len(model_file)
    assert js_errors == []


def test_without_javascript_the_page_reloads_at_the_first_error_focused(
    browser: Browser, live_server: Any, draft: Listing
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, java_script_enabled=False)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        base = live_server.url
        page.goto(f"{base}/accounts/login/")
        page.get_by_label("Email").fill(draft.creator.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign In").click()
        page.goto(f"{base}/creator/listings/{draft.slug}/")

        plans = page.locator("form.plan-form")
        plans.get_by_label("Name").fill("Pro")
        plans.get_by_label("Price (US dollars)").fill("twelve")
        plans.get_by_role("button", name="Add plan").click()
        page.wait_for_url(f"{base}/creator/listings/{draft.slug}/plans/")
        expect(page.locator("#plans .field-price .errorlist")).to_contain_text("Enter a number of US dollars")
        expect(plans.get_by_label("Price (US dollars)")).to_be_focused()
        _in_sight(page, "#plans .field-price")
        expect(plans.get_by_label("Name")).to_have_value("Pro")
        assert page.evaluate("window.scrollY") > 0

        # Fixed, it saves and the page opens at the plans section.
        plans.get_by_label("Price (US dollars)").fill("12")
        plans.get_by_role("button", name="Add plan").click()
        page.wait_for_url(f"{base}/creator/listings/{draft.slug}/#plans")
        expect(page.locator("#plan-table")).to_contain_text("$12.00")
        expect(page.locator("#plans-title")).to_be_in_viewport()

        versions = page.locator("form.version-form")
        versions.get_by_label("Version").fill("one")
        versions.get_by_label("Model file").set_input_files(
            {"name": "pets.onnx", "mimeType": "application/octet-stream", "buffer": b"weights"}
        )
        versions.get_by_role("button", name="Upload version").click()
        page.wait_for_url(f"{base}/creator/listings/{draft.slug}/versions/")
        expect(page.locator("#artefact-again")).to_contain_text("Choose the model file again")
        expect(versions.get_by_label("Version")).to_be_focused()
        expect(versions.get_by_label("Version")).to_have_value("one")
    finally:
        context.close()
    assert Plan.objects.get(listing=draft).price_cents == 1_200
    assert not ListingVersion.objects.exists()
