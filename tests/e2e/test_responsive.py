"""Every page at a phone's width (390 px) and a laptop's (1280 px), as a visitor, a buyer and a
creator: nothing is wider than the screen (document scrollWidth <= viewport width), and on a
model page the Buy button is where the eye looks for it — in the first screen's right-hand column
at 1280 px, and on screen once the buyer scrolls to the plans at 390 px, ahead of the reviews.

The data is what makes pages wide in practice: a model card with a long "Call it" command and a
wide table, long names and emails, orders, a license, a subscription, wallet history with
references, reviews. Screenshots of each page go to test-artifacts/responsive/.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from accounts.models import User
from accounts.services import api_key_create
from marketplace.markdown import render_model_card
from marketplace.models import (
    Collection,
    CollectionItem,
    License,
    Listing,
    PlanKind,
    Subscription,
    SubscriptionStatus,
)
from marketplace.services.listings import listing_pricing_refresh
from marketplace.services.reviews import review_upsert
from marketplace.services.search import listing_search_index
from tests.accounts.factories import UserFactory
from tests.governance.conftest import BOND, economic_proposal
from tests.governance.factories import agr_credit
from tests.marketplace.factories import (
    CategoryFactory,
    ListingFactory,
    PlanFactory,
    VersionFactory,
    paid_order,
)
from tests.tokenomics.factories import funded_wallet
from tokenomics.models.ledger import AccountKind
from tokenomics.money import agr
from tokenomics.services.escrow import escrow_hold, escrow_release
from tokenomics.services.ledger_accounts import user_account_get_or_create
from tokenomics.services.wallet import deposit_post

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

WIDTHS = (390, 1280)
HEIGHT = 800
CALL_IT = (
    "curl -s -X POST https://agora.example/api/v1/inference/sonnet-summariser-with-a-long-slug "
    "-H 'Authorization: Bearer agr_live_0123456789abcdef0123456789abcdef' -H 'Content-Type: "
    'application/json\' -d \'{"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [1], '
    '"data": ["A very long document to summarise, pasted in full on one line"]}]}\''
)
MODEL_CARD = f"""# Sonnet Summariser

Summarises long documents into a few sentences.

| Benchmark | Dataset | Score | Notes |
|---|---|---|---|
| ROUGE-L | cnn_dailymail_v3_0_0_test_split_full | 41.2 | beam_search_num_beams_4_length_penalty_2_0 |

## Call it

