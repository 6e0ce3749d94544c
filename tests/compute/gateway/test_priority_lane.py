"""The priority lane through compute's REAL router (issue 15 item 3): reserved concurrency ahead
of normal calls, and the fastest node for a priority call. The node is a stub KServe server
(tests/compute/stub_kserve.py) that holds one marked call open until the test lets it go, so a
normal call really is in flight on it; nothing between the API key and the node is replaced."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as account_services
from compute import meter_store
from compute.models import InferenceRequest, Node, NodeVersion
from compute.services import routing
from compute.services.routing import Candidate, RoutedResult
from compute.services.settlement import log_drain
from compute.tensors import validate_inputs
from tests.accounts.factories import UserFactory
from tests.compute.gateway.conftest import IRIS_INPUT, IRIS_OUTPUT, per_inference_plan
from tests.compute.stub_kserve import MODEL, StubNode
from tests.marketplace.factories import ListingFactory, VersionFactory
from tests.tokenomics.factories import funded_wallet, staked
from tests.tokenomics.payout_factories import parameter_override

HOLD = 9.0  # a call whose first value is this is held open by the node until released


def _body(first: float, **extra: Any) -> dict[str, Any]:
    return {
        "inputs": [{"name": "INPUT_1", "shape": [1, 4], "datatype": "FP32", "data": [first, 1.0, 1.0, 1.0]}],
        **extra,
    }


def _wait_until(check: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.01)


@pytest.mark.django_db
def test_priority_calls_keep_their_reserved_slots_when_normal_calls_fill_theirs(buyer: Any) -> None:
    # Two slots a node; half kept for priority: normal calls may hold one, priority calls both.
    parameter_override("compute.node_concurrency", 2)
    parameter_override("compute.priority_reserved_bps", 5000)
    routing.candidates_forget()
    release = threading.Event()

    def respond(values: list[float]) -> tuple[int, Any]:
        if values[0] == HOLD:
            release.wait(20)
        out = {"name": "OUTPUT_1", "datatype": "FP32", "shape": [1, 4], "data": values}
        return 200, {"model_name": MODEL, "outputs": [out]}

    stub = StubNode(mode="custom", respond=respond).start()
    held: list[RoutedResult] = []
    holder: threading.Thread | None = None
    try:
        listing = ListingFactory(slug="lanes")
        version = VersionFactory(
            listing=listing,
            version="1.0.0",
            triton_model_name=MODEL,
            input_spec=IRIS_INPUT,
            output_spec=IRIS_OUTPUT,
        )
        per_inference_plan(listing, price_per_1000_cents=500)
        node = Node.objects.create(
            provider=staked(user=UserFactory()),
            name="only",
            triton_url=stub.url,
            healthy=True,
            last_probe_at=timezone.now(),
        )
        NodeVersion.objects.create(node=node, version=version, model_name=MODEL, ready=True)
        funded_wallet(user=buyer, amount=500)
        client = APIClient()
        key = account_services.api_key_create(user=buyer, name="k", scopes=["inference", "read"]).secret
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        assert client.post("/api/v1/inference/lanes", _body(1.0), format="json").status_code == 200
        assert routing.lane_limits() == (1, 2)

        # A normal call in flight on the node (the router's own path, in another thread; the
        # router's caches were filled by the call above, so it needs no database).
        prepared = validate_inputs(version.input_spec, _body(HOLD)["inputs"])
        holder = threading.Thread(
            target=lambda: held.append(routing.route_infer(version, prepared, deadline_s=20.0)),
            daemon=True,
        )
        holder.start()
        _wait_until(lambda: routing._in_flight.get(node.pk, 0) == 1)

        credit = meter_store.credit_left(buyer.pk)
        normal = client.post("/api/v1/inference/lanes", _body(2.0), format="json")
        assert normal.status_code == 503, normal.content  # the normal share is full
        assert normal.json()["error"]["code"] == "no_provider_available"
        assert meter_store.credit_left(buyer.pk) == credit  # and it cost nothing

        quote = client.get("/api/v1/listings/lanes/price").json()
        fast = client.post("/api/v1/inference/lanes", _body(3.0, priority=True), format="json")
        assert fast.status_code == 200, fast.content  # a reserved slot was free
        assert fast.json()["node"] == str(node.pk)
        assert fast.json()["charge"]["amount"] == quote["priority_total"]["amount"]
    finally:
        release.set()
        if holder is not None:
            holder.join(10)
        stub.stop()
    assert [r.node_id for r in held] == [node.pk]  # the held call was served too
    assert routing._in_flight.get(node.pk, 0) == 0
    log_drain()
    rows = list(InferenceRequest.objects.order_by("created_at", "pk").values_list("priority", "outcome"))
    assert rows == [(False, "ok"), (False, "failed"), (True, "ok")]


def test_a_priority_call_goes_to_the_fastest_node_and_a_normal_one_by_load() -> None:
    pool = [
        Candidate(node_id=n, url="", model_name="m", provider_id=1, advertised_latency_ms=100)
        for n in (901, 902, 903)
    ]
    routing._ewma_ms.update({901: 40.0, 902: 10.0, 903: 25.0})
    routing._in_flight.update({902: 4})  # the fastest node is busy
    try:
        assert {routing._pick(pool, priority=True).node_id for _ in range(20)} == {902}
        # A normal call's power of two choices weighs load: busy 902 scores 10 x 5 = 50, above
        # both others (40, 25), so it is never picked.
        picks = {routing._pick(pool).node_id for _ in range(50)}
        assert 902 not in picks
    finally:
        for n in (901, 902, 903):
            routing._ewma_ms.pop(n, None)
            routing._in_flight.pop(n, None)
