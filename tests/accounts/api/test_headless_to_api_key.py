"""A program's first steps: headless sign-up → verify → API key → /api/v1/me; revoke → 401."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts.models import ApiKey

pytestmark = pytest.mark.django_db

APP = "/_allauth/app/v1"


def _code() -> str:
    match = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", mail.outbox[-1].body, re.MULTILINE)
    assert match
    return match.group(1)


def test_headless_signup_then_api_key_then_me(api_client, password):
    response = api_client.post(
        f"{APP}/auth/signup", {"email": "bot@example.com", "password": password}, format="json"
    )
    # Email verification is mandatory: the flow is pending, but a session token is issued.
    assert response.status_code == 401
    body = response.json()
    token = body["meta"]["session_token"]
    assert any(f["id"] == "verify_email" and f.get("is_pending") for f in body["data"]["flows"])

    response = api_client.post(
        f"{APP}/auth/email/verify", {"key": _code()}, format="json", HTTP_X_SESSION_TOKEN=token
    )
    assert response.status_code == 200, response.content
    token = response.json()["meta"].get("session_token", token)

    response = api_client.post(
        "/api/v1/api-keys",
        {"name": "bot", "scopes": ["read", "write"]},
        format="json",
        HTTP_X_SESSION_TOKEN=token,
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["key"].startswith("agr_live_")
    assert created["scopes"] == ["read", "write"]

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {created['key']}")
    me = api_client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["email"] == "bot@example.com"

    # The key can list keys (prefix only, never the secret), but managing keys is for the person:
    # it cannot revoke (or mint) keys; the session that made it can.
    listing = api_client.get("/api/v1/api-keys").json()
    assert listing["count"] == 1
    assert "key" not in listing["results"][0]
    response = api_client.delete(f"/api/v1/api-keys/{created['id']}")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "api_key_not_allowed"
    api_client.credentials()
    assert (
        api_client.delete(f"/api/v1/api-keys/{created['id']}", HTTP_X_SESSION_TOKEN=token).status_code == 204
    )
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {created['key']}")

    response = api_client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_headless_login_issues_a_session_token(api_client, user, password):
    response = api_client.post(
        f"{APP}/auth/login", {"email": user.email, "password": password}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["meta"]["session_token"]
    me = api_client.get("/api/v1/me", HTTP_X_SESSION_TOKEN=token)
    assert me.status_code == 200
    assert me.json()["id"] == user.pk


def test_readme_flow_then_reauthentication_after_the_timeout(api_client, user, password):
    """README "Using the API from a program": a fresh headless login may create a key at once;
    five minutes later the same session must re-authenticate (allauth's headless flow) first."""
    with time_machine.travel(timezone.now(), tick=False) as clock:
        response = api_client.post(
            f"{APP}/auth/login", {"email": user.email, "password": password}, format="json"
        )
        token = response.json()["meta"]["session_token"]
        response = api_client.post(
            "/api/v1/api-keys", {"name": "laptop"}, format="json", HTTP_X_SESSION_TOKEN=token
        )
        assert response.status_code == 201, response.content

        clock.shift(301)
        response = api_client.post(
            "/api/v1/api-keys", {"name": "later"}, format="json", HTTP_X_SESSION_TOKEN=token
        )
        assert response.status_code == 403
        error = response.json()["error"]
        assert error["code"] == "reauthentication_required"
        assert ApiKey.objects.filter(user=user).count() == 1

        response = api_client.post(
            error["detail"]["app_url"], {"password": password}, format="json", HTTP_X_SESSION_TOKEN=token
        )
        assert response.status_code == 200, response.content
        token = response.json()["meta"].get("session_token", token)
        response = api_client.post(
            "/api/v1/api-keys", {"name": "later"}, format="json", HTTP_X_SESSION_TOKEN=token
        )
        assert response.status_code == 201, response.content
