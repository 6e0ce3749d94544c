"""`stripe_client.payout_transfer_create`, the USD payout adapter, at the HTTP boundary.

localstripe has no Transfer endpoint (notes/LOCAL-COMPONENTS.md), so this runs the real
stripe-python call against a stub HTTP server standing in for api.stripe.com: it checks what is
sent (path, form body, Idempotency-Key) and how answers are read. It says nothing about Stripe
itself accepting the request; that is the one part of payouts not exercised here.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from tokenomics import stripe_client


class StubStripe:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        self.status = 200
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                form = parse_qs(body)
                stub.requests.append((self.path, form, dict(self.headers)))
                if stub.status == 200:
                    answer: dict[str, object] = {
                        "id": "tr_123",
                        "object": "transfer",
                        "amount": int(form["amount"][0]),
                        "currency": form["currency"][0],
                        "destination": form["destination"][0],
                        "metadata": {"payout": form["metadata[payout]"][0]},
                    }
                else:
                    answer = {"error": {"type": "invalid_request_error", "message": "No such destination"}}
                data = json.dumps(answer).encode()
                self.send_response(stub.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub(settings) -> Iterator[StubStripe]:
    server = StubStripe()
    settings.STRIPE_API_BASE = server.url
    settings.STRIPE_SECRET_KEY = "sk_test_stub"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    yield server
    server.stop()


def test_sends_a_transfer_to_the_connected_account_with_the_idempotency_key(stub: StubStripe) -> None:
    transfer = stripe_client.payout_transfer_create(
        amount=19_700,
        currency="usd",
        destination="acct_1Creator",
        metadata={"payout": "payout:7"},
        idempotency_key="payout-7-transfer",
    )
    assert transfer == stripe_client.Transfer(
        id="tr_123",
        amount=19_700,
        currency="usd",
        destination="acct_1Creator",
        metadata={"payout": "payout:7"},
    )
    [(path, form, headers)] = stub.requests
    assert path == "/v1/transfers"
    assert form == {
        "amount": ["19700"],
        "currency": ["usd"],
        "destination": ["acct_1Creator"],
        "metadata[payout]": ["payout:7"],
    }
    assert headers["Idempotency-Key"] == "payout-7-transfer"


def test_a_refusal_is_stripe_rejected_and_a_key_is_required(stub: StubStripe) -> None:
    stub.status = 400
    with pytest.raises(stripe_client.StripeRejected):
        stripe_client.payout_transfer_create(
            amount=100, currency="usd", destination="acct_x", metadata={"payout": "p"}, idempotency_key="k"
        )
    with pytest.raises(ValueError, match="idempotency key"):
        stripe_client.payout_transfer_create(
            amount=100, currency="usd", destination="acct_x", metadata={"payout": "p"}, idempotency_key=""
        )
    assert len(stub.requests) == 1
