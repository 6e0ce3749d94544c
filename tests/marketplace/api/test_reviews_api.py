"""GET/POST /api/v1/listings/{slug}/reviews, POST /api/v1/reviews/{id}/reply, DELETE /api/v1/reviews/{id}."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts import services as account_services
from marketplace.models import Listing, ListingStatus, Review
from marketplace.services.reviews import review_reply, review_upsert
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import ListingFactory, verified_buyer

pytestmark = pytest.mark.django_db


def url(listing: Listing) -> str:
    return f"/api/v1/listings/{listing.slug}/reviews"


@pytest.fixture
def listing() -> Listing:
    return ListingFactory()


def test_anyone_reads_a_paginated_list(api_client, listing):
    first = verified_buyer(listing)
    review, _ = review_upsert(buyer=first, listing=listing, rating=5, title="Great", body="Works.")
    review_reply(creator=listing.creator, review=review, reply="Thanks!")
    review_upsert(buyer=verified_buyer(listing), listing=listing, rating=3)
    response = api_client.get(url(listing))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 2
    newest, oldest = body["results"]
    assert newest["rating"] == 3
    assert newest["reply"] is None
    assert oldest == {
        "id": review.pk,
        "listing": listing.slug,
        "author": first.public_name,
        "verified_buyer": True,
        "rating": 5,
        "title": "Great",
        "body": "Works.",
        "created_at": oldest["created_at"],
        "updated_at": oldest["updated_at"],
        "reply": {"body": "Thanks!", "replied_at": oldest["reply"]["replied_at"]},
    }


def test_list_pages(api_client, listing):
    for _ in range(3):
        review_upsert(buyer=verified_buyer(listing), listing=listing, rating=4)
    body = api_client.get(url(listing), {"page_size": 2}).json()
    assert (body["count"], len(body["results"])) == (3, 2)
    assert body["next"].endswith("page=2&page_size=2")


def test_unknown_and_unpublished_listings_are_404_except_to_the_creator(api_client, listing):
    assert api_client.get("/api/v1/listings/no-such-model/reviews").json()["error"]["code"] == "not_found"
    draft = ListingFactory(status=ListingStatus.DRAFT)
    assert api_client.get(url(draft)).status_code == 404
    api_client.force_authenticate(UserFactory())
    assert api_client.get(url(draft)).status_code == 404
    api_client.force_authenticate(draft.creator)
    assert api_client.get(url(draft)).status_code == 200


def test_verified_buyer_posts_201_then_edits_200(api_client, listing):
    buyer = verified_buyer(listing)
    api_client.force_authenticate(buyer)
    created = api_client.post(url(listing), {"rating": 4, "title": "Good"}, format="json")
    assert created.status_code == 201
    assert created.json()["rating"] == 4
    assert created.json()["body"] == ""
    edited = api_client.post(url(listing), {"rating": 2, "body": "Broke in 1.1"}, format="json")
    assert edited.status_code == 200
    assert edited.json()["id"] == created.json()["id"]
    assert (edited.json()["rating"], edited.json()["title"], edited.json()["body"]) == (2, "", "Broke in 1.1")
    assert Review.objects.count() == 1
    stored = Listing.objects.get(pk=listing.pk)
    assert (stored.rating_average, stored.rating_count) == (Decimal("2.00"), 1)


def test_unverified_buyer_is_403(api_client, listing):
    api_client.force_authenticate(UserFactory())
    response = api_client.post(url(listing), {"rating": 5}, format="json")
    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "code": "permission_denied",
            "message": "Only buyers of this model can review it.",
            "detail": {},
        }
    }


def test_creator_cannot_review_own_listing(api_client, listing):
    api_client.force_authenticate(listing.creator)
    response = api_client.post(url(listing), {"rating": 5}, format="json")
    assert response.status_code == 403


def test_anonymous_post_is_401(api_client, listing):
    response = api_client.post(url(listing), {"rating": 5}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "payload",
    [
        {"rating": 0},
        {"rating": 6},
        {"rating": "five"},
        {},
        {"rating": 4, "title": "x" * 121},
        {"rating": 4, "title": 7},
    ],
)
def test_invalid_input_is_400(api_client, listing, payload):
    api_client.force_authenticate(verified_buyer(listing))
    response = api_client.post(url(listing), payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert not Review.objects.exists()


def test_api_key_needs_write_scope_to_post(api_client, listing):
    buyer = verified_buyer(listing)
    read_only = account_services.api_key_create(user=buyer, name="r", scopes=["read"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {read_only.secret}")
    assert api_client.get(url(listing)).status_code == 200
    assert api_client.post(url(listing), {"rating": 5}, format="json").status_code == 403
    writer = account_services.api_key_create(user=buyer, name="w", scopes=["write"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {writer.secret}")
    assert api_client.post(url(listing), {"rating": 5}, format="json").status_code == 201


def test_creator_replies_once(api_client, listing):
    review, _ = review_upsert(buyer=verified_buyer(listing), listing=listing, rating=3)
    api_client.force_authenticate(listing.creator)
    reply_url = f"/api/v1/reviews/{review.pk}/reply"
    first = api_client.post(reply_url, {"reply": "Fixed in 1.2"}, format="json")
    assert first.status_code == 200
    assert first.json()["reply"]["body"] == "Fixed in 1.2"
    second = api_client.post(reply_url, {"reply": "Again"}, format="json")
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "invalid_state"
    assert Review.objects.get().reply == "Fixed in 1.2"


def test_others_cannot_reply(api_client, listing):
    buyer = verified_buyer(listing)
    review, _ = review_upsert(buyer=buyer, listing=listing, rating=3)
    for intruder in (buyer, UserFactory()):
        api_client.force_authenticate(intruder)
        response = api_client.post(f"/api/v1/reviews/{review.pk}/reply", {"reply": "Hi"}, format="json")
        assert response.status_code == 403
    assert api_client.post("/api/v1/reviews/999999/reply", {"reply": "Hi"}, format="json").status_code == 404
    assert Review.objects.get().replied_at is None


def test_author_deletes_own_review_only(api_client, listing):
    buyer = verified_buyer(listing)
    review, _ = review_upsert(buyer=buyer, listing=listing, rating=3)
    api_client.force_authenticate(listing.creator)
    assert api_client.delete(f"/api/v1/reviews/{review.pk}").status_code == 403
    api_client.force_authenticate(buyer)
    assert api_client.delete(f"/api/v1/reviews/{review.pk}").status_code == 204
    assert not Review.objects.exists()
    assert Listing.objects.get(pk=listing.pk).rating_count == 0
    assert api_client.delete(f"/api/v1/reviews/{review.pk}").status_code == 404


def test_schema_documents_the_review_operations(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    reviews = schema["paths"]["/api/v1/listings/{slug}/reviews"]
    assert {"get", "post"} <= set(reviews)
    assert {"200", "201", "403", "404", "409"} <= set(reviews["post"]["responses"])
    assert "post" in schema["paths"]["/api/v1/reviews/{review_id}/reply"]
