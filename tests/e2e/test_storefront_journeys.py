"""The storefront's journeys in Chromium, against the live server and a real localstripe.

1. A buyer searches the catalog (htmx), compares two models, buys one outright by card, follows the
   payment live, downloads the model (the bytes are the creator's file) and reviews it.
2. A buyer subscribes by card and cancels at once: the unused days come back to the card, pro rata.
3. A creator lists a model (version upload, two plans, publish), sees it in the storefront, and
   sees the dashboard's earnings move once a buyer has paid and downloaded it.

The parts outside Agora are the real stand-ins as shipped: the page loads localstripe's Stripe.js
(nothing injected or rewritten) and the buyer types the test card into its element; localstripe
delivers its own signed webhooks back to the live server. localstripe's stand-in declares a global
`class Element` that hides the DOM's from htmx, so on an unpaid card order the page's own script
follows the payment (pay.js polls without htmx). Every journey that moves money ends with the
ledger verifying.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, expect

from marketplace.models import (
    Listing,
    ListingStatus,
    Order,
    OrderStatus,
    Plan,
    PlanKind,
    Subscription,
    SubscriptionStatus,
    TaskType,
)
from marketplace.selectors.orders import order_get_for_buyer
from marketplace.services.listings import listing_pricing_refresh
from marketplace.services.orders import order_create
from marketplace.services.reviews import review_upsert
from tests.accounts.factories import UserFactory
from tests.e2e.test_top_up import PASSWORD, POLL_TIMEOUT, _log_in, _webhooks_to, fill_card
from tests.marketplace.commerce import ARTEFACT, versioned
from tests.marketplace.factories import CategoryFactory, ListingFactory, PlanFactory
from tests.tokenomics.stripe.conftest import (  # noqa: F401
    CARD_DECLINED,
    SECRET_NEW,
    WEBHOOK_PATH,
    LocalStripe,
    _stripe_is_localstripe,
    body_of,
    localstripe,
    make_event,
    signature,
)
from tokenomics.models import StripeCustomer, StripeSubscription
from tokenomics.models.ledger import AccountKind
from tokenomics.models.rails import PaymentRefund
from tokenomics.money import format_amount
from tokenomics.selectors.ledger import ledger_verify
from tokenomics.services.wallet import deposit_post

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

MONEY_RE = re.compile(r"\$\d[\d,]*\.\d\d")


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Path) -> None:
    # Uploaded and seeded artefacts go to a throwaway media root (as in tests/marketplace).
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def card_payments(page: Page, live_server: Any, localstripe: LocalStripe, settings: Any) -> Iterator[None]:  # noqa: F811
    """The order page's card form works (Stripe.js is localstripe's stand-in, its confirmation
    charges at localstripe) and localstripe delivers its signed webhooks to the live server."""
    _card_form_in(page, localstripe, settings)
    with _webhooks_to(localstripe, live_server.url + WEBHOOK_PATH):
        yield


@pytest.fixture
def js_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def _card_form_in(page: Page, localstripe: LocalStripe, settings: Any) -> None:  # noqa: F811
    """The pages load localstripe's own Stripe.js, as `make demo` serves it."""
    settings.STRIPE_JS_URL = f"{localstripe.url}/js.stripe.com/v3/"


# ----------------------------------------------------------------------------- helpers


def _money(cents: int) -> str:
    return format_amount(amount=cents, asset="USD")


def _screenshot(page: Page, path: Path) -> None:
    # Sticky header: a full-page capture of a scrolled page paints it mid-image (see test_browser_journey).
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)


def _flash(page: Page, text: str) -> None:
    expect(page.locator("#messages")).to_contain_text(text)


def _section_notice(page: Page, section: str, text: str) -> None:
    """The outcome of a form of the creator's manage page, shown in its own section (htmx)."""
    expect(page.locator(f"#{section} .section-messages")).to_contain_text(text)


def _pay_by_card(page: Page, total: str) -> None:
    """Type the test card the page names into the order page's card element and press Pay."""
    expect(page.locator("#card-test-mode")).to_contain_text("4242 4242 4242 4242")
    fill_card(page)
    page.get_by_role("button", name=f"Pay {total}", exact=True).click()