```bash
{CALL_IT}
```
"""


def _seed() -> dict[str, Any]:
    """A creator with a listing that has everything a model page shows, and a buyer who bought,
    subscribed, reviewed and topped up; returns what the pages need."""
    creator = UserFactory(
        email="a.creator.with.a.rather.long.address@research-lab.example.com",
        display_name="Cam Creator of the Long Name Research Laboratory",
    )
    buyer = UserFactory(email="bea.buyer.with.a.long.email@example.com", display_name="Bea Buyer")
    category = CategoryFactory(name="Summarisation")
    listing = ListingFactory(
        creator=creator,
        category=category,
        title="Sonnet Summariser",
        slug="sonnet-summariser",
        summary="Summarises long documents into a few sentences, in twelve languages, with citations.",
        model_card=MODEL_CARD,
        sample_io=[{"input": "x" * 300, "output": "A short summary."}],
        benchmarks=[{"name": "ROUGE-L", "score": "41.2", "unit": ""}],
        license_terms="Commercial use allowed.",
    )
    Listing.objects.filter(pk=listing.pk).update(model_card_html=_card_html())
    version = VersionFactory(listing=listing, version="1.2.0", major=1, minor=2)
    one_time = PlanFactory(listing=listing, name="Perpetual", price_cents=4_900, download_limit=5)
    monthly = PlanFactory(
        listing=listing,
        kind=PlanKind.SUBSCRIPTION,
        interval="month",
        name="Pro",
        price_cents=1_900,
        monthly_quota=5_000,
    )
    PlanFactory(listing=listing, kind=PlanKind.PER_INFERENCE, name="Metered", price_cents=20)
    other = ListingFactory(
        creator=creator, category=category, title="Haiku Headliner", slug="haiku-headliner"
    )
    PlanFactory(listing=other, price_cents=900)
    for each in (listing, other):
        listing_pricing_refresh(listing_id=each.pk)
        listing_search_index(listing_id=each.pk)
    collection = Collection.objects.create(title="Staff picks", slug="staff-picks", is_published=True)
    CollectionItem.objects.create(collection=collection, listing=listing, position=0)

    # The buyer's money: a card top-up, a one-time purchase paid by card, a subscription period.
    funded_wallet(user=buyer, amount=10_000)
    funded_wallet(user=buyer, amount=agr(1_561) + 240_034_722_222_222_222, asset="AGR")
    order = paid_order(listing=listing, buyer=buyer, total=4_900)
    order.plan, order.kind = one_time, PlanKind.ONE_TIME  # paid_order takes the first (cheapest) plan
    order.save(update_fields=["plan", "kind"])
    deposit_post(
        user=buyer,
        asset="USD",
        amount=4_900,
        source_kind=AccountKind.EXTERNAL_STRIPE,
        idempotency_key=f"stripe:pi:{order.pk}",
        memo=f"Card payment {order.reference} (pi_3QabcdefghijklmnopqrstuvwxYZ)",
        prepaid_bonus_applies=False,
        reference=order.reference,
    )
    wallet = user_account_get_or_create(user=buyer, kind=AccountKind.WALLET, asset="USD")
    escrow = escrow_hold(reference=order.reference, creator=creator, source_account=wallet, amount=4_900)
    escrow_release(escrow_id=escrow.pk)
    License.objects.create(
        order=order,
        buyer=buyer,
        listing=listing,
        version=version,
        key_prefix="agr_lic",
        key_hash="e" * 64,
        download_limit=5,
        downloads_used=2,
    )
    Subscription.objects.create(
        buyer=buyer,
        plan=monthly,
        listing=listing,
        rail="card",
        status=SubscriptionStatus.ACTIVE,
        current_period_start=timezone.now(),
        current_period_end=timezone.now() + timedelta(days=20),
    )
    review_upsert(buyer=buyer, listing=listing, rating=5, title="Great", body="Summaries are crisp. " * 20)
    api_key_create(user=buyer, name="a laptop with a long descriptive name", scopes=["read"])
    # Governance: a proposal with a parameter diff, in discussion, and its proposer's holder page.
    agr_credit(creator, BOND)
    proposal = economic_proposal(creator)
    return {
        "proposal": proposal,
        "creator": creator,
        "buyer": buyer,
        "listing": listing,
        "plan": one_time,
        "order": order,
    }


def _card_html() -> str:
    return render_model_card(MODEL_CARD)


def _pages(seed: dict[str, Any], who: str) -> list[str]:
    slug = seed["listing"].slug
    public = [
        "/",
        "/models/",
        "/models/?q=summarise&category=summarisation",
        f"/models/{slug}/",
        "/models/compare/",
        "/collections/staff-picks/",
        "/parameters/",
        "/transparency/",
        "/governance/",
        f"/governance/proposals/{seed['proposal'].pk}/",
        f"/governance/holders/{seed['creator'].pk}/",
    ]
    if who == "anonymous":
        return [*public, "/accounts/login/", "/accounts/signup/"]
    signed_in = [
        f"/checkout/{seed['plan'].pk}/",
        "/library/",
        "/wallet/",
        "/wallet/top-up/",
        "/creator/",
        "/creator/listings/",
        "/accounts/profile/",
        "/accounts/api-keys/",
        "/accounts/wallets/",
        "/accounts/2fa/",
        "/governance/propose/",
    ]
    if who == "buyer":
        signed_in.append(f"/orders/{seed['order'].pk}/")
    if who == "creator":
        signed_in.append(f"/creator/listings/{slug}/")
    return [*public, *signed_in]


def _sign_in(page: Page, base: str, user: User) -> None:
    # The session cookie of a real login (Django's test client), so the test spends its time on
    # the pages under test rather than on the login form, which test_browser_journey drives.
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}])


def _overflow(page: Page) -> dict[str, Any]:
    return page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            const wide = [];
            for (const el of document.querySelectorAll('body *')) {
                // A closed menu's links are laid out off to the side but hidden and take no room.
                const folded = el.closest('details:not([open])') && !el.closest('summary');
                if (folded && el.tagName !== 'DETAILS') continue;
                const box = el.getBoundingClientRect();
                if (box.width && box.right > width + 1) {
                    const name = `${el.tagName.toLowerCase()}.${el.className}#${el.id}`;
                    wide.push(`${name} → ${Math.round(box.right)}`);
                }
            }
            return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5)};
        }"""
    )


def _slug(path: str) -> str:
    name = path.strip("/").replace("/", "_").replace("?", "_").replace("&", "_").replace("=", "-")
    return name or "home"


