"""Buyers rate the calls they made: only the caller, only served calls, 1-5 stars, once per call
(a database constraint as well as the service's answer), within the rating window; and a rating
moves the serving provider's trust score."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import User
from compute.models import CallRating
from compute.selectors.reputation import trust_compute
from tests.accounts.factories import UserFactory
from tests.compute.reputation.conftest import served_call

pytestmark = pytest.mark.django_db


def _client(user: User, scope: str = "inference") -> APIClient:
    client = APIClient()
    key = account_services.api_key_create(user=user, name="k", scopes=[scope]).secret
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def _rate(client: APIClient, request_id: object, stars: object = 5):
    return client.post(f"/api/v1/inference-requests/{request_id}/rating", {"stars": stars}, format="json")


def test_the_caller_rates_a_served_call_once() -> None:
    buyer, provider = UserFactory(), UserFactory()
    call = served_call(buyer=buyer, provider=provider, at=timezone.now() - timedelta(hours=1))
    client = _client(buyer)

    created = _rate(client, call.request_id, 4)

    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["request_id"], body["stars"], body["provider"]) == (str(call.request_id), 4, provider.pk)
    rating = CallRating.objects.get()
    assert (rating.call_id, rating.buyer, rating.provider, rating.stars) == (call.pk, buyer, provider, 4)

    again = _rate(client, call.request_id, 1)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_state"
    assert again.json()["error"]["detail"]["reason"] == "already_rated"
    assert CallRating.objects.get().stars == 4  # the first rating stands


def test_only_the_caller_may_rate_and_only_a_served_call() -> None:
    buyer, provider = UserFactory(), UserFactory()
    call = served_call(buyer=buyer, provider=provider, at=timezone.now())
    failed = served_call(buyer=buyer, provider=provider, at=timezone.now(), outcome="failed")

    stranger = _rate(_client(UserFactory()), call.request_id)
    assert stranger.status_code == 404
    assert stranger.json()["error"]["code"] == "not_found"
    assert _rate(_client(buyer), failed.request_id).status_code == 404  # failed calls are not rated
    assert _rate(_client(buyer), uuid.uuid4()).status_code == 404
    assert _rate(_client(buyer, "read"), call.request_id).status_code == 403  # needs the inference scope
    assert _rate(APIClient(), call.request_id).status_code == 401
    assert not CallRating.objects.exists()


def test_free_playground_calls_and_ones_own_calls_are_not_rated() -> None:
    """Ratings that cost nothing (free playground calls, a provider calling its own node) would let
    anyone write a provider's score."""
    buyer, provider = UserFactory(), UserFactory()
    free = served_call(buyer=buyer, provider=provider, at=timezone.now(), entitlement="playground")
    own = served_call(buyer=provider, provider=provider, at=timezone.now())

    assert _rate(_client(buyer), free.request_id).status_code == 404
    refused = _rate(_client(provider), own.request_id)
    assert refused.status_code == 409
    assert refused.json()["error"]["detail"]["reason"] == "own_call"
    assert not CallRating.objects.exists()


@pytest.mark.parametrize("stars", [0, 6, -1, "5.5", None])
def test_a_rating_is_one_to_five_whole_stars(stars) -> None:
    buyer = UserFactory()
    call = served_call(buyer=buyer, provider=UserFactory(), at=timezone.now())

    response = _rate(_client(buyer), call.request_id, stars)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert not CallRating.objects.exists()


def test_a_call_may_be_rated_until_the_window_closes() -> None:
    buyer, provider = UserFactory(), UserFactory()
    now = timezone.now()
    just_in = served_call(buyer=buyer, provider=provider, at=now - timedelta(days=30) + timedelta(minutes=1))
    too_old = served_call(buyer=buyer, provider=provider, at=now - timedelta(days=30, minutes=1))
    client = _client(buyer)

    assert _rate(client, just_in.request_id).status_code == 201
    closed = _rate(client, too_old.request_id)
    assert closed.status_code == 409
    assert closed.json()["error"]["detail"]["reason"] == "window_closed"


def test_the_database_holds_one_rating_per_call_of_one_to_five_stars() -> None:
    buyer, provider = UserFactory(), UserFactory()
    call = served_call(buyer=buyer, provider=provider, at=timezone.now())
    CallRating.objects.create(call=call, buyer=buyer, provider=provider, stars=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        CallRating.objects.create(call=call, buyer=buyer, provider=provider, stars=1)
    other = served_call(buyer=buyer, provider=provider, at=timezone.now())
    for stars in (0, 6):
        with pytest.raises(IntegrityError), transaction.atomic():
            CallRating.objects.create(call=other, buyer=buyer, provider=provider, stars=stars)


def test_ratings_move_the_providers_trust_score() -> None:
    buyer, provider = UserFactory(), UserFactory()
    client = _client(buyer)
    before = trust_compute(provider_id=provider.pk, end=timezone.now() + timedelta(minutes=1))
    for _ in range(3):
        call = served_call(buyer=buyer, provider=provider, at=timezone.now())
        assert _rate(client, call.request_id, 5).status_code == 201

    after = trust_compute(provider_id=provider.pk, end=timezone.now() + timedelta(minutes=1))

    assert before.parts["ratings"] == 5_000
    assert after.parts["ratings"] == 10_000 * (15 + 15 - 8) // (4 * 8)  # 3 x 5 stars + the prior
    assert after.score > before.score
