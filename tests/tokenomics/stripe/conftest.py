"""The Stripe rail's tests talk to a real localstripe (started here, once per session, on a free
port) through the real `stripe` library. Nothing in the library is mocked.

Helpers here play the parts outside Agora: `LocalStripe` is the customer's browser (Stripe.js
confirming a PaymentIntent with a test card) and Stripe's own dashboard view of what exists;
`signed` / `deliver` build and post webhook deliveries with a real HMAC-SHA256 signature.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import stripe
from django.test import Client

SECRET_NEW = "whsec_test_new_0123456789"
SECRET_OLD = "whsec_test_old_9876543210"
WEBHOOK_PATH = "/webhooks/stripe/"
CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000341"  # attaches, then the charge is declined
CARD_3DS = "4000002500003155"  # needs authentication (requires_action)
START_TIMEOUT = 20.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/js.stripe.com/v3/", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class LocalStripe:
    """A running localstripe, seen from outside Agora (the browser, the dashboard)."""

    url: str
    client: stripe.StripeClient

    def card(self, number: str = CARD_OK) -> str:
        pm = self.client.v1.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
            }
        )
        return str(pm.id)

    def pay(self, intent_id: str, card: str = CARD_OK) -> dict[str, Any]:
        """What Stripe.js does with the client secret: attach a card and confirm. A declined card
        leaves the intent requiring a payment method (its error is on the intent)."""
        self.client.v1.payment_intents.update(intent_id, params={"payment_method": self.card(card)})
        with contextlib.suppress(stripe.CardError):
            self.client.v1.payment_intents.confirm(intent_id)
        return self.intent(intent_id)

    def intent(self, intent_id: str) -> dict[str, Any]:
        return dict(self.client.v1.payment_intents.retrieve(intent_id).to_dict())

    def intents_for(self, reference: str) -> list[dict[str, Any]]:
        page = self.client.v1.payment_intents.list(params={"limit": 100})
        intents = [pi.to_dict() for pi in page.auto_paging_iter()]
        return [pi for pi in intents if (pi.get("metadata") or {}).get("agora_reference") == reference]

    def refunds_for(self, intent_id: str) -> list[dict[str, Any]]:
        page = self.client.v1.refunds.list(params={"payment_intent": intent_id, "limit": 100})
        return [r.to_dict() for r in page.auto_paging_iter()]

    def customers_with(self, email: str) -> list[dict[str, Any]]:
        page = self.client.v1.customers.list(params={"email": email, "limit": 100})
        return [c.to_dict() for c in page.auto_paging_iter()]

    def events(self, since: int) -> list[dict[str, Any]]:
        page = self.client.v1.events.list(params={"created": {"gte": since}, "limit": 100})
        return [e.to_dict() for e in page.auto_paging_iter()]

    def events_for(self, object_id: str, since: int) -> list[dict[str, Any]]:
        return [e for e in self.events(since) if e["data"]["object"].get("id") == object_id]

    def register_webhook(self, name: str, url: str, secret: str, events: list[str] | None = None) -> None:
        """localstripe's own webhook delivery (POST /_config/webhooks/<name>)."""
        fields: list[tuple[str, str]] = [("url", url), ("secret", secret)]
        fields += [("events[]", e) for e in events or []]
        body = "&".join(f"{k}={urllib.request.quote(v, safe='')}" for k, v in fields).encode()
        request = urllib.request.Request(f"{self.url}/_config/webhooks/{name}", data=body, method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStripe]:
    """`localstripe --port <free port> --from-scratch`, killed at the end. Fails (never skips) when
    it cannot start: these tests exist to run against it."""
    binary = Path(sys.executable).parent / "localstripe"
    if not binary.exists():
        pytest.fail(f"localstripe is not installed next to {sys.executable} (pip install localstripe)")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("localstripe") / "localstripe.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [str(binary), "--port", str(port), "--from-scratch"], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(url):
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                tail = log_path.read_text(errors="replace")[-2000:]
                pytest.fail(f"localstripe did not start on {url} (exit {process.poll()}):\n{tail}")
            time.sleep(0.05)
        client = stripe.StripeClient("sk_test_local", base_addresses={"api": url}, max_network_retries=0)
        yield LocalStripe(url=url, client=client)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


@pytest.fixture(autouse=True)
def _stripe_is_localstripe(settings: Any, localstripe: LocalStripe) -> None:
    settings.STRIPE_API_BASE = localstripe.url
    settings.STRIPE_SECRET_KEY = "sk_test_local"
    settings.STRIPE_WEBHOOK_SECRETS = [SECRET_NEW, SECRET_OLD]  # mid-rotation: both valid
    settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS = 300
    settings.STRIPE_MAX_NETWORK_RETRIES = 2


@pytest.fixture
def since() -> int:
    """Unix seconds just before the test: events created by this test are at or after it."""
    return int(time.time()) - 1


def signature(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header computed by hand: HMAC-SHA256 over "<t>.<raw body>"."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def body_of(event: dict[str, Any]) -> bytes:
    return json.dumps(event, sort_keys=True).encode()


def deliver(client: Client, event: dict[str, Any], secret: str = SECRET_NEW) -> Any:
    body = body_of(event)
    return client.post(
        WEBHOOK_PATH,
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature(body, secret),
    )


def make_event(
    event_id: str, event_type: str, obj: dict[str, Any], created: int | None = None
) -> dict[str, Any]:
    """An event as Stripe would send it, around a real object (for events localstripe never emits)."""
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": int(time.time()) if created is None else created,
        "api_version": "2026-10-28.endive",
        "livemode": False,
        "data": {"object": obj},
    }
