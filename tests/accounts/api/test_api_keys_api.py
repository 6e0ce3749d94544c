from __future__ import annotations

import pytest

from accounts import services
from accounts.models import ApiKey

pytestmark = pytest.mark.django_db


def _bearer(api_client, user, scopes):
    key = services.api_key_create(user=user, name="t", scopes=scopes)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.secret}")
    return key


def test_me_without_credentials_is_401_envelope(api_client):
    response = api_client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "not_authenticated",
            "message": "Authentication credentials were not provided.",
            "detail": {},
        }
    }


def test_malformed_authorization_header_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token abc")
    response = api_client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_read_only_key_cannot_create_keys(api_client, user):
    _bearer(api_client, user, ["read"])
    response = api_client.post("/api/v1/api-keys", {"name": "more"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert ApiKey.objects.count() == 1


def test_create_validation_error_names_the_field(api_client, user):
    _bearer(api_client, user, ["read", "write"])
    response = api_client.post("/api/v1/api-keys", {"name": "", "scopes": ["root"]}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["detail"]) == {"name", "scopes"}


def test_another_users_key_is_404_and_survives(api_client, user, other_user):
    victim = services.api_key_create(user=other_user, name="victim", scopes=["read"])
    _bearer(api_client, user, ["read", "write"])
    response = api_client.delete(f"/api/v1/api-keys/{victim.api_key.pk}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert ApiKey.objects.get(pk=victim.api_key.pk).revoked_at is None
    listing = api_client.get("/api/v1/api-keys").json()
    assert [k["name"] for k in listing["results"]] == ["t"]


def test_list_is_paginated(api_client, user):
    for i in range(25):
        services.api_key_create(user=user, name=f"k{i}", scopes=["read"])
    api_client.force_authenticate(user)
    page = api_client.get("/api/v1/api-keys").json()
    assert page["count"] == 25
    assert len(page["results"]) == 20
    assert page["next"].endswith("page=2")
    assert page["previous"] is None
    assert len(api_client.get("/api/v1/api-keys?page=2").json()["results"]) == 5
    assert api_client.get("/api/v1/api-keys?page=9").json()["error"]["code"] == "not_found"


def test_session_write_requires_csrf(user):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/api/v1/api-keys", {"name": "x"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not ApiKey.objects.exists()
