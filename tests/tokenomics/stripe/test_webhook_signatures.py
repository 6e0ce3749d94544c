"""S4: every bad delivery is refused with the 400 error envelope and changes nothing; a delivery
signed with either secret of a rotation is accepted. Signatures are real HMAC-SHA256, computed here."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.tokenomics.stripe.conftest import (
    SECRET_NEW,
    SECRET_OLD,
    WEBHOOK_PATH,
    body_of,
    make_event,
    signature,
)
from tokenomics.models import LedgerTransaction, Payment, StripeEvent

pytestmark = pytest.mark.django_db

EVENT = make_event("evt_sig_1", "product.created", {"id": "prod_sig_1", "object": "product"})


def _state() -> tuple[int, int, int]:
    return (StripeEvent.objects.count(), LedgerTransaction.objects.count(), Payment.objects.count())


def _tamper(body: bytes) -> bytes:
    # One byte changed inside the JSON (a digit of the timestamp), so it still parses.
    index = body.index(b'"created": ') + len(b'"created": ')
    digit = body[index : index + 1]
    return body[:index] + (b"1" if digit != b"1" else b"2") + body[index + 1 :]


def _header_for(body: bytes, **kw: Any) -> str:
    return signature(body, kw.get("secret", SECRET_NEW), kw.get("t"))


def _stale_signature_new_timestamp() -> str:
    # A signature made 10 s ago, presented with a fresh timestamp: the MAC covers t, so it fails.
    old_mac = _header_for(body_of(EVENT), t=int(time.time()) - 10).split(",")[1]
    return f"t={int(time.time())},{old_mac}"


# Each case: (name, function returning (body, headers)).
CASES: list[tuple[str, Callable[[], tuple[bytes, dict[str, str]]]]] = [
    ("missing header", lambda: (body_of(EVENT), {})),
    ("empty header", lambda: (body_of(EVENT), {"HTTP_STRIPE_SIGNATURE": ""})),
    ("garbage header", lambda: (body_of(EVENT), {"HTTP_STRIPE_SIGNATURE": "not-a-signature"})),
    ("no v1 scheme", lambda: (body_of(EVENT), {"HTTP_STRIPE_SIGNATURE": f"t={int(time.time())},v0=abc"})),
    (
        "wrong secret",
        lambda: (body_of(EVENT), {"HTTP_STRIPE_SIGNATURE": _header_for(body_of(EVENT), secret="whsec_x")}),
    ),
    (
        "one byte tampered",
        lambda: (_tamper(body_of(EVENT)), {"HTTP_STRIPE_SIGNATURE": _header_for(body_of(EVENT))}),
    ),
    (
        "timestamp 301 s old",
        lambda: (
            body_of(EVENT),
            {"HTTP_STRIPE_SIGNATURE": _header_for(body_of(EVENT), t=int(time.time()) - 301)},
        ),
    ),
    (
        "timestamp 301 s ahead",
        lambda: (
            body_of(EVENT),
            {"HTTP_STRIPE_SIGNATURE": _header_for(body_of(EVENT), t=int(time.time()) + 301)},
        ),
    ),
    (
        "signature of another timestamp",
        lambda: (body_of(EVENT), {"HTTP_STRIPE_SIGNATURE": _stale_signature_new_timestamp()}),
    ),
    (
        "signed body that is not JSON",
        lambda: (b"{not json", {"HTTP_STRIPE_SIGNATURE": _header_for(b"{not json")}),
    ),
    (
        "signed JSON that is not an event",
        lambda: (
            b'{"id": "x", "object": "charge"}',
            {"HTTP_STRIPE_SIGNATURE": _header_for(b'{"id": "x", "object": "charge"}')},
        ),
    ),
]


@pytest.mark.parametrize(("name", "make"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_delivery_is_refused_and_changes_nothing(client: Client, name: str, make) -> None:
    body, headers = make()
    before = _state()
    response = client.post(WEBHOOK_PATH, data=body, content_type="application/json", **headers)
    assert response.status_code == 400, name
    error = response.json()["error"]
    assert error["code"] in {"invalid_signature", "invalid_payload"}
    assert set(error) == {"code", "message", "detail"}
    assert _state() == before


@pytest.mark.parametrize("secret", [SECRET_NEW, SECRET_OLD], ids=["new secret", "old secret"])
@pytest.mark.parametrize("age", [0, 299, -299], ids=["now", "299 s old", "299 s ahead"])
def test_either_secret_of_a_rotation_is_accepted_within_the_tolerance(
    client: Client, secret: str, age: int
) -> None:
    body = body_of(EVENT)
    header = signature(body, secret, int(time.time()) - age)
    response = client.post(
        WEBHOOK_PATH, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )
    assert response.status_code == 200
    assert StripeEvent.objects.get(event_id=EVENT["id"]).status == "ignored"  # a type we do not handle


def test_a_header_with_several_signatures_passes_if_one_matches(client: Client) -> None:
    # Stripe sends one v1 per active secret while a rotation is under way on its side.
    body = body_of(EVENT)
    t = int(time.time())
    good = signature(body, SECRET_NEW, t).split(",")[1]
    header = f"t={t},v1={'0' * 64},{good}"
    response = client.post(
        WEBHOOK_PATH, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )
    assert response.status_code == 200


def test_after_the_rotation_the_old_secret_is_refused(client: Client, settings) -> None:
    settings.STRIPE_WEBHOOK_SECRETS = [SECRET_NEW]
    body = body_of(EVENT)
    old = signature(body, SECRET_OLD)
    response = client.post(
        WEBHOOK_PATH, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=old
    )
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_only_post_is_allowed(client: Client) -> None:
    response = client.get(WEBHOOK_PATH)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
