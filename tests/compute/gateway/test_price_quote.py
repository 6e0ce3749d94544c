"""The price endpoint, `max_price` and the priority fee (issue 15 items 2 and 3), end to end
against a real Triton (the session's PyTriton server). Compute's router is replaced here by
`DirectTritonBackend` (one node; tests/compute/gateway/backend.py) so the number of calls that
reached the node can be counted; test_priority_lane.py runs the priority lane through the real
router. Everything else (entitlement, credit, quota, the request log, settlement) is real."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts import services as account_services
from compute import meter_store
from compute.models_gateway import CarryPart, InferenceRequest, MeteringCarry
from compute.services import pricing
from compute.services.settlement import log_drain, metering_settle
from marketplace.hosted_demo import IRIS
from marketplace.models import Subscription
from tests.compute.gateway.conftest import active_subscription, per_inference_plan, subscription_plan
from tests.marketplace.factories import ListingFactory, VersionFactory
from tests.tokenomics.factories import funded_wallet
from tests.tokenomics.payout_factories import parameter_override
from tokenomics.models import LedgerAccount
from tokenomics.models.ledger import AccountKind
from tokenomics.selectors.ledger import ledger_verify

SETOSA = [5.1, 3.5, 1.4, 0.2]
BODY = {"inputs": [{"name": "FEATURES", "shape": [1, 4], "datatype": "FP32", "data": SETOSA}]}


@pytest.fixture
def iris(db: Any) -> Any:
    listing = ListingFactory(slug="iris-priced", size="medium")
    VersionFactory(
        listing=listing,
        version="1.0.0",
        triton_model_name=IRIS.triton_name,
        input_spec=IRIS.input_spec,
        output_spec=IRIS.output_spec,
    )
    per_inference_plan(listing, price_per_1000_cents=500)  # 5,000 micro-USD a call
    return listing


def _client(user: Any) -> APIClient:
    client = APIClient()
    key = account_services.api_key_create(user=user, name="k", scopes=["inference", "read"]).secret
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def _wallet_balance(user: Any) -> int:
    return int(
        LedgerAccount.objects.filter(owner=user, kind=AccountKind.WALLET, asset="USD").values_list(
            "balance", flat=True
        )[0]
    )


@pytest.mark.django_db
def test_anyone_reads_the_price_with_its_parts(iris: Any) -> None:
    pricing.quote_refresh(listing_id=iris.pk, size="medium")  # as the beat task does: idle, no node
    response = APIClient().get("/api/v1/listings/iris-priced/price")
    assert response.status_code == 200, response.content
    body = response.json()
    micro = {"asset": "USD", "unit": "micro_usd"}
    # medium: 100 x 3; no healthy node is full demand (2.0x); supply at least 1.
    assert body["compute_fee"] == {
        "amount": "600",
        **micro,
        "base_rate": {"amount": "100", **micro},
        "model_complexity": 3,
        "demand_multiplier_bps": 20_000,
        "supply_factor": 1,
    }
    assert body["creator_price"] == {"amount": "5000", **micro}
    assert body["total"] == {"amount": "5600", **micro}
    assert body["priority_fee"] == {"amount": "560", **micro, "rate_bps": 1000}  # 10% of 5,600
    assert body["priority_total"] == {"amount": "6160", **micro}
    assert body["plan"]["name"] == "Metered"
    assert body["computed_at"] is not None

    missing = APIClient().get("/api/v1/listings/no-such-model/price")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_a_call_right_after_the_quote_is_charged_the_quoted_amount(
    triton: Any, iris: Any, buyer: Any, provider: Any
) -> None:
    parameter_override("compute.priority_fee_bps", 1500)
    funded_wallet(user=buyer, amount=500)
    client = _client(buyer)
    quote = client.get("/api/v1/listings/iris-priced/price").json()

    normal = client.post(
        "/api/v1/inference/iris-priced", {**BODY, "max_price": quote["total"]["amount"]}, format="json"
    )
    assert normal.status_code == 200, normal.content
    assert normal.json()["charge"]["amount"] == quote["total"]["amount"]

    fast = client.post(
        "/api/v1/inference/iris-priced",
        {**BODY, "priority": True, "max_price": int(quote["priority_total"]["amount"])},
        format="json",
    )
    assert fast.status_code == 200, fast.content
    assert fast.json()["charge"]["amount"] == quote["priority_total"]["amount"]
    assert quote["priority_fee"]["rate_bps"] == 1500

    log_drain()
    rows = {row.priority: row for row in InferenceRequest.objects.all()}
    assert rows[False].charge_micro == int(quote["total"]["amount"])
    assert rows[False].priority_fee_micro == 0
    fee = int(quote["priority_fee"]["amount"])
    assert (rows[True].priority, rows[True].priority_fee_micro) == (True, fee)
    # The priority fee is part of the compute fee, so it settles to the compute split.
    assert rows[True].compute_fee_micro == int(quote["compute_fee"]["amount"]) + fee
    metering_settle()
    carry = MeteringCarry.objects.get(user=buyer, part=CarryPart.COMPUTE, payee=provider)
    assert carry.carry_micro == rows[False].compute_fee_micro + rows[True].compute_fee_micro  # under a cent
    assert ledger_verify().ok


@pytest.mark.django_db
def test_a_call_above_max_price_is_refused_and_costs_nothing(triton: Any, iris: Any, buyer: Any) -> None:
    funded_wallet(user=buyer, amount=500)
    client = _client(buyer)
    assert client.post("/api/v1/inference/iris-priced", BODY, format="json").status_code == 200
    credit_before = meter_store.credit_left(buyer.pk)
    wallet_before = _wallet_balance(buyer)
    calls_before = triton.calls
    total = int(client.get("/api/v1/listings/iris-priced/price").json()["total"]["amount"])

    for body in ({**BODY, "max_price": total - 1}, {**BODY, "max_price": str(total), "priority": True}):
        refused = client.post("/api/v1/inference/iris-priced", body, format="json")
        assert refused.status_code == 409, refused.content
        error = refused.json()["error"]
        assert error["code"] == "price_above_max"
        assert int(error["detail"]["price"]["amount"]) > int(body["max_price"])

    assert triton.calls == calls_before  # no node was called
    assert meter_store.credit_left(buyer.pk) == credit_before
    assert _wallet_balance(buyer) == wallet_before
    log_drain()
    assert InferenceRequest.objects.count() == 1  # only the first, served call

    bad = client.post("/api/v1/inference/iris-priced", {**BODY, "max_price": "1.5"}, format="json")
    assert bad.status_code == 400
    assert "max_price" in bad.json()["error"]["detail"]


@pytest.mark.django_db
def test_max_price_refusal_leaves_a_subscriptions_quota_alone(triton: Any, iris: Any, buyer: Any) -> None:
    sub = active_subscription(buyer=buyer, plan=subscription_plan(iris, quota=10))
    client = _client(buyer)
    served = client.post("/api/v1/inference/iris-priced", BODY, format="json")
    assert served.json()["quota_left"] == 9
    refused = client.post("/api/v1/inference/iris-priced", {**BODY, "max_price": 0}, format="json")
    assert refused.status_code == 409
    again = client.post("/api/v1/inference/iris-priced", BODY, format="json")
    assert again.json()["quota_left"] == 8  # the refused call took no quota
    assert triton.calls == 2
    log_drain()
    assert Subscription.objects.get(pk=sub.pk).quota_used == 2
    assert InferenceRequest.objects.count() == 2


@pytest.mark.django_db
def test_kserve_takes_priority_and_max_price_from_parameters(triton: Any, iris: Any, buyer: Any) -> None:
    funded_wallet(user=buyer, amount=500)
    client = _client(buyer)
    quote = client.get("/api/v1/listings/iris-priced/price").json()
    refused = client.post(
        "/v2/models/iris-priced/infer",
        {**BODY, "parameters": {"max_price": int(quote["total"]["amount"]), "priority": True}},
        format="json",
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "price_above_max"
    served = client.post(
        "/v2/models/iris-priced/infer",
        {**BODY, "parameters": {"max_price": quote["priority_total"]["amount"], "priority": True}},
        format="json",
    )
    assert served.status_code == 200, served.content
    assert served.json()["parameters"]["charge_micro_usd"] == quote["priority_total"]["amount"]
