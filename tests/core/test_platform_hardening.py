"""Issue 13 items 8 and 10: JSON errors under /api/ in every mode, the Content-Security-Policy,
`/` answering only GET/HEAD, staff not made superusers, emails never shown as public names."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import path

from accounts import services as account_services
from accounts.models import User
from config import urls as project_urls
from marketplace.services.reviews import review_upsert
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import ListingFactory, paid_order

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("boom")


urlpatterns = [path("api/v1/boom", _boom), *project_urls.urlpatterns]
handler404 = project_urls.handler404
handler500 = project_urls.handler500


# ----------------------------------------------------------------------------- item 10


def test_unknown_api_path_is_the_json_envelope_with_debug_on(client, settings):
    settings.DEBUG = True  # `make demo`: Django would answer its HTML "Page not found" debug page
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "detail": {}}}
    assert client.get("/api/nothing-here/").json()["error"]["code"] == "not_found"


@pytest.mark.urls("tests.core.test_platform_hardening")
def test_server_error_under_api_is_json_with_debug_on(settings):
    settings.DEBUG = True
    response = Client(raise_request_exception=False).get("/api/v1/boom")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert "boom" not in response.content.decode()  # no traceback or message leaks


def test_method_not_allowed_under_api_is_json(client, user, settings):
    settings.DEBUG = True
    client.force_login(user)
    response = client.put("/api/v1/me", data="{}", content_type="application/json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_html_pages_keep_their_html_errors(client, settings):
    settings.DEBUG = True
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "application/json" not in response["Content-Type"]


# ----------------------------------------------------------------------------- item 8


def test_home_answers_only_get_and_head(client):
    assert client.get("/").status_code == 200
    assert client.head("/").status_code == 200
    for method in ("post", "put", "patch", "delete"):
        assert getattr(client, method)("/").status_code == 405, method


def test_every_response_carries_a_content_security_policy(client, settings):
    page = client.get("/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in page.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"  # model-card images: this site or data: only
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    # Stripe.js is loaded from STRIPE_JS_URL's origin (localstripe here, js.stripe.com in production).
    stripe_origin = "/".join(settings.STRIPE_JS_URL.split("/")[:3])
    assert stripe_origin in directives["script-src"].split()
    assert directives["frame-ancestors"] == "'none'"
    assert client.get("/api/v1/listings")["Content-Security-Policy"] == page


def test_user_create_with_is_staff_does_not_make_a_superuser():
    staff = account_services.user_create(email="staff@example.com", password=None, is_staff=True)
    assert (staff.is_staff, staff.is_superuser) == (True, False)
    assert not staff.has_perm("marketplace.resolve_dispute")
    boss = account_services.user_create(email="boss@example.com", password=None, is_superuser=True)
    assert (boss.is_staff, boss.is_superuser) == (True, True)


def test_the_email_is_never_shown_as_a_public_name(client, api_client):
    listing = ListingFactory(creator=UserFactory(email="carla.creator.private@example.com", display_name=""))
    buyer = UserFactory(email="jane.doe.private@example.com", display_name="")
    paid_order(buyer=buyer, listing=listing)
    review_upsert(buyer=buyer, listing=listing, rating=4, title="Fine", body="Works.")
    html = client.get(f"/models/{listing.slug}/").content.decode()
    reviews = api_client.get(f"/api/v1/listings/{listing.slug}/reviews").json()["results"]
    detail = api_client.get(f"/api/v1/listings/{listing.slug}").json()
    shown = html + str(reviews) + str(detail)
    assert "jane.doe.private" not in shown
    assert "carla.creator.private" not in shown
    assert reviews[0]["author"] == User(display_name="").public_name == "Anonymous member"
    named = UserFactory(display_name="Jane D.")
    assert named.public_name == "Jane D."