def _checkout_by_card(page: Page, *, list_price: str, total: str) -> Order:
    """From the checkout page: choose card, check the review, confirm; returns the new order."""
    expect(page.get_by_role("heading", name="Checkout", exact=True)).to_be_visible()
    page.get_by_label("Card (US dollars)").check()
    page.get_by_role("button", name="Review the charge").click()
    expect(page.locator("#quote-list")).to_have_text(list_price)
    expect(page.locator("#quote-total")).to_contain_text(f"{total} by card")
    assert "/review/" not in page.url  # the review was swapped in by htmx
    page.get_by_role("button", name=f"Confirm and pay {total}").click()
    expect(page).to_have_url(re.compile(r"/orders/\d+/$"))
    order = Order.objects.get(pk=int(page.url.rstrip("/").rsplit("/", 1)[1]))
    expect(page.locator("#order-total")).to_have_text(f"{total} by card")
    expect(page.locator("#order-waiting")).to_be_visible()
    return order


def _new_page(browser: Browser) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    return context, context.new_page()


def _on_sale(
    creator: Any,
    *,
    title: str,
    slug: str,
    summary: str,
    task: str,
    category: Any,
    plans: list[dict[str, Any]],
    content: bytes = ARTEFACT,
) -> list[Plan]:
    """A published listing with a downloadable version and `plans`, its prices indexed for cards."""
    listing = ListingFactory(
        creator=creator, title=title, slug=slug, summary=summary, task=task, category=category
    )
    versioned(listing, content=content)
    made = [PlanFactory(listing=listing, **plan) for plan in plans]
    listing_pricing_refresh(listing_id=listing.pk)
    return made


def _paid_at_localstripe(order: Order, localstripe: LocalStripe) -> Order:  # noqa: F811
    """Charge the order's PaymentIntent at localstripe as Stripe.js would, then wait for
    localstripe's signed webhook to reach the live server and fulfil the order."""
    assert order.payment is not None
    assert localstripe.pay(order.payment.stripe_payment_intent_id)["status"] == "succeeded"
    deadline = time.monotonic() + POLL_TIMEOUT / 1000
    while order.status == OrderStatus.AWAITING_PAYMENT:
        assert time.monotonic() < deadline, f"no webhook fulfilled order {order.pk}"
        time.sleep(0.2)
        order.refresh_from_db()
    return order


def _ledger_ok() -> None:
    report = ledger_verify()
    assert report.ok, f"ledger invariants broken: {report}"


# ----------------------------------------------------------------------------- journey 1


