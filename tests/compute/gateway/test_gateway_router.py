"""The gateway through compute's REAL router: a node registered against the session's PyTriton
server (readiness and tensors checked), a second node that fails every call (a stub answering
503), and buyers calling with API keys. Nothing between the API key and Triton is replaced."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as account_services
from compute.models import InferenceRequest, Node, NodeVersion, Outcome
from compute.services import routing
from compute.services.nodes import node_register
from compute.services.settlement import log_drain
from marketplace.hosted_demo import IRIS
from tests.accounts.factories import UserFactory
from tests.compute.gateway.conftest import per_inference_plan
from tests.compute.stub_kserve import StubNode
from tests.marketplace.factories import ListingFactory, VersionFactory
from tests.tokenomics.factories import funded_wallet, staked
from tokenomics.selectors.ledger import ledger_verify

SETOSA = [5.1, 3.5, 1.4, 0.2]


@pytest.fixture
def iris_version(db: Any) -> Any:
    listing = ListingFactory(slug="iris-routed")
    version = VersionFactory(
        listing=listing,
        version="1.0.0",
        triton_model_name=IRIS.triton_name,
        input_spec=IRIS.input_spec,
        output_spec=IRIS.output_spec,
    )
    per_inference_plan(listing, price_per_1000_cents=500)
    return version


def _call(buyer: Any) -> Any:
    client = APIClient()
    key = account_services.api_key_create(user=buyer, name="k", scopes=["inference"]).secret
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    body = {"inputs": [{"name": "FEATURES", "shape": [1, 4], "datatype": "FP32", "data": SETOSA}]}
    return client.post("/api/v1/inference/iris-routed", body, format="json")


@pytest.mark.django_db
def test_a_call_is_routed_to_the_registered_node_and_a_failing_node_costs_nothing(
    pytriton_server: Any, iris_version: Any
) -> None:
    routing.candidates_forget()
    provider = staked(user=UserFactory())  # paid traffic needs the minimum stake
    good = node_register(provider=provider, triton_url=pytriton_server.url, version_ids=[iris_version.pk])
    stub = StubNode(mode="error", model=IRIS.triton_name).start()
    try:
        # A second provider's node that answers every call with 503 (stored as a passed probe
        # leaves it: the stub's metadata is not the iris model's, so it could not register itself).
        bad = Node.objects.create(
            provider=staked(user=UserFactory()),
            name="flaky",
            triton_url=stub.url,
            healthy=True,
            last_probe_at=timezone.now(),
        )
        NodeVersion.objects.create(node=bad, version=iris_version, model_name=IRIS.triton_name, ready=True)
        routing.candidates_forget()
        routing._ewma_ms[bad.pk], routing._ewma_ms[good.pk] = 0.1, 1_000.0  # the flaky one is tried first
        buyer = UserFactory()
        funded_wallet(user=buyer, amount=500)

        response = _call(buyer)

        assert response.status_code == 200, response.content
        body = response.json()
        assert body["node"] == str(good.pk)
        probabilities = next(o for o in body["outputs"] if o["name"] == "PROBABILITIES")
        assert int(np.argmax(probabilities["data"])) == 0  # setosa
        assert stub.infer_calls == 1  # tried once, failed over to the real node
    finally:
        stub.stop()
    log_drain()
    row = InferenceRequest.objects.get()
    assert (row.outcome, row.node_id, row.provider_id) == (Outcome.OK, good.pk, provider.pk)
    assert ledger_verify().ok
