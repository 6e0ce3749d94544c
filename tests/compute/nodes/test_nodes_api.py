"""The nodes API and registration checks against the session's REAL Triton (PyTriton), and the
SSRF refusals of node URLs (real DNS resolution of names like localhost)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from compute.errors import UrlRefused
from compute.models import Node
from compute.url_safety import node_url_check
from tests.accounts.factories import UserFactory
from tests.compute.stub_kserve import closed_port
from tests.marketplace.factories import VersionFactory

pytestmark = pytest.mark.django_db

PRODUCTION_LIKE = {"TRITON_ALLOW_PRIVATE_NODES": False, "TRITON_ALLOWED_HOSTS": []}


@pytest.fixture
def provider_client() -> tuple[Any, APIClient]:
    provider = UserFactory()
    client = APIClient()
    client.force_authenticate(provider)
    return provider, client


def test_a_node_serving_its_versions_registers_healthy_and_is_listed(
    pytriton_server, provider_client
) -> None:
    provider, client = provider_client
    version = VersionFactory()  # identity_fp32, INPUT_1/OUTPUT_1 FP32 [-1, 4]: what the server serves
    response = client.post(
        "/api/v1/nodes",
        {"triton_url": pytriton_server.url, "gpu": "CPU", "versions": [version.pk]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["healthy"] is True
    assert body["versions"] == [
        {"version": version.pk, "listing": version.listing.slug, "model_name": "identity_fp32", "ready": True}
    ]
    listed = client.get("/api/v1/nodes").json()
    assert [n["id"] for n in listed] == [body["id"]]
    # Public reputation page data.
    public = APIClient().get(f"/api/v1/providers/{provider.pk}")
    assert public.status_code == 200
    assert public.json()["nodes"][0]["id"] == body["id"]


def test_a_node_whose_tensors_differ_from_the_listing_is_refused_naming_them(
    pytriton_server, provider_client
) -> None:
    _, client = provider_client
    version = VersionFactory(input_spec=[{"name": "INPUT_1", "datatype": "FP32", "shape": [-1, 8]}])
    response = client.post(
        "/api/v1/nodes", {"triton_url": pytriton_server.url, "versions": [version.pk]}, format="json"
    )
    assert response.status_code == 400
    problems = response.json()["error"]["detail"]["problems"]
    assert any("input INPUT_1 has shape" in p for p in problems), problems
    assert not Node.objects.exists()


def test_an_unreachable_node_is_refused_naming_the_health_check(provider_client) -> None:
    _, client = provider_client
    version = VersionFactory()
    url = f"http://127.0.0.1:{closed_port()}"
    response = client.post("/api/v1/nodes", {"triton_url": url, "versions": [version.pk]}, format="json")
    assert response.status_code == 400
    assert "/v2/health/ready" in response.json()["error"]["message"]


def test_nodes_are_the_providers_own(pytriton_server, provider_client) -> None:
    _, client = provider_client
    version = VersionFactory()
    node_id = client.post(
        "/api/v1/nodes", {"triton_url": pytriton_server.url, "versions": [version.pk]}, format="json"
    ).json()["id"]
    stranger = APIClient()
    stranger.force_authenticate(UserFactory())
    assert stranger.get(f"/api/v1/nodes/{node_id}").status_code == 404
    assert stranger.delete(f"/api/v1/nodes/{node_id}").status_code == 404
    assert (
        client.patch(f"/api/v1/nodes/{node_id}", {"region": "eu-west"}, format="json").json()["region"]
        == "eu-west"
    )
    assert client.delete(f"/api/v1/nodes/{node_id}").status_code == 204
    assert client.get(f"/api/v1/nodes/{node_id}").status_code == 404
    assert Node.objects.get(pk=node_id).is_active is False  # kept for the request log


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/model",
        "file:///etc/passwd",
        "http://127.0.0.1:8000",
        "http://localhost:8000",  # a name: refused for what it resolves to
        "http://10.1.2.3:8000",
        "http://192.168.0.10",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8000",
        "http://[::ffff:127.0.0.1]:8000",
        "http://metadata.google.internal",
        "http://0.0.0.0:8000",
        # The same addresses spelled otherwise: refused for what they resolve to, not how they read.
        "http://2130706433/",  # 127.0.0.1 as one decimal number
        "http://0x7f.1:8000",
        "http://127.1:8000",
        "http://017700000001/",  # octal
        "http://LOCALHOST:8000",
        "http://user@127.0.0.1:8000",
        "http://127.0.0.1#@example.com/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
        "http://[0:0:0:0:0:ffff:a9fe:a9fe]/",  # 169.254.169.254, IPv4-mapped
        "http://100.64.0.1/",  # carrier-grade NAT: not private by the RFC 1918 list, not public either
        "http://198.18.0.1/",
        "http://224.0.0.1/",
        "gopher://example.com/",
        "http://:8000/",
    ],
)
def test_inward_and_odd_urls_are_refused_outside_development(url: str) -> None:
    with override_settings(**PRODUCTION_LIKE), pytest.raises(UrlRefused):
        node_url_check(url)


def test_the_api_refuses_an_inward_url_on_registration_and_on_change(provider_client) -> None:
    provider, client = provider_client
    version = VersionFactory()
    with override_settings(**PRODUCTION_LIKE):
        for url in ("http://169.254.169.254/latest/meta-data", "http://2130706433:8000"):
            refused = client.post(
                "/api/v1/nodes", {"triton_url": url, "versions": [version.pk]}, format="json"
            )
            assert refused.status_code == 400, refused.json()
            assert refused.json()["error"]["code"] == "validation_error"
        assert not Node.objects.filter(provider=provider).exists()
        node = Node.objects.create(provider=provider, name="n", triton_url="http://93.184.216.34:8000")
        moved = client.patch(
            f"/api/v1/nodes/{node.pk}", {"triton_url": "http://10.0.0.5:8000"}, format="json"
        )
        assert moved.status_code == 400, moved.json()
        assert moved.json()["error"]["code"] == "validation_error"
    node.refresh_from_db()
    assert node.triton_url == "http://93.184.216.34:8000"


def test_public_addresses_and_allow_listed_hosts_pass() -> None:
    with override_settings(**PRODUCTION_LIKE):
        assert node_url_check("http://93.184.216.34:8000/") == "http://93.184.216.34:8000"
    with override_settings(TRITON_ALLOW_PRIVATE_NODES=False, TRITON_ALLOWED_HOSTS=["localhost"]):
        assert node_url_check("http://localhost:8000") == "http://localhost:8000"


def test_versions_may_be_named_by_listing_and_number(pytriton_server, provider_client) -> None:
    _, client = provider_client
    version = VersionFactory(version="2.1.0")
    ref = f"{version.listing.slug}@2.1.0"
    response = client.post(
        "/api/v1/nodes", {"triton_url": pytriton_server.url, "versions": [ref]}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["versions"][0]["version"] == version.pk
    missing = client.post(
        "/api/v1/nodes", {"triton_url": pytriton_server.url, "versions": ["nope@1.0.0"]}, format="json"
    )
    assert missing.status_code == 400
    assert "nope@1.0.0" in missing.json()["error"]["message"]
