from __future__ import annotations

import pytest

from accounts import services
from accounts.models import ApiKey
from tests.accounts.reauth import login_recently

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


@pytest.mark.parametrize("scopes", [["read"], ["read", "write", "inference"]])
def test_an_api_key_cannot_create_keys_whatever_its_scopes(api_client, user, scopes):
    # Issue 13 item 1: a leaked key must not mint the next one (a permanent login past MFA).
    _bearer(api_client, user, scopes)
    response = api_client.post("/api/v1/api-keys", {"name": "more"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "api_key_not_allowed"
    assert ApiKey.objects.count() == 1


def test_an_api_key_cannot_revoke_keys(api_client, user):
    other = services.api_key_create(user=user, name="other", scopes=["read"])
    _bearer(api_client, user, ["read", "write"])
    response = api_client.delete(f"/api/v1/api-keys/{other.api_key.pk}")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "api_key_not_allowed"
    assert ApiKey.objects.get(pk=other.api_key.pk).revoked_at is None
    # Reading the list stays open to a read key: prefixes only.
    assert api_client.get("/api/v1/api-keys").json()["count"] == 2


def test_an_old_session_must_reauthenticate_first(api_client, user):
    login_recently(api_client, user, seconds_ago=301)
    response = api_client.post("/api/v1/api-keys", {"name": "more"}, format="json")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "reauthentication_required"
    assert error["detail"]["app_url"] == "/_allauth/app/v1/auth/reauthenticate"
    assert error["detail"]["browser_url"] == "/accounts/reauthenticate/"
    assert "reauthenticate" in error["detail"]["flows"]
    assert not ApiKey.objects.exists()

    login_recently(api_client, user)
    assert api_client.post("/api/v1/api-keys", {"name": "more"}, format="json").status_code == 201


def test_create_validation_error_names_the_field(api_client, user):
    login_recently(api_client, user)
    response = api_client.post("/api/v1/api-keys", {"name": "", "scopes": ["root"]}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["detail"]) == {"name", "scopes"}


def test_another_users_key_is_404_and_survives(api_client, user, other_user):
    victim = services.api_key_create(user=other_user, name="victim", scopes=["read"])
    services.api_key_create(user=user, name="t", scopes=["read"])
    login_recently(api_client, user)
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
