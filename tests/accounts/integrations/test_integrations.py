"""Integrations: a developer registers an app, gets a public id for the `Agora-Integration` header,
through the API (`POST/GET /api/v1/integrations`) or the section under the API keys page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts import selectors, services
from accounts.models import INTEGRATION_HEADER, Integration
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def _bearer(api_client, user, scopes):
    key = services.api_key_create(user=user, name="t", scopes=scopes)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.secret}")


def test_register_and_list_integrations_through_the_api(api_client, user):
    api_client.force_authenticate(user)
    response = api_client.post(
        "/api/v1/integrations", {"name": "Slack summariser", "url": "https://example.com/app"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Slack summariser"
    assert body["url"] == "https://example.com/app"
    assert body["public_id"].startswith("int_")
    assert len(body["public_id"]) == 20
    listed = api_client.get("/api/v1/integrations").json()
    assert [item["public_id"] for item in listed["results"]] == [body["public_id"]]


def test_names_are_unique_per_owner_in_any_case(api_client, user):
    api_client.force_authenticate(user)
    assert api_client.post("/api/v1/integrations", {"name": "Bot"}, format="json").status_code == 201
    response = api_client.post("/api/v1/integrations", {"name": " bot "}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "integration_name_taken"
    assert "name" in response.json()["error"]["detail"]
    # Another developer may use the same name.
    services.integration_create(user=UserFactory(), name="Bot")
    assert Integration.objects.filter(name__iexact="bot").count() == 2


def test_a_blank_name_or_a_bad_url_is_a_field_error(api_client, user):
    api_client.force_authenticate(user)
    response = api_client.post("/api/v1/integrations", {"name": "  ", "url": "not a url"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["detail"]) == {"name", "url"}


def test_scopes_and_anonymous_access(api_client, user):
    assert api_client.get("/api/v1/integrations").status_code == 401
    _bearer(api_client, user, ["read"])
    assert api_client.get("/api/v1/integrations").status_code == 200
    assert api_client.post("/api/v1/integrations", {"name": "x"}, format="json").status_code == 403
    _bearer(api_client, user, ["read", "write"])
    assert api_client.post("/api/v1/integrations", {"name": "x"}, format="json").status_code == 201


def test_one_sees_only_ones_own_integrations(api_client, user):
    services.integration_create(user=UserFactory(), name="Theirs")
    api_client.force_authenticate(user)
    assert api_client.get("/api/v1/integrations").json()["results"] == []


def test_the_gateway_resolves_header_values_to_integrations(user):
    mine = services.integration_create(user=user, name="Mine")
    found = selectors.integrations_by_public_id([mine.public_id, "int_unknown", "", "garbage"])
    assert list(found) == [mine.public_id]
    assert found[mine.public_id].owner == user
    assert INTEGRATION_HEADER == "Agora-Integration"


def test_the_api_keys_page_registers_an_integration_with_htmx(client, user):
    client.force_login(user)
    page = client.get(reverse("accounts:api-keys"))
    assert 'id="integrations-section"' in page.content.decode()
    response = client.post(
        reverse("accounts:integrations"), {"name": "CLI tool", "url": ""}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    integration = Integration.objects.get(owner=user)
    assert integration.public_id in html
    assert f"{INTEGRATION_HEADER}: {integration.public_id}" in html
    assert "<html" not in html  # the section alone


def test_a_duplicate_name_is_shown_next_to_the_field(client, user):
    client.force_login(user)
    services.integration_create(user=user, name="CLI tool")
    response = client.post(reverse("accounts:integrations"), {"name": "cli TOOL"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "You already have an integration with this name." in html
    # Next to its field, as the API keys form shows errors: under the name's label, before the URL's.
    error = html.index("You already have an integration")
    assert html.index('<label for="id_name"') < error < html.index('<label for="id_url"')
    without_htmx = client.post(reverse("accounts:integrations"), {"name": ""})
    assert without_htmx.status_code == 422
    assert Integration.objects.filter(owner=user).count() == 1
