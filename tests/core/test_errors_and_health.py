"""The API error envelope on Django-level errors, HTML error pages elsewhere, and /healthz."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import path

from config import urls as project_urls
from core import views as core_views

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("boom")


def test_unknown_api_path_is_404_envelope(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "detail": {}}}


def test_unknown_html_path_is_404_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_api_400_envelope_names_fields(client, user):
    client.force_login(user)  # Django's test client skips CSRF checks unless asked to enforce them
    response = client.post("/api/v1/api-keys", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    response = client.post("/api/v1/api-keys", data={"name": ""}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert "name" in response.json()["error"]["detail"]


def test_api_403_envelope(user):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(user)
    response = csrf_client.delete("/api/v1/api-keys/1")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_api_405_envelope(client, user):
    client.force_login(user)
    response = client.put("/api/v1/me", data="{}", content_type="application/json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


urlpatterns = [path("api/v1/boom", _boom), path("boom", _boom), *project_urls.urlpatterns]


@pytest.mark.urls("tests.core.test_errors_and_health")
def test_server_error_is_500_envelope_on_api_and_page_elsewhere(settings):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    response = client.get("/api/v1/boom")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    response = client.get("/boom")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


handler500 = core_views.server_error


def test_healthz_reports_each_dependency(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["cache"] == "ok"
    assert body["broker"] in ("ok", "eager")


def test_healthz_reports_a_broken_database(client, monkeypatch):
    from core import health

    monkeypatch.setattr(health, "database_status", lambda: "error: OperationalError")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"


def test_schema_and_docs_are_served_offline(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    spec = schema.json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/me" in spec["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()


def test_pages_render(client, user):
    for url in ("/", "/accounts/login/", "/accounts/signup/", "/accounts/wallet-login/"):
        assert client.get(url).status_code == 200, url
    client.force_login(user)
    for url in ("/accounts/profile/", "/accounts/api-keys/", "/accounts/wallets/", "/accounts/2fa/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert user.email in response.content.decode() or user.public_name in response.content.decode()


def test_broker_probe_talks_to_the_configured_broker(settings):
    from core import health

    settings.CELERY_TASK_ALWAYS_EAGER = False
    # Redis in CI (REDIS_URL), Celery's in-memory transport otherwise: a real connection either way.
    assert health.broker_status() == "ok"


def test_broker_probe_reports_an_unreachable_broker(settings, monkeypatch):
    from config.celery import app
    from core import health

    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(app.conf, "broker_write_url", None)
    assert health.broker_status().startswith("error:")


@pytest.mark.parametrize(
    "query", ["page_size=²", "page_size=" + "9" * 5000, "page=", "page=last", "page=1&page=2"]
)
def test_bad_pagination_params_are_400_not_500(client, user, query):
    client.force_login(user)
    response = client.get(f"/api/v1/api-keys?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
