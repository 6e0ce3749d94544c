"""Every state-changing HTML route refuses a POST that lacks the CSRF token (W3)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# Token-authenticated APIs: DRF enforces CSRF itself for session-authenticated calls (tested in
# tests/accounts/api), and allauth's headless *app* client authenticates by X-Session-Token.
# The Stripe webhook is authenticated by its signature, not a cookie (tests/tokenomics/stripe).
# The KServe v2 paths take an API key only (tests/compute/gateway).
NOT_COOKIE_AUTHENTICATED = ("api/", "_allauth/app/", "webhooks/stripe/", "v2")
SAMPLE = {"int": "1", "str": "x", "slug": "x", "path": "x", "uuid": "00000000-0000-0000-0000-000000000000"}


def _routes(patterns, prefix: str = ""):
    for entry in patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + route)
        elif isinstance(entry, URLPattern):
            yield prefix + route


def _concrete(route: str) -> str | None:
    """Turn a route into a sample path; regex routes with groups are sampled crudely or skipped."""
    path = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE[m.group(1) or "str"], route)
    if any(c in path for c in "^$()[]?*+\\"):
        path = path.replace("^", "").replace("$", "").replace("\\Z", "")
        path = re.sub(r"\(\?P<\w+>[^)]*\)", "x", path)
        if any(c in path for c in "()[]?*+\\"):
            return None
    return "/" + path


def test_every_html_post_without_token_is_refused(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    checked, refused = [], []
    for route in _routes(get_resolver().url_patterns):
        if route.startswith(NOT_COOKIE_AUTHENTICATED):
            continue
        path = _concrete(route)
        if path is None:
            continue
        response = client.post(path, {"anything": "1"})
        checked.append(path)
        if response.status_code != 403:
            refused.append((path, response.status_code))
    assert len(checked) > 30, checked  # the walk really covered our pages, allauth's and the admin
    assert refused == [], f"POST without a CSRF token was not refused: {refused}"


def test_csrf_failure_page_explains_itself(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/accounts/api-keys/", {"name": "x", "scopes": ["read"]})
    assert response.status_code == 403
    assert "CSRF" in response.content.decode()
    assert not user.api_keys.exists()


def test_htmx_post_with_header_token_is_accepted(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    page = client.get("/accounts/api-keys/")
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page.content.decode()).group(1)
    response = client.post(
        "/accounts/api-keys/",
        {"name": "htmx", "scopes": ["read"]},
        HTTP_X_CSRFTOKEN=token,
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert user.api_keys.filter(name="htmx").exists()
