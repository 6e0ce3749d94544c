"""The site's WSGI handler (core/wsgi.py), as gunicorn runs it: an API-key call to the gateway
skips the browser-only middleware and answers exactly what the full chain answers, headers
included; anything else (a cookie, another path) takes the full chain. Calls go through the WSGI
application itself (the Django test client has its own handler), to the session's real Triton
through `DirectTritonBackend` (tests/compute/gateway/backend.py), as in test_gateway_e2e.py."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from accounts import services as account_services
from compute.services.gateway_backend import gateway_backend_set
from core.wsgi import AgoraWSGIHandler
from marketplace.hosted_demo import IRIS
from tests.accounts.factories import UserFactory
from tests.compute.gateway.backend import DirectTritonBackend
from tests.compute.gateway.conftest import per_inference_plan
from tests.marketplace.factories import ListingFactory, VersionFactory
from tests.tokenomics.factories import funded_wallet

BODY = json.dumps(
    {"inputs": [{"name": "FEATURES", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]}
).encode()


@pytest.fixture(autouse=True)
def _keep_test_connection() -> Iterator[None]:
    # As Django's test client does: a request must not close the test's database connection
    # (it is inside the test's transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def iris_key(db: Any, pytriton_server: Any) -> Iterator[str]:
    listing = ListingFactory(slug="iris-wsgi")
    VersionFactory(
        listing=listing,
        version="1.0.0",
        triton_model_name=IRIS.triton_name,
        input_spec=IRIS.input_spec,
        output_spec=IRIS.output_spec,
    )
    per_inference_plan(listing, price_per_1000_cents=500)
    buyer = UserFactory()
    funded_wallet(user=buyer, amount=500)
    previous = gateway_backend_set(
        DirectTritonBackend(address=pytriton_server.http_address, node_id=7, provider_id=UserFactory().pk)
    )
    yield account_services.api_key_create(user=buyer, name="k", scopes=["inference"]).secret
    gateway_backend_set(previous)


def _call(app: Any, method: str, path: str, *, body: bytes = b"", **headers: str) -> tuple[str, dict, bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "testserver",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        **{f"HTTP_{name.upper()}": value for name, value in headers.items()},
    }
    answer: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answer["status"], answer["headers"] = status, dict(response_headers)
        return lambda data: None

    result = app(environ, start_response)
    try:
        payload = b"".join(result)
    finally:
        result.close()
    return answer["status"], answer["headers"], payload


@pytest.fixture
def sessions_seen(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths SessionMiddleware handled (it runs in the full chain only)."""
    seen: list[str] = []
    original = SessionMiddleware.process_request

    def spy(self: Any, request: Any) -> None:
        seen.append(request.path)
        original(self, request)

    monkeypatch.setattr(SessionMiddleware, "process_request", spy)
    return seen


@pytest.mark.django_db
def test_an_api_key_call_skips_the_browser_middleware_and_answers_as_the_full_chain(
    iris_key: str, sessions_seen: list[str]
) -> None:
    site, full = AgoraWSGIHandler(), WSGIHandler()
    auth = f"Bearer {iris_key}"

    lean_status, lean_headers, lean_body = _call(
        site, "POST", "/api/v1/inference/iris-wsgi", body=BODY, authorization=auth
    )
    assert sessions_seen == []  # the short chain served it
    full_status, full_headers, full_body = _call(
        full, "POST", "/api/v1/inference/iris-wsgi", body=BODY, authorization=auth
    )
    assert sessions_seen == ["/api/v1/inference/iris-wsgi"]

    assert lean_status == full_status == "200 OK", lean_body
    assert json.loads(lean_body)["entitlement"] == json.loads(full_body)["entitlement"] == "prepaid"
    # Every header, security ones included, is the same (values too; the length differs with the
    # digits of the latency); no cookie is set.
    assert lean_headers.pop("Content-Length")
    assert full_headers.pop("Content-Length")
    assert lean_headers == full_headers
    for header in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"):
        assert header in lean_headers
    assert "Set-Cookie" not in lean_headers


@pytest.mark.django_db
def test_refusals_are_the_same_through_both_chains(iris_key: str, sessions_seen: list[str]) -> None:
    site, full = AgoraWSGIHandler(), WSGIHandler()
    cases = [
        ("POST", "/api/v1/inference/iris-wsgi", BODY, "Bearer agr_live_nope_nope"),  # 401
        ("POST", "/api/v1/inference/no-such-model", BODY, f"Bearer {iris_key}"),  # 404
        ("POST", "/api/v1/inference/iris-wsgi", b'{"inputs": 3}', f"Bearer {iris_key}"),  # 400
        ("POST", "/v2/models/iris-wsgi/infer", b"{}", f"Bearer {iris_key}"),  # 400 (KServe path)
        ("POST", "/v2/health/ready", b"", f"Bearer {iris_key}"),  # a plain Django view: CSRF 403
    ]
    for method, path, body, auth in cases:
        lean = _call(site, method, path, body=body, authorization=auth)
        assert sessions_seen == [], path
        expected = _call(full, method, path, body=body, authorization=auth)
        sessions_seen.clear()
        assert lean[0] == expected[0], (path, lean, expected)
        assert lean[0] >= "400", (path, lean)
        assert lean[1] == expected[1], path
        assert json.loads(lean[2])["error"]["code"] == json.loads(expected[2])["error"]["code"], path


@pytest.mark.django_db
def test_a_call_with_a_cookie_or_without_a_key_takes_the_full_chain(
    iris_key: str, sessions_seen: list[str]
) -> None:
    site = AgoraWSGIHandler()
    _call(
        site,
        "POST",
        "/api/v1/inference/iris-wsgi",
        body=BODY,
        authorization=f"Bearer {iris_key}",
        cookie="a=b",
    )
    _call(site, "POST", "/api/v1/inference/iris-wsgi", body=BODY)
    _call(site, "GET", "/api/v1/usage", authorization=f"Bearer {iris_key}")
    assert sessions_seen == ["/api/v1/inference/iris-wsgi", "/api/v1/inference/iris-wsgi", "/api/v1/usage"]
