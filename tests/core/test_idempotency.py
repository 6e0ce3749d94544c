"""Idempotency-Key on API writes (API.md): replay returns the first response, a changed body is 409."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from core.exceptions import ApplicationError
from core.idempotency import idempotent
from core.models import IdempotencyRecord

pytestmark = pytest.mark.django_db
calls: list[Any] = []


class CountingView(APIView):
    """Stands in for a money-moving write: each real run appends to `calls`."""

    @idempotent
    def post(self, request: Any) -> Response:
        calls.append(request.data)
        if request.data.get("fail"):
            raise ApplicationError("refused")
        return Response({"run": len(calls), "echo": request.data}, status=201)


@pytest.fixture(autouse=True)
def _reset() -> None:
    calls.clear()


def _post(user: Any, body: dict[str, Any], key: str | None = "k-1") -> Response:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    request = APIRequestFactory().post("/api/v1/thing", body, format="json", **headers)
    force_authenticate(request, user=user)
    return CountingView.as_view()(request)


def test_a_replay_returns_the_first_response_and_runs_nothing(user) -> None:
    first = _post(user, {"amount": "100"})
    again = _post(user, {"amount": "100"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.data == first.data == {"run": 1, "echo": {"amount": "100"}}
    assert again["Idempotent-Replayed"] == "true"
    assert len(calls) == 1


def test_the_same_key_with_another_body_is_a_conflict(user) -> None:
    _post(user, {"amount": "100"})
    response = _post(user, {"amount": "101"})
    assert response.status_code == 409
    assert response.data["error"]["code"] == "idempotency_conflict"
    assert len(calls) == 1


def test_keys_belong_to_their_user(user, other_user) -> None:
    _post(user, {"amount": "100"})
    _post(other_user, {"amount": "100"})
    assert len(calls) == 2


def test_a_request_still_running_is_not_run_twice(user) -> None:
    _post(user, {"amount": "100"})
    # As if the first request were still inside the view when the repeat arrives.
    IdempotencyRecord.objects.filter(user=user, key="k-1").update(status_code=None, response_body=None)
    response = _post(user, {"amount": "100"})
    assert response.status_code == 409
    assert "still being processed" in response.data["error"]["message"]
    assert len(calls) == 1


def test_a_refused_request_stores_nothing_and_can_be_retried(user) -> None:
    response = _post(user, {"fail": True})
    assert response.status_code == 400
    assert not IdempotencyRecord.objects.exists()
    assert _post(user, {"fail": True}).status_code == 400
    assert len(calls) == 2


def test_without_a_key_every_request_runs(user) -> None:
    _post(user, {"amount": "100"}, key=None)
    _post(user, {"amount": "100"}, key=None)
    assert len(calls) == 2


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_a_bad_key_is_a_validation_error(user, key: str) -> None:
    response = _post(user, {"amount": "100"}, key=key)
    assert response.status_code == 400
    assert response.data["error"]["code"] == "validation_error"
    assert calls == []
