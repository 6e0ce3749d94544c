"""The storefront pages: /models/ (search, filters, htmx results), a listing's page, the comparison
and collections."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.models import (
    Collection,
    CollectionItem,
    License,
    Listing,
    ListingDailyStat,
    ListingStatus,
    Subscription,
    SubscriptionStatus,
    Tag,
)
from marketplace.services.listings import listing_pricing_refresh
from marketplace.services.search import listing_search_index
from marketplace.views.catalog import COMPARE_SESSION_KEY, PAGE_SIZE
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import (
    CategoryFactory,
    ListingFactory,
    PlanFactory,
    VersionFactory,
    paid_order,
)
from tokenomics.services.parameters import parameter_set

pytestmark = pytest.mark.django_db

CATALOG = "/models/"
COMPARE = "/models/compare/"
TOGGLE = "/models/compare/toggle/"
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results"}


def _listing(**kwargs) -> Listing:
    tags = kwargs.pop("tags", [])
    listing = ListingFactory(**kwargs)
    for name in tags:
        tag, _ = Tag.objects.get_or_create(name=name, defaults={"slug": name})
        listing.tags.add(tag)
    listing_search_index(listing_id=listing.pk)
    return listing


def _card_titles(html: str) -> int:
    return html.count('<article class="card listing-card">')


# ----------------------------------------------------------------------------- /models/


def test_catalog_lists_published_models_as_cards(client):
    _listing(title="Whisper small", summary="Speech to text.", min_price_cents=1_900, tags=["audio"])
    _listing(title="Secret draft", status=ListingStatus.DRAFT)
    response = client.get(CATALOG)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Whisper small" in html
    assert "Secret draft" not in html
    assert "from <strong>$19.00</strong>" in html
    assert '<span class="tag">audio</span>' in html
    assert "1 model" in html
    assert 'aria-current="page">Models</a>' in html


def test_search_and_filters_narrow_the_results(client):
    vision = CategoryFactory(slug="vision", name="Vision")
    _listing(title="Sentiment analyser", task="text_classification")
    _listing(title="Object detector", task="object_detection", category=vision, min_price_cents=90_000)
    html = client.get(CATALOG, {"q": "sentiment"}).content.decode()
    assert "Sentiment analyser" in html
    assert "Object detector" not in html
    html = client.get(CATALOG, {"category": "vision"}).content.decode()
    assert "Object detector" in html
    assert "Sentiment analyser" not in html
    html = client.get(CATALOG, {"max_price": "100"}).content.decode()  # dollars in the form
    assert "Object detector" not in html
    html = client.get(CATALOG, {"min_price": "100"}).content.decode()
    assert "Object detector" in html
    assert "Sentiment analyser" not in html


def test_invalid_filter_is_ignored_and_shown(client):
    _listing(title="Still listed")
    response = client.get(CATALOG, {"min_price": "-5", "ordering": "nonsense"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Still listed" in html
    assert "errorlist" in html


def test_htmx_request_gets_only_the_results_partial(client):
    _listing(title="Partial model")
    response = client.get(CATALOG, {"q": "partial"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="results"')
    assert "Partial model" in html
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_pagination_keeps_the_filters(client):
    for n in range(PAGE_SIZE + 3):
        _listing(title=f"Paged {n}", task="translation")
    html = client.get(CATALOG, {"task": "translation"}).content.decode()
    assert _card_titles(html) == PAGE_SIZE
    assert "Page 1 of 2" in html
    assert "?task=translation&amp;page=2" in html
    html = client.get(CATALOG, {"task": "translation", "page": 2}).content.decode()
    assert _card_titles(html) == 3


def test_empty_search_helps_with_clearing_filters_and_popular_categories(client):
    popular = CategoryFactory(slug="popular", name="Popular category")
    _listing(category=popular)
    html = client.get(CATALOG, {"q": "nothing-matches-this"}).content.decode()
    assert "No models match" in html
    assert "Clear all filters" in html
    assert 'href="/models/?category=popular"' in html


def test_empty_search_suggests_the_corrected_search_and_the_closest_category(client):
    CategoryFactory(slug="popular", name="Popular category")
    speech = CategoryFactory(slug="speech-recognition", name="Speech recognition")
    _listing(category=speech, title="Opinion scorer", tags=["sentiment"])
    # Filtered to a tier nobody has, the corrected word is offered on its own.
    html = client.get(CATALOG, {"q": "sentimnet", "quality_tier": "exclusive"}).content.decode()
    assert "No models match" in html
    assert 'Did you mean <a href="/models/?q=sentiment">' in html
    html = client.get(CATALOG, {"q": "speach recogniton", "quality_tier": "exclusive"}).content.decode()
    assert 'href="/models/?category=speech-recognition">Speech recognition</a>' in html
    assert "Popular categories" not in html
    assert "Did you mean" not in client.get(CATALOG, {"q": "xyzzy"}).content.decode()


def test_empty_catalog_says_how_models_arrive(client):
    html = client.get(CATALOG).content.decode()
    assert "No models are published yet." in html


def test_featured_and_collections_show_when_browsing_only(client):
    _listing(title="Boosted model", featured_until=timezone.now() + timedelta(days=1))
    shelf = Collection.objects.create(title="Staff picks", slug="staff-picks")
    CollectionItem.objects.create(collection=shelf, listing=_listing(title="Picked"))
    html = client.get(CATALOG).content.decode()
    assert "<h2>Featured</h2>" in html
    assert 'href="/collections/staff-picks/"' in html
    html = client.get(CATALOG, {"q": "boosted"}).content.decode()
    assert "<h2>Featured</h2>" not in html
    assert "Staff picks" not in html


def _page_queries(client, url: str, params: dict[str, str]) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("params", [{}, {"q": "model"}, {"ordering": "price", "category": "child"}])
def test_catalog_query_count_does_not_grow_with_the_results(client, params):
    child = CategoryFactory(slug="child", parent=CategoryFactory(slug="root"))
    tags = [Tag.objects.create(name=f"t{n}", slug=f"t{n}") for n in range(3)]
    featured_until = timezone.now() + timedelta(days=1)

    def make(count: int) -> None:
        for _ in range(count):
            _listing(title="Model", category=child, featured_until=featured_until).tags.add(*tags)

    make(3)
    few = _page_queries(client, CATALOG, params)
    make(21)  # 24: one full page
    html = client.get(CATALOG, params).content.decode()
    assert _card_titles(html) >= 24
    assert _page_queries(client, CATALOG, params) == few


# ----------------------------------------------------------------------------- a listing's page


def test_listing_page_shows_the_model(client):
    listing = _listing(
        slug="whisper",
        title="Whisper small",
        model_card="# raw markdown",
        model_card_html="<h2>Rendered</h2><p>card</p>",
        sample_io=[{"input": "hello.wav", "output": "hello"}],
        benchmarks=[{"name": "WER", "score": "4.2", "unit": "%"}],
        quality_tier="verified",
        tags=["audio"],
    )
    VersionFactory(listing=listing, version="2.0.0", major=2, changelog="Faster decoding")
    plan = PlanFactory(listing=listing, price_cents=4_900)
    html = client.get("/models/whisper/").content.decode()
    assert "<h2>Rendered</h2><p>card</p>" in html
    assert "# raw markdown" not in html
    assert "hello.wav" in html
    assert 'id="benchmarks-table"' in html
    assert "4.2%" in html
    assert "v2.0.0" in html
    assert "Faster decoding" in html
    assert f'href="/checkout/{plan.pk}/"' in html
    assert "$49.00" in html
    assert "Verified" in html
    assert listing.creator.public_name in html
    assert "Add to compare" in html


def test_listing_page_states_the_agr_discount_the_registry_holds(client, django_capture_on_commit_callbacks):
    listing = _listing(slug="priced", accepts_agr=True)
    PlanFactory(listing=listing, price_cents=4_900)
    # $49.00 at the registry's $0.10 per AGR is 490 AGR; the AGR discount is stated as it applies.
    assert (
        "In AGR: <strong>416.5 AGR</strong> one-time — 15% off 490 AGR"
        in client.get("/models/priced/").content.decode()
    )
    with django_capture_on_commit_callbacks(execute=True):  # the new value reaches the cache at commit
        parameter_set(key="discount.agr_payment_bps", value=1_400, reason="Governance vote")
    assert (
        "In AGR: <strong>421.4 AGR</strong> one-time — 14% off 490 AGR"
        in client.get("/models/priced/").content.decode()
    )


def test_similar_models_are_shown(client):
    _listing(slug="base", tags=["rag"])
    _listing(title="Cousin model", tags=["rag"])
    html = client.get("/models/base/").content.decode()
    assert "Similar models" in html
    assert "Cousin model" in html


def test_a_view_is_counted_once_per_session(client):
    listing = _listing(slug="counted")
    client.get("/models/counted/")
    client.get("/models/counted/")
    listing.refresh_from_db()
    assert listing.view_count == 1
    assert ListingDailyStat.objects.get(listing=listing).views == 1
    other = type(client)()
    other.get("/models/counted/")
    listing.refresh_from_db()
    assert listing.view_count == 2


def test_draft_page_is_404_except_to_its_creator(client):
    draft = _listing(slug="draft", status=ListingStatus.DRAFT)
    assert client.get("/models/draft/").status_code == 404
    client.force_login(UserFactory())
    assert client.get("/models/draft/").status_code == 404
    client.force_login(draft.creator)
    response = client.get("/models/draft/")
    assert response.status_code == 200
    assert "Only you" in response.content.decode()
    draft.refresh_from_db()
    assert draft.view_count == 0


def test_unknown_listing_is_404(client):
    assert client.get("/models/no-such-model/").status_code == 404


# ----------------------------------------------------------------------------- compare


def test_compare_from_the_query_string(client):
    a = _listing(slug="a", title="Alpha", benchmarks=[{"name": "MMLU", "score": "70", "unit": "%"}])
    b = _listing(slug="b", title="Beta", benchmarks=[{"name": "GSM8K", "score": "55", "unit": "%"}])
    PlanFactory(listing=a, price_cents=4_900)
    PlanFactory(listing=a, price_cents=2_900, name="Cheaper")
    VersionFactory(listing=b, version="3.1.0", major=3, minor=1)
    html = client.get(COMPARE, {"l": ["a", "b"]}).content.decode()
    assert html.index("Alpha") < html.index("Beta")
    assert '$29.00 <span class="muted small">one-time</span>' in html
    assert "$49.00" not in html
    assert "v3.1.0" in html
    assert html.count('class="benchmark-row"') == 2
    assert "70%" in html
    assert "55%" in html


def test_compare_states_each_subscription_price_with_its_interval(client):
    monthly = _listing(slug="monthly", title="Monthly")
    yearly = _listing(slug="yearly", title="Yearly")
    PlanFactory(listing=monthly, kind="subscription", interval="month", name="Pro", price_cents=1_900)
    PlanFactory(listing=yearly, kind="subscription", interval="year", name="Pro", price_cents=19_000)
    html = client.get(COMPARE, {"l": ["monthly", "yearly"]}).content.decode()
    assert '$19.00 <span class="muted small">/ month</span>' in html
    assert '$190.00 <span class="muted small">/ year</span>' in html


def test_compare_more_than_four_is_refused(client):
    for n in range(5):
        _listing(slug=f"m{n}")
    response = client.get(COMPARE, {"l": [f"m{n}" for n in range(5)]})
    assert response.status_code == 400
    assert "Compare at most 4 models" in response.content.decode()


def test_compare_unknown_slug_is_404(client):
    assert client.get(COMPARE, {"l": ["ghost"]}).status_code == 404


def test_empty_compare_explains_how_to_add(client):
    assert "Nothing to compare yet." in client.get(COMPARE).content.decode()


def test_compare_selection_lives_in_the_session_with_htmx_add_and_remove(client):
    for n in range(5):
        _listing(slug=f"m{n}", title=f"Model {n}")
    for n in range(4):
        response = client.post(TOGGLE, {"slug": f"m{n}", "action": "add"}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        assert 'id="compare-control"' in response.content.decode()
    assert client.session[COMPARE_SESSION_KEY] == ["m0", "m1", "m2", "m3"]
    response = client.post(TOGGLE, {"slug": "m4", "action": "add"}, HTTP_HX_REQUEST="true")
    assert "up to 4" in response.content.decode()
    assert client.session[COMPARE_SESSION_KEY] == ["m0", "m1", "m2", "m3"]
    html = client.get(COMPARE).content.decode()
    assert all(f"Model {n}" in html for n in range(4))
    response = client.post(
        TOGGLE, {"slug": "m1", "action": "remove"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="compare-table"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="compare-table"')
    assert "Model 1" not in html
    assert "Model 0" in html
    assert client.session[COMPARE_SESSION_KEY] == ["m0", "m2", "m3"]


def test_compare_toggle_without_htmx_redirects(client):
    _listing(slug="m0")
    response = client.post(TOGGLE, {"slug": "m0", "action": "add", "next": "/models/m0/"})
    assert response.status_code == 302
    assert response["Location"] == "/models/m0/"
    response = client.post(TOGGLE, {"slug": "m0", "action": "remove", "next": "https://evil.example/"})
    assert response["Location"] == COMPARE
    assert client.post(TOGGLE, {"slug": "ghost", "action": "add"}).status_code == 404


def test_unpublished_listing_drops_out_of_the_session_selection(client):
    _listing(slug="keep", title="Kept")
    gone = _listing(slug="gone")
    for slug in ("keep", "gone"):
        client.post(TOGGLE, {"slug": slug, "action": "add"})
    Listing.objects.filter(pk=gone.pk).update(status=ListingStatus.SUSPENDED)
    listing_search_index(listing_id=gone.pk)
    response = client.get(COMPARE)
    assert response.status_code == 200
    assert "Kept" in response.content.decode()
    assert client.session[COMPARE_SESSION_KEY] == ["keep"]


# ----------------------------------------------------------------------------- collections


def test_collection_page(client):
    shelf = Collection.objects.create(title="Staff picks", slug="staff-picks", description="Our favourites.")
    CollectionItem.objects.create(collection=shelf, listing=_listing(title="Second pick"), position=2)
    CollectionItem.objects.create(collection=shelf, listing=_listing(title="First pick"), position=1)
    html = client.get("/collections/staff-picks/").content.decode()
    assert "Our favourites." in html
    assert html.index("First pick") < html.index("Second pick")
    Collection.objects.create(title="Hidden", slug="hidden", is_published=False)
    assert client.get("/collections/hidden/").status_code == 404


def test_empty_collection_points_back_to_the_catalog(client):
    Collection.objects.create(title="Empty", slug="empty")
    assert "no models on sale right now" in client.get("/collections/empty/").content.decode()


def test_cards_state_what_the_from_price_buys(client):
    metered = _listing(slug="metered-card", title="Metered model")
    PlanFactory(listing=metered, kind="per_inference", name="Metered", price_cents=400)
    monthly = _listing(slug="monthly-card", title="Monthly model")
    PlanFactory(listing=monthly, kind="subscription", interval="month", name="Pro", price_cents=1_900)
    for listing in (metered, monthly):
        listing_pricing_refresh(listing_id=listing.pk)
        listing_search_index(listing_id=listing.pk)
    html = client.get("/models/").content.decode()
    assert 'from <strong>$4.00</strong> <span class="muted">/ 1,000 calls</span>' in html
    assert 'from <strong>$19.00</strong> <span class="muted">/ month</span>' in html


def test_listing_page_states_units_and_formats_counts(client):
    listing = _listing(slug="units")
    PlanFactory(
        listing=listing,
        kind="subscription",
        interval="month",
        name="Pro",
        price_cents=1_900,
        monthly_quota=5_000,
    )
    html = client.get("/models/units/").content.decode()
    assert '$19.00 <span class="muted small plan-unit">/ month</span>' in html
    assert "5,000 inferences a month" in html


def test_listing_page_says_what_the_buyer_already_owns_before_checkout(client):
    listing = _listing(slug="owned")
    version = VersionFactory(listing=listing, version="1.0.0")
    one_time = PlanFactory(listing=listing, name="Perpetual")
    monthly = PlanFactory(
        listing=listing, kind="subscription", interval="month", name="Pro", price_cents=1_900
    )
    buyer = UserFactory()
    order = paid_order(listing=listing, buyer=buyer, total=4_900)
    License.objects.create(
        order=order,
        buyer=buyer,
        listing=listing,
        version=version,
        key_prefix="",
        key_hash="f" * 64,
        download_limit=5,
        downloads_used=2,
    )
    end = timezone.now() + timedelta(days=20)
    Subscription.objects.create(
        buyer=buyer,
        plan=monthly,
        listing=listing,
        rail="card",
        status=SubscriptionStatus.ACTIVE,
        current_period_start=timezone.now(),
        current_period_end=end,
    )
    anonymous = client.get("/models/owned/").content.decode()
    assert 'id="holding"' not in anonymous
    assert f'href="/checkout/{one_time.pk}/"' in anonymous

    client.force_login(buyer)
    html = client.get("/models/owned/").content.decode()
    assert "<strong>You own this license</strong> (v1.0.0) — 3 downloads left." in html
    assert f'href="/orders/{order.pk}/"' in html
    assert "<strong>Subscribed to Pro</strong> until" in html
    assert f"{end:%-d %b %Y}" in html
    # Checkout would refuse both; the page says so instead of offering them.
    assert f'href="/checkout/{one_time.pk}/"' not in html
    assert f'href="/checkout/{monthly.pk}/"' not in html
    assert "You own v1.0.0" in html
