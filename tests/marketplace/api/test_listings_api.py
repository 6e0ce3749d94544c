"""The creator's API: create and edit listings (routed by the catalog), publish, versions, plans."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts import services as account_services
from marketplace.artefacts import iter_plaintext
from marketplace.models import Listing, ListingStatus, ListingVersion, Plan
from marketplace.services import listings as svc
from marketplace.services import plans as plan_services
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import ListingFactory, PlanFactory

pytestmark = pytest.mark.django_db

LISTINGS = "/api/v1/listings"
SPEC_IN = [{"name": "INPUT_1", "datatype": "FP32", "shape": [-1, 4]}]
SPEC_OUT = [{"name": "OUTPUT_1", "datatype": "FP32", "shape": [-1, 4]}]


@pytest.fixture
def api(api_client, creator):
    api_client.force_authenticate(creator)
    return api_client


@pytest.fixture
def draft(creator, category):
    return svc.listing_create(
        creator=creator, title="Tiny Llama", summary="Small.", category=category, task="other", size="small"
    )


def _bearer(client, user, scopes):
    key = account_services.api_key_create(user=user, name="t", scopes=scopes)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.secret}")


def _error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    return body["error"]


def _upload(client, slug, **fields):
    data = {
        "version": "1.0.0",
        "changelog": "First",
        "artefact": SimpleUploadedFile("tiny.onnx", b"weights" * 1000),
        "triton_model_name": "tiny_llama",
        "input_spec": json.dumps(SPEC_IN),
        "output_spec": json.dumps(SPEC_OUT),
    } | fields
    data = {key: value for key, value in data.items() if value is not None}
    return client.post(f"{LISTINGS}/{slug}/versions", data, format="multipart")


def test_routes_have_their_names():
    assert reverse("marketplace_api:listings") == LISTINGS
    assert reverse("marketplace_api:listing-publish", args=["x"]) == f"{LISTINGS}/x/publish"
    assert reverse("marketplace_api:listing-unpublish", args=["x"]) == f"{LISTINGS}/x/unpublish"
    assert reverse("marketplace_api:listing-versions", args=["x"]) == f"{LISTINGS}/x/versions"
    assert reverse("marketplace_api:listing-plans", args=["x"]) == f"{LISTINGS}/x/plans"
    assert reverse("marketplace_api:plan", args=[7]) == "/api/v1/plans/7"


# ----------------------------------------------------------------------------- create and update


def test_create_listing(api, creator, category):
    response = api.post(
        LISTINGS,
        {
            "title": "Tiny Llama",
            "summary": "A chat model.",
            "category": "language",
            "task": "text_generation",
            "model_card": "# Tiny\n\n<script>x</script>",
            "tags": ["llm", "chat"],
            "sample_io": [{"input": "Hi", "output": "Hello"}],
            "benchmarks": [{"name": "MMLU", "score": "25.3", "unit": "%"}],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "tiny-llama"
    assert body["status"] == "draft"
    assert body["size"] == "small"
    assert body["category"] == "language"
    assert body["tags"] == ["chat", "llm"]
    assert body["model_card_html"].startswith("<h1>Tiny</h1>")
    assert "<script" not in body["model_card_html"]
    assert body["plans"] == []
    assert body["versions"] == []
    assert body["min_price"] is None
    assert body["publish_problems"] == ["Add at least one active plan, so that buyers have something to buy."]
    assert body["benchmarks"] == [{"name": "MMLU", "score": "25.3", "unit": "%"}]
    assert Listing.objects.get().creator == creator


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": 5}, "title"),
        ({"category": "nope"}, "category"),
        ({"task": "mind_reading"}, "task"),
        ({"tags": "llm"}, "tags"),
        ({"tags": ["!!!"]}, "tags"),
        ({"tags": [f"t{i}" for i in range(11)]}, "tags"),
        ({"benchmarks": [{"name": "MMLU", "score": 25.3}]}, "benchmarks"),
    ],
)
def test_create_validation_errors(api, category, payload, field):
    base = {"title": "T", "summary": "S", "category": "language", "task": "other"}
    error = _error(api.post(LISTINGS, base | payload), 400, "validation_error")
    assert field in error["detail"]
    assert not Listing.objects.exists()


def test_create_needs_authentication_and_the_write_scope(api_client, creator, category):
    payload = {"title": "T", "summary": "S", "category": "language", "task": "other"}
    _error(api_client.post(LISTINGS, payload), 401, "not_authenticated")
    _bearer(api_client, creator, ["read"])
    _error(api_client.post(LISTINGS, payload), 403, "permission_denied")
    _bearer(api_client, creator, ["read", "write"])
    assert api_client.post(LISTINGS, payload).status_code == 201


def test_update_listing(api, draft):
    response = api.patch(
        f"{LISTINGS}/{draft.slug}", {"summary": "Now longer.", "model_card": "## v2", "tags": ["x"]}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["summary"] == "Now longer."
    assert body["model_card_html"] == "<h2>v2</h2>\n"
    assert body["title"] == "Tiny Llama"
    assert body["tags"] == ["x"]
    assert body["slug"] == draft.slug


def test_update_refuses_staff_and_unknown_fields(api, draft):
    error = _error(api.patch(f"{LISTINGS}/{draft.slug}", {"status": "published"}), 403, "permission_denied")
    assert "status" in error["detail"]
    _error(api.patch(f"{LISTINGS}/{draft.slug}", {"quality_tier": "exclusive"}), 403, "permission_denied")
    error = _error(
        api.patch(f"{LISTINGS}/{draft.slug}", {"slug": "mine", "title": "x"}), 400, "validation_error"
    )
    assert error["detail"] == {"slug": ["Unknown field."]}
    draft.refresh_from_db()
    assert draft.status == ListingStatus.DRAFT
    assert draft.quality_tier == "community"
    assert draft.title == "Tiny Llama"


# ----------------------------------------------------------------------------- permissions


def test_another_user_gets_404_for_drafts_and_403_for_published_listings(api_client, creator, draft):
    published = ListingFactory(creator=creator)
    published_plan = PlanFactory(listing=published)
    draft_plan = PlanFactory(listing=draft)
    api_client.force_authenticate(UserFactory())
    for listing, status, code in ((draft, 404, "not_found"), (published, 403, "permission_denied")):
        slug = listing.slug
        _error(api_client.patch(f"{LISTINGS}/{slug}", {"title": "Mine"}), status, code)
        _error(api_client.post(f"{LISTINGS}/{slug}/publish"), status, code)
        _error(api_client.post(f"{LISTINGS}/{slug}/unpublish"), status, code)
        _error(_upload(api_client, slug), status, code)
        plan = {"kind": "one_time", "name": "Cheap", "price": {"amount": "1", "asset": "USD"}}
        _error(api_client.post(f"{LISTINGS}/{slug}/plans", plan), status, code)
    for plan, status, code in ((draft_plan, 404, "not_found"), (published_plan, 403, "permission_denied")):
        _error(api_client.patch(f"/api/v1/plans/{plan.pk}", {"name": "Mine"}), status, code)
        _error(api_client.delete(f"/api/v1/plans/{plan.pk}"), status, code)
    _error(api_client.post(f"{LISTINGS}/missing/publish"), 404, "not_found")
    _error(api_client.delete("/api/v1/plans/999999"), 404, "not_found")
    assert not ListingVersion.objects.exists()
    assert Plan.objects.filter(is_active=True).count() == 2
    assert Plan.objects.count() == 2


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/publish"),
        ("post", "/unpublish"),
        ("post", "/versions"),
        ("post", "/plans"),
    ],
)
def test_anonymous_and_read_only_keys_are_refused(api_client, creator, draft, method, path):
    _error(getattr(api_client, method)(f"{LISTINGS}/{draft.slug}{path}"), 401, "not_authenticated")
    _bearer(api_client, creator, ["read"])
    _error(getattr(api_client, method)(f"{LISTINGS}/{draft.slug}{path}"), 403, "permission_denied")


# ----------------------------------------------------------------------------- versions


def test_upload_version_round_trip(api, draft, media_root):
    data = os.urandom(2 * 1024 * 1024 + 99)
    response = _upload(api, draft.slug, artefact=SimpleUploadedFile("weights.safetensors", data))
    assert response.status_code == 201, response.content
    body = response.json()
    version = ListingVersion.objects.get()
    assert body == {
        "id": version.pk,
        "version": "1.0.0",
        "changelog": "First",
        "artefact": {
            "name": "weights.safetensors",
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        },
        "triton_model_name": "tiny_llama",
        "input_spec": SPEC_IN,
        "output_spec": SPEC_OUT,
        "created_at": body["created_at"],
    }
    plaintext = b"".join(iter_plaintext(path=version.artefact.name, wrapped_key=version.wrapped_key))
    assert plaintext == data
    assert hashlib.sha256(plaintext).hexdigest() == body["artefact"]["sha256"]
    # Neither the storage path nor the wrapped key ever leaves the server.
    for text in (response.content.decode(), api.get(f"{LISTINGS}/{draft.slug}").content.decode()):
        assert version.wrapped_key not in text
        assert version.artefact.name not in text
        assert "wrapped_key" not in text


def test_upload_errors(api, draft):
    assert _upload(api, draft.slug).status_code == 201
    error = _error(_upload(api, draft.slug), 400, "validation_error")
    assert error["detail"] == {
        "version": ["Version 1.0.0 already exists for this listing; choose a higher number."]
    }
    error = _error(_upload(api, draft.slug, version="2.0"), 400, "validation_error")
    assert set(error["detail"]) == {"version"}
    error = _error(_upload(api, draft.slug, version="2.0.0", input_spec="{not json"), 400, "validation_error")
    assert set(error["detail"]) == {"input_spec"}
    bad = json.dumps([{"name": "X", "datatype": "FLOAT32", "shape": [1]}])
    error = _error(_upload(api, draft.slug, version="2.0.0", output_spec=bad), 400, "validation_error")
    assert set(error["detail"]) == {"output_spec"}
    error = _error(
        _upload(
            api,
            draft.slug,
            version="2.0.0",
            artefact=None,
            triton_model_name="",
            input_spec="[]",
            output_spec="[]",
        ),
        400,
        "validation_error",
    )
    assert set(error["detail"]) == {"artefact"}
    error = _error(
        _upload(api, draft.slug, version="2.0.0", artefact=SimpleUploadedFile("e.bin", b"")),
        400,
        "validation_error",
    )
    assert set(error["detail"]) == {"artefact"}
    assert ListingVersion.objects.count() == 1


def test_upload_needs_multipart(api, draft):
    response = api.post(f"{LISTINGS}/{draft.slug}/versions", {"version": "1.0.0"}, format="json")
    _error(response, 415, "unsupported_media_type")


# ----------------------------------------------------------------------------- plans


def test_add_update_and_deactivate_plans(api, draft):
    url = f"{LISTINGS}/{draft.slug}/plans"
    response = api.post(
        url,
        {
            "kind": "subscription",
            "name": "Pro",
            "price": {"amount": "1900", "asset": "USD"},
            "agr_price": {"amount": "19000000000000000000", "asset": "AGR"},
            "interval": "month",
            "monthly_quota": 100000,
        },
    )
    assert response.status_code == 201, response.content
    pro = response.json()
    assert pro == {
        "id": pro["id"],
        "kind": "subscription",
        "name": "Pro",
        "description": "",
        "price": {"amount": "1900", "asset": "USD"},
        "agr_price": {"amount": "19000000000000000000", "asset": "AGR"},
        "interval": "month",
        "monthly_quota": 100000,
        "rate_limit_per_minute": 60,
        "download_limit": None,
        "is_active": True,
        "position": 0,
    }
    one_time = api.post(
        url,
        {
            "kind": "one_time",
            "name": "Perpetual",
            "price": {"amount": "4900", "asset": "USD"},
            "download_limit": 3,
        },
    )
    assert one_time.status_code == 201
    assert one_time.json()["download_limit"] == 3

    patched = api.patch(
        f"/api/v1/plans/{pro['id']}", {"price": {"amount": "2500", "asset": "USD"}, "agr_price": None}
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["price"] == {"amount": "2500", "asset": "USD"}
    assert patched.json()["agr_price"] is None
    listing = api.get(f"{LISTINGS}/{draft.slug}").json()
    draft.refresh_from_db()
    assert draft.min_price_cents == 2_500
    assert draft.has_subscription
    assert draft.has_one_time
    assert listing["slug"] == draft.slug

    deleted = api.delete(f"/api/v1/plans/{pro['id']}")
    assert deleted.status_code == 200
    assert deleted.json()["is_active"] is False
    draft.refresh_from_db()
    assert draft.min_price_cents == 4_900
    assert not draft.has_subscription


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"price": {"amount": "0", "asset": "USD"}}, "price"),
        ({"price": {"amount": "100000000", "asset": "USD"}}, "price"),
        ({"price": {"amount": "12.50", "asset": "USD"}}, "price"),
        ({"price": {"amount": 100, "asset": "USD"}}, "price"),
        ({"price": {"amount": "100", "asset": "AGR"}}, "price"),
        ({"agr_price": {"amount": "5", "asset": "USD"}}, "agr_price"),
        ({"kind": "subscription"}, "interval"),
        ({"interval": "month"}, "interval"),
        ({"monthly_quota": 10}, "monthly_quota"),
        ({"kind": "per_inference", "download_limit": 2}, "download_limit"),
        ({"kind": "rent"}, "kind"),
    ],
)
def test_plan_validation(api, draft, payload, field):
    base = {"kind": "one_time", "name": "P", "price": {"amount": "100", "asset": "USD"}}
    error = _error(api.post(f"{LISTINGS}/{draft.slug}/plans", base | payload), 400, "validation_error")
    assert field in error["detail"], error
    assert not Plan.objects.exists()


def test_plan_kind_cannot_change(api, draft):
    plan = plan_services.plan_add(
        listing=draft, actor=draft.creator, kind="one_time", name="P", price_cents=100
    )
    error = _error(api.patch(f"/api/v1/plans/{plan.pk}", {"kind": "subscription"}), 400, "validation_error")
    assert "kind" in error["detail"]


# ----------------------------------------------------------------------------- publishing


def test_publish_flow(api, draft):
    error = _error(api.post(f"{LISTINGS}/{draft.slug}/publish"), 409, "invalid_state")
    assert error["detail"]["reasons"] == [
        "Add at least one active plan, so that buyers have something to buy."
    ]
    api.post(
        f"{LISTINGS}/{draft.slug}/plans",
        {"kind": "one_time", "name": "P", "price": {"amount": "900", "asset": "USD"}},
    )
    error = _error(api.post(f"{LISTINGS}/{draft.slug}/publish"), 409, "invalid_state")
    assert "uploaded model file" in error["message"]
    assert (
        _upload(api, draft.slug, triton_model_name="", input_spec="[]", output_spec="[]").status_code == 201
    )
    response = api.post(f"{LISTINGS}/{draft.slug}/publish")
    assert response.status_code == 200
    assert response.json()["status"] == "published"
    assert response.json()["publish_problems"] == []
    # Now public.
    from rest_framework.test import APIClient

    assert APIClient().get(f"{LISTINGS}/{draft.slug}").status_code == 200
    response = api.post(f"{LISTINGS}/{draft.slug}/unpublish")
    assert response.status_code == 200
    assert response.json()["status"] == "draft"
    _error(api.post(f"{LISTINGS}/{draft.slug}/unpublish"), 409, "invalid_state")


def test_moderated_listing_cannot_be_published(api, draft):
    plan_services.plan_add(listing=draft, actor=draft.creator, kind="per_inference", name="M", price_cents=5)
    staff = UserFactory(is_staff=True)
    svc.listing_moderate(listing=draft, staff_user=staff, status="suspended", reason="Check licence")
    error = _error(api.post(f"{LISTINGS}/{draft.slug}/publish"), 409, "invalid_state")
    assert error["detail"] == {"status": "suspended", "reason": "Check licence"}


def test_schema_documents_the_creator_operations(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operations = {
        operation["operationId"]
        for path in schema["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    assert {
        "listings_create",
        "listings_update",
        "listings_publish",
        "listings_unpublish",
        "listings_versions_create",
        "listings_plans_create",
        "plans_update",
        "plans_deactivate",
    } <= operations
    upload = schema["paths"]["/api/v1/listings/{slug}/versions"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]


def test_upload_refuses_web_pages_and_unknown_formats_and_files_over_the_limit(api, draft, settings):
    cases = [
        SimpleUploadedFile("model.html", b"<!DOCTYPE html><html><body>hi</body></html>"),
        SimpleUploadedFile("app.js", b"fetch('/api/v1/me')"),
        # A model's name does not make a web page a model.
        SimpleUploadedFile("model.onnx", b"\n  <html><script>alert(1)</script></html>"),
        SimpleUploadedFile("drawing.bin", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>"),
    ]
    for upload in cases:
        error = _error(_upload(api, draft.slug, artefact=upload), 400, "validation_error")
        assert set(error["detail"]) == {"artefact"}, upload.name
    settings.ARTEFACT_MAX_BYTES = 1024
    error = _error(
        _upload(api, draft.slug, artefact=SimpleUploadedFile("big.onnx", b"\x08" * 1025)),
        400,
        "validation_error",
    )
    assert error["detail"]["artefact"] == ["The file is larger than the 1 KiB limit for model files."]
    assert not ListingVersion.objects.exists()
    assert _upload(api, draft.slug, artefact=SimpleUploadedFile("ok.onnx", b"\x08" * 1024)).status_code == 201