def test_search_compare_buy_by_card_download_and_review(
    page: Page,
    live_server: Any,
    localstripe: LocalStripe,  # noqa: F811
    card_payments: None,
    js_errors: list[str],
    artifacts_dir: Path,
) -> None:
    base = live_server.url
    creator = UserFactory()
    nlp = CategoryFactory(name="Natural language", slug="natural-language")
    speech = CategoryFactory(name="Speech", slug="speech")
    weights = b"sentiment-sonnet weights\x00\x01" * 2_000
    (sonnet,) = _on_sale(
        creator,
        title="Sentiment Sonnet",
        slug="sentiment-sonnet",
        summary="Reads the sentiment of product reviews in 12 languages.",
        task=TaskType.TEXT_CLASSIFICATION,
        category=nlp,
        plans=[{"kind": PlanKind.ONE_TIME, "name": "Perpetual", "price_cents": 4_900, "download_limit": 5}],
        content=weights,
    )
    _on_sale(
        creator,
        title="Sentiment Lite",
        slug="sentiment-lite",
        summary="A tiny sentiment classifier for the edge.",
        task=TaskType.TEXT_CLASSIFICATION,
        category=nlp,
        plans=[{"kind": PlanKind.ONE_TIME, "name": "Perpetual", "price_cents": 1_900}],
    )
    _on_sale(
        creator,
        title="Whisper Tiny",
        slug="whisper-tiny",
        summary="Speech to text, small and fast.",
        task=TaskType.TEXT_GENERATION,
        category=speech,
        plans=[{"kind": PlanKind.SUBSCRIPTION, "name": "Basic", "price_cents": 1_000, "interval": "month"}],
    )
    _on_sale(
        creator,
        title="Translate Base",
        slug="translate-base",
        summary="English to French translation.",
        task=TaskType.TRANSLATION,
        category=nlp,
        plans=[{"kind": PlanKind.ONE_TIME, "name": "Perpetual", "price_cents": 2_900}],
    )
    # An earlier buyer paid by card (charged at localstripe, its webhook delivered to the live
    # server) and gave three stars.
    earlier = UserFactory()
    _paid_at_localstripe(order_create(buyer=earlier, plan_id=sonnet.pk, rail="card").order, localstripe)
    review_upsert(buyer=earlier, listing=sonnet.listing, rating=3, title="Decent")
    buyer = UserFactory(password=PASSWORD)

    _log_in(page, base, buyer.email)

    # Search: typing updates the results in place (htmx), no page load.
    page.goto(f"{base}/models/")
    results = page.locator("#results")
    expect(results.locator(".results-count")).to_have_text("4 models")
    page.evaluate("window.__same_page = true")
    page.get_by_label("Search models").fill("sentiment")
    expect(results.locator(".results-count")).to_have_text("2 models for “sentiment”")
    expect(results.get_by_role("link", name="Sentiment Sonnet")).to_be_visible()
    expect(results.get_by_role("link", name="Sentiment Lite")).to_be_visible()
    expect(results.get_by_role("link", name="Whisper Tiny")).to_have_count(0)
    expect(results.get_by_role("link", name="Translate Base")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/models/\?.*q=sentiment"))  # pushed, for back and sharing
    assert page.evaluate("window.__same_page") is True
    sonnet_card = results.locator("article", has=page.get_by_role("link", name="Sentiment Sonnet"))
    expect(sonnet_card).to_contain_text("★ 3.0 (1)")
    expect(sonnet_card).to_contain_text("from $49.00")

    # Compare: add both results from their pages (htmx), then open the comparison.
    results.get_by_role("link", name="Sentiment Lite").click()
    expect(page.get_by_role("heading", name="Sentiment Lite", level=1)).to_be_visible()
    page.evaluate("window.__same_page = true")
    page.get_by_role("button", name="+ Add to compare").click()
    expect(page.get_by_role("button", name="✓ In comparison — remove")).to_be_visible()
    expect(page.get_by_role("link", name="Compare 1 model →")).to_be_visible()
    assert page.evaluate("window.__same_page") is True  # swapped in place by htmx
    page.go_back()
    expect(results.locator(".results-count")).to_have_text("2 models for “sentiment”")
    results.get_by_role("link", name="Sentiment Sonnet").click()
    expect(page.get_by_role("heading", name="Sentiment Sonnet", level=1)).to_be_visible()
    page.get_by_role("button", name="+ Add to compare").click()
    page.get_by_role("link", name="Compare 2 models →").click()
    expect(page).to_have_url(f"{base}/models/compare/")
    table = page.locator("#compare-table table.compare")
    expect(table.locator("thead th a")).to_have_text(["Sentiment Lite", "Sentiment Sonnet"])
    expect(table.locator("tr", has_text="One-time purchase").locator("td")).to_have_text(
        ["$19.00 one-time", "$49.00 one-time"]
    )
    expect(table.locator("tr", has=page.get_by_role("rowheader", name="Rating")).locator("td")).to_have_text(
        ["No reviews", "★ 3.0 (1)"]
    )

    # Buy Sentiment Sonnet's one-time plan by card.
    table.get_by_role("link", name="Sentiment Sonnet").click()
    page.locator(f"#plan-{sonnet.pk}").get_by_role("link", name="Buy").click()
    expect(page.locator("#plan-summary")).to_contain_text("Perpetual")
    expect(page.locator("#plan-summary")).to_contain_text("$49.00")
    order = _checkout_by_card(page, list_price="$49.00", total="$49.00")
    _pay_by_card(page, "$49.00")
    # Followed live: the status poll sees the webhook's credit and reloads the page.
    expect(page.locator("#order-paid")).to_contain_text("held in escrow", timeout=POLL_TIMEOUT)
    expect(page.locator(".page-head .order-badge")).to_have_text("Paid, held in escrow")
    expect(page.locator("#card-element")).to_have_count(0)
    license_panel = page.locator("#license-panel")
    expect(license_panel.get_by_role("heading")).to_have_text("License for version 1.0.0")
    expect(license_panel.locator("#downloads-left")).to_have_text("Downloads left: 5 of 5")
    expect(page.locator("#refund-box")).to_be_visible()

    # Download: the decrypted bytes are the creator's file; the first download releases escrow.
    with page.expect_download() as download_info:
        license_panel.get_by_role("button", name="Download model.onnx").click()
    download = download_info.value
    assert download.suggested_filename == "model.onnx"
    assert Path(download.path()).read_bytes() == weights
    page.reload()
    expect(page.locator(".page-head .order-badge")).to_have_text("Released to the creator")
    expect(page.locator("#downloads-left")).to_have_text("Downloads left: 4 of 5")
    expect(page.locator("#refund-box")).to_have_count(0)
    order.refresh_from_db()
    assert order.status == OrderStatus.RELEASED

    # Review it: five stars through the form (htmx); the average moves from 3 to 4.
    page.goto(f"{base}/models/sentiment-sonnet/")
    reviews = page.locator("#reviews")
    expect(reviews.locator("[data-rating-average]")).to_have_text("3.00")
    expect(reviews.locator("[data-rating-count]")).to_have_text("1 review")
    expect(reviews.get_by_role("heading", name="Review this model")).to_be_visible()
    reviews.get_by_label("5 stars", exact=True).check()
    reviews.get_by_label("Title").fill("Exactly what we needed")
    reviews.get_by_label("Your review").fill("Accurate on our German reviews too.")
    reviews.get_by_role("button", name="Publish review").click()
    expect(reviews.get_by_role("status")).to_have_text("Thank you: your review is published.")
    expect(reviews.locator("[data-rating-average]")).to_have_text("4.00")
    expect(reviews.locator("[data-rating-count]")).to_have_text("2 reviews")
    expect(reviews.locator('td[data-stars="5"]')).to_have_text("1")
    expect(reviews.locator('td[data-stars="3"]')).to_have_text("1")
    newest = reviews.locator("ol.review-list > li").first
    expect(newest).to_contain_text("Exactly what we needed")
    expect(newest).to_contain_text("Accurate on our German reviews too.")
    expect(newest).to_contain_text(f"{buyer.public_name} · verified buyer")
    expect(reviews.get_by_role("heading", name="Edit your review")).to_be_visible()
    page.reload()
    expect(page.locator(".page-head .rating")).to_have_text("★ 4.0 from 2 reviews")

    _screenshot(page, artifacts_dir / "storefront-buy-download-review.png")
    sonnet.listing.refresh_from_db()
    assert (sonnet.listing.rating_count, str(sonnet.listing.rating_average)) == (2, "4.00")
    assert js_errors == []
    _ledger_ok()


# ----------------------------------------------------------------------------- journey 2


def test_subscribe_by_card_then_cancel_now_with_prorated_refund(
    page: Page,
    live_server: Any,
    localstripe: LocalStripe,  # noqa: F811
    card_payments: None,
    js_errors: list[str],
    artifacts_dir: Path,
) -> None:
    base = live_server.url
    (plan,) = _on_sale(
        UserFactory(),
        title="Whisper Pro",
        slug="whisper-pro",
        summary="Speech to text with speaker labels.",
        task=TaskType.TEXT_GENERATION,
        category=CategoryFactory(name="Speech", slug="speech"),
        plans=[
            {"kind": PlanKind.SUBSCRIPTION, "name": "Pro monthly", "price_cents": 3_000, "interval": "month"}
        ],
    )
    buyer = UserFactory(password=PASSWORD)

    _log_in(page, base, buyer.email)
    page.goto(f"{base}/models/whisper-pro/")
    plan_box = page.locator(f"#plan-{plan.pk}")
    expect(plan_box.locator(".plan-price")).to_have_text("$30.00 / month")
    plan_box.get_by_role("link", name="Subscribe").click()
    expect(page.locator("#plan-summary")).to_contain_text("$30.00 / month")
    order = _checkout_by_card(page, list_price="$30.00", total="$30.00")
    _pay_by_card(page, "$30.00")

    panel = page.locator("#subscription-panel")
    expect(panel).to_be_visible(timeout=POLL_TIMEOUT)
    expect(panel.locator(".badge")).to_have_text("Active")
    expect(page.locator("#order-paid")).to_contain_text("held in escrow")
    preview_line = panel.get_by_text("Cancelling now refunds the unused days")
    expect(preview_line).to_have_text(re.compile(r": \$29\.\d\d today\.$"))  # nearly the whole month
    preview = MONEY_RE.search(preview_line.inner_text())
    assert preview is not None

    # Cancel now: the confirmation shows the refund first.
    panel.get_by_role("link", name="Cancel subscription").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel your subscription to Whisper Pro")
    expect(page.locator("#cancel-refund strong")).to_have_text(preview.group(0))
    expect(page.get_by_label("Now, with the unused days refunded")).to_be_checked()
    page.get_by_role("button", name="Cancel subscription", exact=True).click()

    # Back on the order page: what came back, and the subscription is over.
    expect(page).to_have_url(f"{base}/orders/{order.pk}/")
    _flash(page, "Your subscription is canceled; the unused days go back the way you paid.")
    refunded_text = page.locator("#order-refunded").inner_text()
    expect(panel.locator(".badge")).to_have_text("Canceled")
    expect(panel.get_by_role("link", name="Cancel subscription")).to_have_count(0)
    expect(page.locator(".page-head .order-badge")).to_have_text("Released to the creator")

    # The figure shown is the refund recorded, at Agora and at localstripe.
    seen = order_get_for_buyer(buyer=buyer, order_id=order.pk)
    refunded = int(seen.refunded_amount)
    assert refunded_text == _money(refunded)
    assert 2_900 < refunded < 3_000, refunded  # pro rata: seconds of a 30-day period used
    assert seen.status == OrderStatus.RELEASED  # the used seconds went to the creator
    assert seen.payment is not None
    intent_id = seen.payment.stripe_payment_intent_id
    at_stripe = localstripe.refunds_for(intent_id)
    assert [(r["amount"], r["status"]) for r in at_stripe] == [(refunded, "succeeded")]
    recorded = PaymentRefund.objects.get(payment=seen.payment)
    assert (int(recorded.amount), recorded.status) == (refunded, PaymentRefund.Status.SUCCEEDED)
    subscription = Subscription.objects.get(buyer=buyer)
    assert subscription.status == SubscriptionStatus.CANCELED

    # The library agrees.
    page.locator("header.site-header").get_by_role("link", name="Library").click()
    panel = page.locator("#library-panel")
    panel.get_by_role("link", name="Subscriptions").click()
    row = page.locator("#library-subscriptions tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator(".badge")).to_have_text("Canceled")
    expect(row.get_by_role("link", name="Cancel")).to_have_count(0)
    page.locator("#library-panel").get_by_role("link", name="Refunds and disputes").click()
    expect(page.locator("#library-refunds tbody tr td.num")).to_have_text(["$30.00", refunded_text])

    _screenshot(page, artifacts_dir / "storefront-subscription-canceled.png")
    assert js_errors == []
    _ledger_ok()


# ----------------------------------------------------------------------------- journey 3

TENSORS_IN = [{"name": "INPUT_1", "datatype": "FP32", "shape": [-1, 3, 224, 224]}]
TENSORS_OUT = [{"name": "OUTPUT_1", "datatype": "FP32", "shape": [-1, 2]}]


def _dashboard_figures(page: Page, base: str, slug: str) -> dict[str, str]:
    """The /creator/ figures this journey follows: the chart's totals, today's row of its data
    table, and the listing's USD row of the revenue table."""
    page.goto(f"{base}/creator/")
    chart = page.locator("#earnings-chart")
    chart.get_by_text("Show the figures as a table").click()
    today = timezone.localdate()
    day = chart.locator(
        "table.chart-data tbody tr",
        has=page.get_by_role("rowheader", name=f"{today.day} {today:%b}", exact=True),
    )
    expect(day).to_have_count(1)
    revenue = page.locator(f'#revenue-table tr[data-listing="{slug}"][data-asset="USD"]')
    expect(revenue).to_have_count(1)
    cells = revenue.locator("td")
    return {
        "gross": chart.locator('[data-total="gross"]').inner_text(),
        "earnings": chart.locator('[data-total="earnings"]').inner_text(),
        "today": " / ".join(day.locator("td").all_inner_texts()),
        "orders": cells.nth(0).inner_text(),
        "listing_gross": cells.nth(2).inner_text(),
        "listing_net": cells.nth(4).inner_text(),
    }


def test_creator_lists_publishes_and_sees_the_sale(
    page: Page,
    browser: Browser,
    live_server: Any,
    localstripe: LocalStripe,  # noqa: F811
    settings: Any,
    js_errors: list[str],
    artifacts_dir: Path,
) -> None:
    base = live_server.url
    CategoryFactory(name="Vision", slug="vision")
    creator = UserFactory(password=PASSWORD)
    buyer = UserFactory(password=PASSWORD)
    model_file = b"PETS-ONNX" + bytes(range(256)) * 40

    # A new listing: a draft, with the model card previewed live as it is typed.
    _log_in(page, base, creator.email)
    page.goto(f"{base}/creator/listings/new/")
    form = page.locator("form.listing-form")
    form.get_by_label("Title").fill("Pet classifier")
    form.get_by_label("Summary").fill("Tells cats from dogs in one forward pass.")
    form.get_by_label("Category").select_option(label="Vision")
    form.get_by_label("Task").select_option(TaskType.IMAGE_CLASSIFICATION.value)
    form.get_by_label("Tags").fill("vision, pets")
    form.get_by_label("Model card").fill("# Pet classifier\n\nA **ResNet-18** fine-tuned on pets.")
    expect(page.locator("#model-card-preview h1")).to_have_text("Pet classifier")
    expect(page.locator("#model-card-preview strong")).to_have_text("ResNet-18")
    form.get_by_role("button", name="Create draft").click()
    expect(page).to_have_url(re.compile(r"/creator/listings/[\w-]+/$"))
    _flash(page, "Draft created. Add a version and a plan, then publish it.")
    listing = Listing.objects.get(creator=creator)
    assert listing.status == ListingStatus.DRAFT
    expect(page.locator("#publish-problems")).to_contain_text("Add at least one active plan")

    # A version: the model file (encrypted at rest), its Triton name and tensor specs.
    versions = page.locator("form.version-form")
    versions.get_by_label("Version").fill("1.0.0")
    versions.get_by_label("Changelog").fill("First release.")
    versions.get_by_label("Model file").set_input_files(
        {"name": "pets.onnx", "mimeType": "application/octet-stream", "buffer": model_file}
    )
    versions.get_by_label("Triton model name").fill("pets_resnet18")
    versions.get_by_label("Input tensors").fill(json.dumps(TENSORS_IN))
    versions.get_by_label("Output tensors").fill(json.dumps(TENSORS_OUT))
    versions.get_by_role("button", name="Upload version").click()
    _section_notice(page, "versions", "Version 1.0.0 uploaded.")
    version_row = page.locator("#version-table tbody tr").first
    expect(version_row).to_contain_text("pets.onnx")
    expect(version_row).to_contain_text("encrypted")
    expect(version_row).to_contain_text("pets_resnet18")

    # Two plans: one-time and a monthly subscription (each kind shows its own fields).
    plans = page.locator("form.plan-form")
    plans.get_by_label("One-time purchase").check()
    expect(plans.get_by_label("Billing interval")).to_be_hidden()
    plans.get_by_label("Name").fill("Perpetual")
    plans.get_by_label("Price (US dollars)").fill("25.00")
    plans.get_by_label("Downloads per license").fill("3")
    plans.get_by_role("button", name="Add plan").click()
    _section_notice(page, "plans", "Plan “Perpetual” added.")
    plans = page.locator("form.plan-form")
    plans.get_by_label("Subscription").check()
    expect(plans.get_by_label("Downloads per license")).to_be_hidden()
    plans.get_by_label("Name").fill("Pro")
    plans.get_by_label("Price (US dollars)").fill("9.00")
    plans.get_by_label("Billing interval").select_option(label="Monthly")
    plans.get_by_label("Monthly inference quota").fill("1000")
    plans.get_by_role("button", name="Add plan").click()
    _section_notice(page, "plans", "Plan “Pro” added.")
    plan_rows = page.locator("#plan-table tbody tr")
    expect(plan_rows).to_have_count(2)
    expect(plan_rows.nth(0)).to_contain_text("Perpetual")
    expect(plan_rows.nth(0)).to_contain_text("$25.00")
    expect(plan_rows.nth(1)).to_contain_text("Pro")
    expect(plan_rows.nth(1)).to_contain_text("$9.00")

    # Publish; it is in the storefront, priced from its cheapest plan.
    expect(page.locator("#publishing")).to_contain_text("Ready: buyers will find it")
    page.locator("#publishing").get_by_role("button", name="Publish").click()
    _section_notice(page, "publishing", "“Pet classifier” is published.")
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PUBLISHED
    page.goto(f"{base}/models/")
    card = page.locator("#results article", has=page.get_by_role("link", name="Pet classifier"))
    expect(card).to_contain_text("from $9.00")
    expect(card).to_contain_text("Tells cats from dogs in one forward pass.")

    # The dashboard before any sale.
    before = _dashboard_figures(page, base, listing.slug)
    assert before == {
        "gross": "$0.00",
        "earnings": "$0.00",
        "today": "$0.00 / $0.00",
        "orders": "0",
        "listing_gross": "$0.00",
        "listing_net": "$0.00",
    }
    expect(page.locator("#tier-title .tier-badge")).to_have_text("Bronze")

    # A sale: the buyer's order is paid at localstripe, whose signed webhook reaches the live server;
    # the buyer's own browser follows the order page and downloads the model.
    perpetual = Plan.objects.get(listing=listing, kind=PlanKind.ONE_TIME)
    buyer_context, buyer_page = _new_page(browser)
    try:
        buyer_page.on("pageerror", lambda exc: js_errors.append(f"buyer: {exc}"))
        _card_form_in(buyer_page, localstripe, settings)
        with _webhooks_to(localstripe, live_server.url + WEBHOOK_PATH):
            order = order_create(buyer=buyer, plan_id=perpetual.pk, rail="card").order
            assert order.payment is not None
            _log_in(buyer_page, base, buyer.email)
            buyer_page.goto(f"{base}/orders/{order.pk}/")
            expect(buyer_page.locator("#order-waiting")).to_be_visible()
            # Charged at localstripe (as Stripe.js would); the page follows the webhook live.
            assert localstripe.pay(order.payment.stripe_payment_intent_id)["status"] == "succeeded"
            expect(buyer_page.locator("#license-panel")).to_be_visible(timeout=POLL_TIMEOUT)
            expect(buyer_page.locator("#order-paid")).to_contain_text("held in escrow")
        expect(buyer_page.locator("#downloads-left")).to_have_text("Downloads left: 3 of 3")
        with buyer_page.expect_download() as download_info:
            buyer_page.get_by_role("button", name="Download pets.onnx").click()
        assert Path(download_info.value.path()).read_bytes() == model_file
    finally:
        buyer_context.close()
    order.refresh_from_db()
    assert order.status == OrderStatus.RELEASED

    # The dashboard after: $25.00 gross, 80% of it earned at Bronze.
    after = _dashboard_figures(page, base, listing.slug)
    assert after == {
        "gross": "$25.00",
        "earnings": "$20.00",
        "today": "$25.00 / $20.00",
        "orders": "1",
        "listing_gross": "$25.00",
        "listing_net": "$25.00",
    }
    expect(page.locator('[data-payable="USD"]')).to_have_text("$20.00")
    expect(page.locator("#tier-title").locator("xpath=..")).to_contain_text("You keep 80% of each sale.")
    expect(page.locator("[data-net-sales]")).to_have_text("$25.00")

    _screenshot(page, artifacts_dir / "storefront-creator-dashboard.png")
    assert js_errors == []
    _ledger_ok()


# ----------------------------------------------------------------------------- journey 4


def test_a_buyer_pays_from_prepaid_balance_and_the_refund_returns_there(
    page: Page, live_server: Any, js_errors: list[str], artifacts_dir: Path
) -> None:
    """A buyer holding $60.00 of prepaid credit buys a $49.00 license from it: the same review step,
    no card form, the order in escrow at once; the refund puts the $49.00 back in the balance."""
    base = live_server.url
    (plan,) = _on_sale(
        UserFactory(),
        title="Balance Bard",
        slug="balance-bard",
        summary="Writes short poems.",
        task=TaskType.TEXT_GENERATION,
        category=CategoryFactory(name="Text", slug="text"),
        plans=[{"kind": PlanKind.ONE_TIME, "name": "Perpetual", "price_cents": 4_900}],
    )
    buyer = UserFactory(password=PASSWORD)
    deposit_post(
        user=buyer,
        asset="USD",
        amount=6_000,
        source_kind=AccountKind.EXTERNAL_STRIPE,
        idempotency_key="e2e-balance-fund",
        memo="Top-up",
        prepaid_bonus_applies=False,
    )

    _log_in(page, base, buyer.email)
    page.goto(f"{base}/checkout/{plan.pk}/")
    page.get_by_label("Prepaid balance ($60.00 available)").check()
    page.get_by_role("button", name="Review the charge").click()
    expect(page.locator("#quote-total")).to_contain_text("$49.00 from your prepaid balance")
    expect(page.locator("#quote-balance")).to_contain_text("$11.00 remains")
    assert not Order.objects.exists()  # the review moves no money
    page.get_by_role("button", name="Confirm and pay $49.00 from balance").click()

    expect(page).to_have_url(re.compile(r"/orders/\d+/$"))
    expect(page.locator("#order-total")).to_contain_text("$49.00 from your prepaid balance")
    expect(page.locator("#order-paid")).to_contain_text("held in escrow")
    expect(page.locator("#card-pay")).to_have_count(0)
    order = Order.objects.get()
    assert (order.status, order.payment_id) == (OrderStatus.IN_ESCROW, None)
    _screenshot(page, artifacts_dir / "storefront-paid-from-balance.png")

    page.get_by_role("link", name="Request a refund").click()
    expect(page.locator("#refund-amount")).to_contain_text("to your prepaid balance")
    page.locator("#confirm-refund").click()
    _flash(page, "Refunded.")
    page.goto(f"{base}/wallet/")
    expect(page.locator('.balance-amount[data-asset="USD"]')).to_have_text("$60.00")
    assert js_errors == []
    _ledger_ok()


# ----------------------------------------------------------------------------- journey 5


def test_a_card_subscription_renews_through_stripe_and_a_declined_renewal_shows_a_banner(
    page: Page,
    live_server: Any,
    localstripe: LocalStripe,  # noqa: F811
    card_payments: None,
    js_errors: list[str],
    artifacts_dir: Path,
) -> None:
    """Subscribe by card in the browser; Stripe then bills the renewals. localstripe has no billing
    clock, so the test plays it: it invoices the subscription and charges the card through
    localstripe's API, and localstripe delivers the invoice's events to the live server. The
    declined renewal's `invoice.payment_failed`, which localstripe never sends, is built around its
    real invoice and posted signed to the webhook."""
    base = live_server.url
    (plan,) = _on_sale(
        UserFactory(),
        title="Renewing Radio",
        slug="renewing-radio",
        summary="Transcribes radio, month after month.",
        task=TaskType.TEXT_GENERATION,
        category=CategoryFactory(name="Audio", slug="audio"),
        plans=[{"kind": PlanKind.SUBSCRIPTION, "name": "Monthly", "price_cents": 3_000, "interval": "month"}],
    )
    buyer = UserFactory(password=PASSWORD)
    localstripe.register_webhook(
        "agora-e2e-renewals", live_server.url + WEBHOOK_PATH, SECRET_NEW, events=["invoice.payment_succeeded"]
    )
    try:
        _log_in(page, base, buyer.email)
        page.goto(f"{base}/checkout/{plan.pk}/")
        _checkout_by_card(page, list_price="$30.00", total="$30.00")
        _pay_by_card(page, "$30.00")
        expect(page.locator("#subscription-panel .badge")).to_have_text("Active", timeout=POLL_TIMEOUT)

        sub = Subscription.objects.get(buyer=buyer)
        billing = StripeSubscription.objects.get(reference=f"subscription:{sub.pk}")
        assert billing.stripe_subscription_id  # Stripe bills the next periods
        first_end = sub.current_period_end
        customer = StripeCustomer.objects.get(user=buyer).stripe_customer_id

        # The period ends: Stripe invoices the subscription and charges the saved card.
        invoice = localstripe.client.v1.invoices.create(
            params={"customer": customer, "subscription": billing.stripe_subscription_id}
        )
        assert localstripe.client.v1.invoices.pay(invoice.id).status == "paid"
        deadline = time.monotonic() + POLL_TIMEOUT / 1000
        while Order.objects.filter(subscription=sub).count() < 2:
            assert time.monotonic() < deadline, "the paid renewal invoice never reached Agora"
            time.sleep(0.2)
        sub.refresh_from_db()
        assert sub.current_period_end == first_end + timedelta(days=30)
        page.goto(f"{base}/library/?tab=subscriptions")
        row = page.locator("#library-subscriptions tbody tr")
        expect(row).to_contain_text(f"{sub.current_period_end:%-d %b %Y}")

        # The next renewal is declined: the card on file now fails.
        declined = localstripe.card(CARD_DECLINED)
        localstripe.client.v1.payment_methods.attach(declined, params={"customer": customer})
        localstripe.client.v1.customers.update(
            customer, params={"invoice_settings": {"default_payment_method": declined}}
        )
        failed = localstripe.client.v1.invoices.create(
            params={"customer": customer, "subscription": billing.stripe_subscription_id}
        )
        failed = localstripe.client.v1.invoices.pay(failed.id)
        assert failed.status == "open"
        body = body_of(make_event("evt_e2e_renewal_declined", "invoice.payment_failed", failed.to_dict()))
        request = urllib.request.Request(
            live_server.url + WEBHOOK_PATH,
            data=body,
            headers={"Content-Type": "application/json", "Stripe-Signature": signature(body, SECRET_NEW)},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
        billing.refresh_from_db()
        assert billing.status == "past_due"

        page.goto(f"{base}/library/")
        banner = page.locator(f"#past-due-{sub.pk}")
        expect(banner).to_contain_text("Your card was declined for the renewal of Renewing Radio")
        _screenshot(page, artifacts_dir / "storefront-renewal-declined.png")
    finally:
        localstripe.register_webhook(
            "agora-e2e-renewals", live_server.url + WEBHOOK_PATH, SECRET_NEW, events=["agora.test.never"]
        )
    assert js_errors == []
    _ledger_ok()