def _check_buy_button(page: Page, width: int) -> None:
    # The first plan's button (the cheapest plan comes first): "Buy", "Subscribe" or "Buy credit".
    buy = page.locator(".listing-plans .plan").first.locator("a.btn")
    if width == 1280:
        # No scrolling: the first plan's Buy button is inside the first screen, right of the card.
        page.evaluate("window.scrollTo(0, 0)")
        box = buy.bounding_box()
        card = page.locator(".model-card").bounding_box()
        assert box is not None
        assert card is not None
        assert box["y"] + box["height"] <= HEIGHT, f"Buy is below the first screen: {box}"
        assert box["x"] >= card["x"] + card["width"], "the plans are not in the right-hand column"
        assert box["x"] + box["width"] <= width
    else:
        page.locator("#plans-title").scroll_into_view_if_needed()
        expect(buy).to_be_in_viewport()
        plans = page.locator("#plans-title").bounding_box()
        reviews = page.locator("#reviews").bounding_box()
        assert plans is not None
        assert reviews is not None
        assert plans["y"] < reviews["y"], "on a phone the plans must come before the reviews"


@pytest.mark.parametrize("who", ["anonymous", "buyer", "creator"])
def test_no_page_is_wider_than_the_screen(
    browser: Browser, live_server: Any, who: str, artifacts_dir: Path
) -> None:
    seed = _seed()
    shots = artifacts_dir / "responsive"
    shots.mkdir(exist_ok=True)
    spills: list[str] = []
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": HEIGHT})
        context.set_default_timeout(10_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        try:
            if who != "anonymous":
                _sign_in(page, live_server.url, seed[who])
            for path in _pages(seed, who):
                response = page.goto(live_server.url + path)
                assert response is not None
                assert response.status == 200, f"{path}: {response.status}"
                found = _overflow(page)
                page.screenshot(path=str(shots / f"{who}-{width}-{_slug(path)}.png"), full_page=True)
                if found["scroll"] > width:
                    spills.append(f"{who} {width}px {path}: {found['scroll']}px wide; {found['wide']}")
            assert errors == [], errors
        finally:
            context.close()
    assert spills == [], "\n".join(spills)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_buy_button_is_where_the_eye_looks(browser: Browser, live_server: Any, width: int) -> None:
    seed = _seed()
    newcomer = UserFactory()  # owns nothing, so every plan offers its button
    context = browser.new_context(viewport={"width": width, "height": HEIGHT})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        _sign_in(page, live_server.url, newcomer)
        page.goto(f"{live_server.url}/models/{seed['listing'].slug}/")
        _check_buy_button(page, width)
        # The owner is told what they hold, in the same place, before any checkout.
        context.clear_cookies()
        _sign_in(page, live_server.url, seed["buyer"])
        page.goto(f"{live_server.url}/models/{seed['listing'].slug}/")
        holding = page.locator("#holding")
        if width == 1280:
            expect(holding).to_be_in_viewport()
        expect(holding).to_contain_text("You own this license (v1.2.0) — 3 downloads left.")
        expect(holding).to_contain_text("Subscribed to Pro until")
    finally:
        context.close()


def test_the_phone_header_is_one_line_with_a_menu(browser: Browser, live_server: Any) -> None:
    seed = _seed()
    context = browser.new_context(viewport={"width": 390, "height": HEIGHT})
    page = context.new_page()
    try:
        _sign_in(page, live_server.url, seed["buyer"])
        page.goto(f"{live_server.url}/models/")
        header = page.locator(".site-header").bounding_box()
        assert header is not None
        assert header["height"] <= 72, header
        library = page.get_by_role("link", name="Library")
        expect(library).to_be_hidden()
        page.get_by_text("Menu", exact=True).click()
        expect(library).to_be_visible()
        assert _overflow(page)["scroll"] <= 390
        library.click()
        expect(page).to_have_url(f"{live_server.url}/library/")
        # The catalog lists models before its filters, which fold behind a button.
        page.goto(f"{live_server.url}/models/")
        first_card = page.locator(".listing-card").first.bounding_box()
        task = page.get_by_label("Task")
        expect(task).to_be_hidden()
        toggle = page.locator(".filters-toggle").bounding_box()
        assert first_card is not None
        assert toggle is not None
        assert toggle["height"] < 60
        page.locator(".filters-toggle").click()
        expect(task).to_be_visible()
    finally:
        context.close()
    # At 1280 px the same links sit in one row and the filters are open, without the buttons.
    context = browser.new_context(viewport={"width": 1280, "height": HEIGHT})
    page = context.new_page()
    try:
        _sign_in(page, live_server.url, seed["buyer"])
        page.goto(f"{live_server.url}/models/")
        expect(page.get_by_role("link", name="Library")).to_be_visible()
        expect(page.get_by_text("Menu", exact=True)).to_be_hidden()
        expect(page.get_by_label("Task")).to_be_visible()
        header = page.locator(".site-header").bounding_box()
        assert header is not None
        assert header["height"] <= 72, header
    finally:
        context.close()
