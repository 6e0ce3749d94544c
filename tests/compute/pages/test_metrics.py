"""/metrics (issue 17, item 9): the gateway's Prometheus metrics, readable with the scraper's
bearer token or a staff session only (anyone in development without a token); counters move with
calls; several worker processes add up in multiprocess mode."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from compute import metrics
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "t" * 40


def _sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


@override_settings(METRICS_BEARER_TOKEN=TOKEN, DEBUG=False)
def test_metrics_need_the_bearer_token_or_staff(client):
    url = reverse("compute:metrics")
    refused = client.get(url)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "authentication_required"
    assert refused["WWW-Authenticate"].startswith("Bearer")
    assert client.get(url, HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    client.force_login(UserFactory())
    assert client.get(url).status_code == 401
    client.force_login(UserFactory(is_staff=True))
    assert client.get(url).status_code == 200


def test_without_a_token_only_development_is_open(client):
    url = reverse("compute:metrics")
    with override_settings(METRICS_BEARER_TOKEN="", DEBUG=False):
        assert client.get(url).status_code == 401
    with override_settings(METRICS_BEARER_TOKEN="", DEBUG=True):
        assert client.get(url).status_code == 200


@override_settings(METRICS_BEARER_TOKEN=TOKEN)
def test_calls_retries_ejections_and_settlement_lag_are_exported(client):
    before = client.get(reverse("compute:metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    metrics.call_observed(listing="iris-m", node_id=7, outcome="ok", latency_s=0.004)
    metrics.call_observed(listing="iris-m", node_id=None, outcome="provider_failed")
    metrics.retry_observed(listing="iris-m", reason="timeout")
    metrics.ejection_observed(node_id=7)
    metrics.settlement_observed(calls=3, lag_s=12.5)
    response = client.get(reverse("compute:metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()

    def moved(name: str, **labels: str) -> float:
        return _sample(text, name, **labels) - _sample(before, name, **labels)

    assert moved("agora_inference_calls_total", listing="iris-m", node="7", outcome="ok") == 1
    assert moved("agora_inference_calls_total", listing="iris-m", node="none", outcome="provider_failed") == 1
    assert moved("agora_inference_latency_seconds_count", listing="iris-m") == 1
    assert moved("agora_inference_latency_seconds_bucket", listing="iris-m", le="0.005") == 1
    assert moved("agora_inference_retries_total", listing="iris-m", reason="timeout") == 1
    assert moved("agora_node_ejections_total", node="7") == 1
    assert moved("agora_settled_calls_total") == 3
    assert _sample(text, "agora_settlement_lag_seconds") == 12.5


WORKER = """
import sys
from compute import metrics
for _ in range(int(sys.argv[1])):
    metrics.call_observed(listing="mp", node_id=1, outcome="ok", latency_s=0.002)
"""


def test_worker_processes_add_up_in_multiprocess_mode(tmp_path: Path):
    """Two worker processes write their own files; one exposition sums them (gunicorn's case)."""
    env = {**os.environ, metrics.MULTIPROC_ENV: str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.django.test"}
    for count in (3, 4):
        subprocess.run(
            [sys.executable, "-c", WORKER, str(count)], env=env, check=True, cwd=Path(__file__).parents[3]
        )
    reader = "from compute import metrics; print(metrics.exposition()[0].decode())"
    out = subprocess.run(
        [sys.executable, "-c", reader],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[3],
    ).stdout
    assert _sample(out, "agora_inference_calls_total", listing="mp", node="1", outcome="ok") == 7
    assert _sample(out, "agora_inference_latency_seconds_count", listing="mp") == 7


def test_settlement_reports_the_calls_it_billed_and_the_lag_of_what_still_waits():
    from datetime import timedelta

    from django.utils import timezone

    from compute.services.settlement import metering_settle
    from marketplace.hosted_demo import IRIS
    from tests.compute.gateway.helpers import log_call
    from tests.compute.pages.conftest import hosted_listing

    listing = hosted_listing(IRIS)
    buyer, provider = UserFactory(), UserFactory()
    log_call(user=buyer, listing=listing, provider=provider, at=timezone.now() - timedelta(minutes=5))
    settled_before = metrics.SETTLED_CALLS._value.get()
    metering_settle(max_batches=0)  # stored, not billed: it waits
    assert metrics.SETTLEMENT_LAG._value.get() >= 300
    metering_settle()
    assert metrics.SETTLED_CALLS._value.get() - settled_before == 1
    assert metrics.SETTLEMENT_LAG._value.get() == 0


def test_the_gateway_counts_its_calls_and_refusals(pytriton_server):
    """Through the real gateway and a real Triton (compute's router stood in by the gateway tests'
    one-node DirectTritonBackend until it lands): a served call and an input refusal are counted."""
    from compute.services.gateway import VIA_PLAYGROUND, GatewayError, inference_run
    from compute.services.gateway_backend import gateway_backend_set
    from marketplace.hosted_demo import IRIS
    from tests.compute.gateway.backend import DirectTritonBackend
    from tests.compute.pages.conftest import hosted_listing

    listing = hosted_listing(IRIS)
    user = UserFactory()
    previous = gateway_backend_set(
        DirectTritonBackend(address=pytriton_server.http_address, node_id=31, provider_id=None)
    )
    try:
        ok_before = metrics.CALLS.labels(listing=listing.slug, node="31", outcome="ok")._value.get()
        bad_before = metrics.CALLS.labels(
            listing=listing.slug, node="none", outcome="validation_error"
        )._value.get()
        tensor = {"name": "FEATURES", "datatype": "FP32", "shape": [1, 4], "data": [5.1, 3.5, 1.4, 0.2]}
        result = inference_run(
            user=user, listing_slug=listing.slug, body={"inputs": [tensor]}, via=VIA_PLAYGROUND
        )
        assert result.node_id == 31
        with pytest.raises(GatewayError):
            inference_run(
                user=user,
                listing_slug=listing.slug,
                body={"inputs": [{**tensor, "name": "NOPE"}]},
                via=VIA_PLAYGROUND,
            )
        with pytest.raises(GatewayError):
            inference_run(
                user=user, listing_slug="no-such-model", body={"inputs": [tensor]}, via=VIA_PLAYGROUND
            )
    finally:
        gateway_backend_set(previous)
    assert metrics.CALLS.labels(listing=listing.slug, node="31", outcome="ok")._value.get() - ok_before == 1
    assert (
        metrics.CALLS.labels(listing=listing.slug, node="none", outcome="validation_error")._value.get()
        - bad_before
        == 1
    )
    assert (
        metrics.CALLS.labels(listing=metrics.UNKNOWN_LISTING, node="none", outcome="not_found")._value.get()
        >= 1
    )
