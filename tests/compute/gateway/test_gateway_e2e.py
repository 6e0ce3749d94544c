"""The gateway end to end against a real Triton (the session's PyTriton server): API key →
entitlement → validation → call → meter → respond, the usage API, settlement, and KServe v2 with
tritonclient's own client. Compute's router is replaced here by `DirectTritonBackend` (one node,
no retries, failures injectable after the call; tests/compute/gateway/backend.py): everything else
is the real thing. test_gateway_router.py runs the same path through the real router and nodes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import tritonclient.http as httpclient
from rest_framework.test import APIClient

from accounts import services as account_services
from compute.models_gateway import InferenceRequest, Outcome
from compute.services.gateway_backend import gateway_backend_set
from compute.services.settlement import metering_settle
from marketplace.hosted_demo import IRIS
from tests.compute.gateway.backend import DirectTritonBackend
from tests.compute.gateway.conftest import per_inference_plan
from tests.marketplace.factories import ListingFactory, VersionFactory
from tests.tokenomics.factories import funded_wallet
from tokenomics.models import LedgerTransaction
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.selectors.ledger import ledger_verify
from tokenomics.services.ledger_accounts import user_account_get_or_create

SETOSA = [5.1, 3.5, 1.4, 0.2]


@pytest.fixture
def iris(db: Any) -> Any:
    listing = ListingFactory(slug="iris")
    VersionFactory(
        listing=listing,
        version="1.0.0",
        triton_model_name=IRIS.triton_name,
        input_spec=IRIS.input_spec,
        output_spec=IRIS.output_spec,
    )
    per_inference_plan(listing, price_per_1000_cents=500)
    return listing


def _key(user: Any, scope: str) -> str:
    return account_services.api_key_create(user=user, name=scope, scopes=[scope]).secret


def _body(features: list[float] = SETOSA, name: str = "FEATURES") -> dict[str, Any]:
    return {"inputs": [{"name": name, "shape": [1, 4], "datatype": "FP32", "data": features}]}


@pytest.mark.django_db
def test_a_prepaid_call_is_served_charged_and_settled(
    triton: Any, iris: Any, buyer: Any, provider: Any
) -> None:
    funded_wallet(user=buyer, amount=500)
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {_key(buyer, 'inference')}", HTTP_AGORA_INTEGRATION="acme-sdk"
    )
    response = client.post("/api/v1/inference/iris", _body(), format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    probabilities = next(o for o in body["outputs"] if o["name"] == "PROBABILITIES")
    assert int(np.argmax(probabilities["data"])) == 0  # setosa
    assert body["node"] == "7"
    assert body["charge"] == {"amount": str(5_000 + 100), "asset": "USD", "unit": "micro_usd"}
    assert body["entitlement"] == "prepaid"
    assert body["quota_left"] is None
    assert body["latency_ms"] > 0

    usage = client.get("/api/v1/usage")
    assert usage.status_code == 403  # an inference key cannot read the account
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {_key(buyer, 'read')}")
    summary = reader.get("/api/v1/usage").json()
    assert summary["calls"] == 1
    assert summary["listings"][0]["listing"] == "iris"
    assert summary["listings"][0]["spend"]["amount"] == "5100"

    row = InferenceRequest.objects.get()
    assert (row.outcome, row.integration_id, row.provider_id) == (Outcome.OK, "acme-sdk", provider.pk)
    metering_settle()
    row.refresh_from_db()
    assert row.settlement_id is not None
    assert (
        LedgerTransaction.objects.filter(kind=TransactionKind.INFERENCE).count() == 0
    )  # under a cent so far
    assert ledger_verify().ok


@pytest.mark.django_db
def test_input_errors_name_the_tensor_and_cost_nothing(triton: Any, iris: Any, buyer: Any) -> None:
    funded_wallet(user=buyer, amount=500)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {_key(buyer, 'inference')}")
    wrong_name = client.post("/api/v1/inference/iris", _body(name="PIXELS"), format="json")
    assert wrong_name.status_code == 400
    assert wrong_name.json()["error"]["code"] == "validation_error"
    assert wrong_name.json()["error"]["detail"]["tensor"] == "PIXELS"
    short = client.post("/api/v1/inference/iris", _body(features=[1.0, 2.0]), format="json")
    assert short.json()["error"]["detail"]["tensor"] == "FEATURES"
    assert triton.calls == 0  # no provider was called
    good = client.post("/api/v1/inference/iris", _body(), format="json")
    assert good.status_code == 200
    metering_settle()
    assert InferenceRequest.objects.count() == 1  # refused inputs are not calls


@pytest.mark.django_db
def test_a_key_without_the_inference_scope_is_refused(triton: Any, iris: Any, buyer: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {_key(buyer, 'write')}")
    response = client.post("/api/v1/inference/iris", _body(), format="json")
    assert response.status_code == 403
    assert triton.calls == 0


@pytest.mark.django_db
def test_a_failed_call_costs_nothing_and_says_so(
    pytriton_server: Any, iris: Any, buyer: Any, provider: Any
) -> None:
    backend = DirectTritonBackend(
        address=pytriton_server.http_address, node_id=7, provider_id=provider.pk, fail_every=1
    )
    previous = gateway_backend_set(backend)
    try:
        funded_wallet(user=buyer, amount=500)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {_key(buyer, 'inference')}")
        response = client.post("/api/v1/inference/iris", _body(), format="json")
    finally:
        gateway_backend_set(previous)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "provider_failed"
    metering_settle()
    row = InferenceRequest.objects.get()
    assert (row.outcome, row.charge_micro, row.settlement_id) == (Outcome.FAILED, 0, None)
    hold = user_account_get_or_create(user=buyer, kind=AccountKind.METERING_HOLD, asset="USD")
    wallet = user_account_get_or_create(user=buyer, kind=AccountKind.WALLET, asset="USD")
    assert hold.balance + wallet.balance == 500  # reserved, not spent


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_tritonclient_runs_a_listing_through_the_kserve_paths(
    triton: Any, iris: Any, buyer: Any, live_server: Any
) -> None:
    funded_wallet(user=buyer, amount=500)
    key = _key(buyer, "inference")
    address = live_server.url.removeprefix("http://")
    client = httpclient.InferenceServerClient(url=address)
    assert client.is_server_ready()
    assert client.is_model_ready("iris")
    metadata = client.get_model_metadata("iris")
    assert metadata["inputs"] == [{"name": "FEATURES", "datatype": "FP32", "shape": [-1, 4]}]
    features = httpclient.InferInput("FEATURES", [2, 4], "FP32")
    features.set_data_from_numpy(np.array([SETOSA, [6.7, 3.0, 5.2, 2.3]], dtype=np.float32))  # binary tensors
    result = client.infer("iris", [features], headers={"Authorization": f"Bearer {key}"})
    labels = result.as_numpy("LABEL")
    assert labels is not None
    assert labels.reshape(-1).tolist() == [0, 2]  # setosa, virginica
    assert result.get_response()["parameters"]["charge_micro_usd"] == "5100"
    with pytest.raises(httpclient.InferenceServerException):  # no key: refused, nothing called
        client.infer("iris", [features])
    assert triton.calls == 1
