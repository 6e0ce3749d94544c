"""GET /api/v1/listings (search, filters, orderings, pagination) and GET /api/v1/listings/{slug}."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplace.models import ListingStatus, PlanKind, Tag
from marketplace.services.search import listing_search_index
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import CategoryFactory, ListingFactory, PlanFactory, VersionFactory
from tokenomics.selectors.parameters import parameter_get

pytestmark = pytest.mark.django_db

URL = "/api/v1/listings"


def _listing(**kwargs):
    tags = kwargs.pop("tags", [])
    listing = ListingFactory(**kwargs)
    for name in tags:
        tag, _ = Tag.objects.get_or_create(name=name, defaults={"slug": name})
        listing.tags.add(tag)
    listing_search_index(listing_id=listing.pk)
    return listing


def _slugs(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["slug"] for row in response.json()["results"]]


def test_public_list_shape(api_client):
    parent = CategoryFactory(slug="language", name="Language")
    child = CategoryFactory(slug="classification", name="Classification", parent=parent)
    _listing(
        slug="tiny-bert",
        title="Tiny BERT",
        category=child,
        tags=["sentiment", "bert"],
        task="text_classification",
        rating_average=Decimal("4.50"),
        rating_count=12,
        min_price_cents=900,
        has_one_time=True,
        has_per_inference=True,
    )
    body = api_client.get(URL).json()
    assert body["count"] == 1
    assert body["next"] is None
    assert body["previous"] is None
    row = body["results"][0]
    assert row["slug"] == "tiny-bert"
    assert row["category"] == {"slug": "classification", "name": "Classification", "parent_slug": "language"}
    assert row["tags"] == ["bert", "sentiment"]
    assert row["rating"] == {"average": "4.50", "count": 12}
    assert row["min_price"] == {"amount": "900", "asset": "USD"}
    assert row["pricing"] == ["one_time", "per_inference"]
    assert row["task"] == "text_classification"
    assert row["featured"] is False
    assert "model_card_html" not in row


def test_each_filter_through_the_query_string(api_client):
    vision = CategoryFactory(slug="vision")
    _listing(
        slug="a",
        title="Sentiment",
        task="text_classification",
        min_price_cents=500,
        has_one_time=True,
        quality_tier="verified",
        rating_average=Decimal("4.2"),
        accepts_agr=False,
    )
    _listing(
        slug="b",
        title="Detector",
        task="object_detection",
        category=vision,
        min_price_cents=5_000,
        has_subscription=True,
        rating_average=Decimal("3.1"),
    )
    assert _slugs(api_client.get(URL, {"search": "sentiment"})) == ["a"]
    assert _slugs(api_client.get(URL, {"category": "vision"})) == ["b"]
    assert _slugs(api_client.get(URL, {"task": "text_classification"})) == ["a"]
    assert _slugs(api_client.get(URL, {"pricing": "subscription"})) == ["b"]
    assert _slugs(api_client.get(URL, {"min_price": "1000"})) == ["b"]
    assert _slugs(api_client.get(URL, {"max_price": "1000"})) == ["a"]
    assert _slugs(api_client.get(URL, {"quality_tier": "verified"})) == ["a"]
    assert _slugs(api_client.get(URL, {"min_rating": "4"})) == ["a"]
    assert _slugs(api_client.get(URL, {"min_rating": "3.05"})) == ["b", "a"]
    assert _slugs(api_client.get(URL, {"accepts_agr": "true"})) == ["b"]
    assert _slugs(api_client.get(URL, {"ordering": "price"})) == ["a", "b"]
    assert _slugs(api_client.get(URL, {"ordering": "-price"})) == ["b", "a"]
    assert _slugs(api_client.get(URL, {"ordering": "rating", "pricing": PlanKind.ONE_TIME})) == ["a"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ordering", "random"),
        ("pricing", "barter"),
        ("task", "poetry"),
        ("quality_tier", "gold"),
        ("min_price", "-1"),
        ("max_price", "ten"),
        ("min_rating", "5.5"),
        ("min_rating", "four"),
        ("accepts_agr", "maybe"),
        ("category", "not a slug"),
        ("search", "x" * 201),
        ("page", "0"),
        ("page_size", "101"),
    ],
)
def test_invalid_values_are_400_naming_the_field(api_client, field, value):
    response = api_client.get(URL, {field: value})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["detail"]


def test_pagination(api_client):
    for n in range(5):
        _listing(slug=f"m{n}", trending_score=n)
    first = api_client.get(URL, {"page_size": 2, "ordering": "trending"}).json()
    assert first["count"] == 5
    assert [r["slug"] for r in first["results"]] == ["m4", "m3"]
    assert "page=2" in first["next"]
    assert "ordering=trending" in first["next"]
    last = api_client.get(URL, {"page_size": 2, "ordering": "trending", "page": 3}).json()
    assert [r["slug"] for r in last["results"]] == ["m0"]
    assert last["next"] is None
    assert api_client.get(URL, {"page": 9}).status_code == 404


def test_drafts_are_not_listed(api_client):
    _listing(slug="draft", status=ListingStatus.DRAFT)
    assert api_client.get(URL).json()["count"] == 0


def test_detail_with_versions_and_plans_priced_in_usd_and_agr(api_client):
    listing = _listing(
        slug="whisper",
        model_card_html="<p>Safe <strong>HTML</strong></p>",
        sample_io=[{"input": "audio.wav", "output": "hello"}],
        benchmarks=[{"name": "WER", "score": "4.2", "unit": "%"}],
        license_terms="Commercial use allowed.",
    )
    VersionFactory(listing=listing, version="1.0.0", minor=0, changelog="First", checksum_sha256="ab" * 32)
    VersionFactory(listing=listing, version="1.1.0", minor=1, artefact="artefacts/secret.bin")
    one_time = PlanFactory(listing=listing, price_cents=4_900, download_limit=3)
    PlanFactory(
        listing=listing,
        kind=PlanKind.SUBSCRIPTION,
        name="Pro",
        interval="month",
        price_cents=1_500,
        price_agr=123 * 10**18,
        monthly_quota=10_000,
    )
    PlanFactory(listing=listing, name="Retired", is_active=False)
    response = api_client.get(f"{URL}/whisper")
    assert response.status_code == 200
    body = response.json()
    assert body["model_card_html"] == "<p>Safe <strong>HTML</strong></p>"
    assert body["sample_io"] == [{"input": "audio.wav", "output": "hello"}]
    assert body["benchmarks"] == [{"name": "WER", "score": "4.2", "unit": "%"}]
    assert body["license_terms"] == "Commercial use allowed."
    assert [v["version"] for v in body["versions"]] == ["1.1.0", "1.0.0"]
    assert body["versions"][1]["checksum_sha256"] == "ab" * 32
    assert "artefact" not in body["versions"][0]
    assert "secret.bin" not in response.content.decode()
    plans = {plan["name"]: plan for plan in body["plans"]}
    assert set(plans) == {"Perpetual", "Pro"}
    rate = parameter_get("token.agr_price_micro_usd")
    assert plans["Perpetual"]["id"] == one_time.pk
    assert plans["Perpetual"]["price"] == {"amount": "4900", "asset": "USD"}
    assert plans["Perpetual"]["agr_price"] == {
        "amount": str(-(-4_900 * 10_000 * 10**18 // rate)),
        "asset": "AGR",
    }
    assert plans["Perpetual"]["download_limit"] == 3
    # One AGR rate for every plan: the plan's own price_agr does not price it.
    assert plans["Pro"]["agr_price"] == {"amount": str(-(-1_500 * 10_000 * 10**18 // rate)), "asset": "AGR"}
    assert plans["Pro"]["interval"] == "month"
    assert plans["Pro"]["monthly_quota"] == 10_000


def test_draft_detail_is_404_except_to_its_creator(api_client):
    draft = _listing(slug="secret", status=ListingStatus.DRAFT)
    response = api_client.get(f"{URL}/secret")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    api_client.force_authenticate(UserFactory())
    assert api_client.get(f"{URL}/secret").status_code == 404
    api_client.force_authenticate(draft.creator)
    response = api_client.get(f"{URL}/secret")
    assert response.status_code == 200
    assert response.json()["status"] == "draft"


def test_unknown_listing_is_404(api_client):
    assert api_client.get(f"{URL}/nope").json()["error"]["code"] == "not_found"


def test_writes_need_a_signed_in_user(api_client):
    _listing(slug="mine")
    assert api_client.post(URL, {"title": "x"}).status_code == 401
    assert api_client.patch(f"{URL}/mine", {"title": "x"}).status_code == 401


def _count_list_queries(api_client, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = api_client.get(URL, {"page_size": 100, **params})
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("params", [{}, {"search": "model"}, {"ordering": "price", "category": "shared"}])
def test_list_query_count_does_not_grow_with_the_results(api_client, params):
    category = CategoryFactory(slug="shared", parent=CategoryFactory(slug="root"))
    tags = [Tag.objects.create(name=f"t{n}", slug=f"t{n}") for n in range(3)]

    def make(count: int) -> None:
        for _ in range(count):
            listing = _listing(category=category, title="Model", min_price_cents=100)
            listing.tags.add(*tags)

    make(3)
    few = _count_list_queries(api_client, **params)
    make(27)
    assert api_client.get(URL, {**params, "page_size": 100}).json()["count"] == 30
    assert _count_list_queries(api_client, **params) == few
