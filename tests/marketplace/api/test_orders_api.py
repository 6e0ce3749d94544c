"""The commerce API: orders by card (localstripe) and AGR (in-process EVM), refunds, disputes,
licenses and downloads, subscriptions; another user's objects are 404 everywhere."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts import services as account_services
from marketplace.artefacts import wrap_key
from marketplace.models import ListingVersion, Order, PlanKind
from tests.marketplace.commerce import ARTEFACT, credit_arrival, on_sale, pay_by_card
from tests.tokenomics.stripe.conftest import LocalStripe

pytestmark = pytest.mark.django_db


def bearer(api_client, user, scopes=("read", "write")) -> None:
    key = account_services.api_key_create(user=user, name="t", scopes=list(scopes))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.secret}")


def test_a_card_order_through_the_api(
    api_client, user, localstripe: LocalStripe, since: int, client: Client, django_capture_on_commit_callbacks
) -> None:
    plan = on_sale(price_cents=4_900)
    bearer(api_client, user)
    response = api_client.post("/api/v1/orders", {"plan": plan.pk, "rail": "card"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "awaiting_payment"
    assert body["total"] == {"amount": "4900", "asset": "USD"}
    assert body["agr_discount"] == {"amount": "0", "asset": "USD"}
    assert (
        body["card"]["client_secret"] == localstripe.intent(body["card"]["payment_intent"])["client_secret"]
    )

    pay_by_card(
        Order.objects.get(pk=body["id"]), localstripe, client, since, django_capture_on_commit_callbacks
    )
    paid = api_client.get(f"/api/v1/orders/{body['id']}").json()
    assert paid["status"] == "in_escrow"
    assert paid["card"] is None
    assert paid["refundable_until"] is not None
    assert paid["license"] is not None

    listed = api_client.get("/api/v1/licenses").json()
    assert [row["id"] for row in listed["results"]] == [paid["license"]]
    assert listed["results"][0]["downloads_left"] == 5
    key = api_client.post(f"/api/v1/licenses/{paid['license']}/key")
    assert key.status_code == 201
    assert key.json()["key"].startswith(key.json()["license"]["key_prefix"])

    download = api_client.post(f"/api/v1/licenses/{paid['license']}/download")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == ARTEFACT
    assert download["Content-Length"] == str(len(ARTEFACT))
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"] == 'attachment; filename="model.onnx"'
    assert download["Cache-Control"] == "no-store"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["X-Checksum-SHA256"] == hashlib.sha256(ARTEFACT).hexdigest()
    refused = api_client.post(f"/api/v1/orders/{body['id']}/refund", {}, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "refund_window_closed"
    assert api_client.get(f"/api/v1/orders/{body['id']}").json()["status"] == "released"


def test_an_unreadable_artefact_is_the_error_envelope_not_a_broken_download(
    api_client, user, localstripe: LocalStripe
) -> None:
    """The first chunk is verified before the response starts, so a file that fails decryption
    is a JSON error, as it is an error page on the download page."""
    plan = on_sale()
    bearer(api_client, user)
    order_id = api_client.post("/api/v1/orders", {"plan": plan.pk, "rail": "card"}, format="json").json()[
        "id"
    ]
    order = credit_arrival(Order.objects.get(pk=order_id))
    # Another file key: the stored file no longer authenticates under it.
    ListingVersion.objects.filter(listing=plan.listing).update(wrapped_key=wrap_key(os.urandom(32)))

    response = api_client.post(f"/api/v1/licenses/{order.license.pk}/download")
    assert response.status_code == 500
    assert not response.streaming
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "artefact_unreadable"
    assert error["detail"] == {"chunk": 0}
    assert "Content-Disposition" not in response
    order.refresh_from_db()
    order.license.refresh_from_db()
    assert order.license.downloads_used == 0  # nothing counted for a file that cannot be served
    assert order.status == "in_escrow"  # and the refund window stays open


def test_another_users_objects_are_not_found(api_client, user, other_user, localstripe: LocalStripe) -> None:
    plan = on_sale()
    bearer(api_client, user)
    order_id = api_client.post("/api/v1/orders", {"plan": plan.pk, "rail": "card"}, format="json").json()[
        "id"
    ]
    order = credit_arrival(Order.objects.get(pk=order_id))
    sub_plan = on_sale(kind=PlanKind.SUBSCRIPTION, price_cents=1_000)
    sub_order_id = api_client.post(
        "/api/v1/orders", {"plan": sub_plan.pk, "rail": "card"}, format="json"
    ).json()["id"]
    sub_order = credit_arrival(Order.objects.get(pk=sub_order_id))

    bearer(api_client, other_user)
    lic = order.license.pk
    for method, path in [
        ("get", f"/api/v1/orders/{order.pk}"),
        ("post", f"/api/v1/orders/{order.pk}/refund"),
        ("post", f"/api/v1/orders/{order.pk}/dispute"),
        ("post", f"/api/v1/orders/{order.pk}/agr-payment"),
        ("post", f"/api/v1/licenses/{lic}/key"),
        ("post", f"/api/v1/licenses/{lic}/download"),
        ("post", f"/api/v1/subscriptions/{sub_order.subscription_id}/cancel"),
    ]:
        body = {"reason": "x", "evidence": "y", "tx_hash": "0x" + "1" * 64}
        response = getattr(api_client, method)(path, body, format="json")
        assert response.status_code == 404, (path, response.json())
        assert response.json()["error"]["code"] == "not_found"
    assert api_client.get("/api/v1/orders").json()["count"] == 0
    assert api_client.get("/api/v1/licenses").json()["count"] == 0
    assert api_client.get("/api/v1/subscriptions").json()["count"] == 0


def test_refund_and_dispute_through_the_api(api_client, user, localstripe: LocalStripe) -> None:
    bearer(api_client, user)
    first = on_sale(price_cents=2_000)
    order_id = api_client.post("/api/v1/orders", {"plan": first.pk, "rail": "card"}, format="json").json()[
        "id"
    ]
    credit_arrival(Order.objects.get(pk=order_id))
    with time_machine.travel(timezone.now() + timedelta(days=7, seconds=5)):
        late = api_client.post(f"/api/v1/orders/{order_id}/refund", {}, format="json")
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "refund_window_closed"
    dispute = api_client.post(
        f"/api/v1/orders/{order_id}/dispute",
        {"reason": "Wrong model", "evidence": "The card says v2"},
        format="json",
    )
    assert dispute.status_code == 201, dispute.json()
    assert dispute.json()["status"] == "open"
    assert api_client.get(f"/api/v1/orders/{order_id}").json()["status"] == "disputed"
    again = api_client.post(
        f"/api/v1/orders/{order_id}/dispute", {"reason": "a", "evidence": "b"}, format="json"
    )
    assert again.status_code == 409


def test_subscribe_then_cancel_with_a_pro_rated_refund(api_client, user, localstripe: LocalStripe) -> None:
    plan = on_sale(kind=PlanKind.SUBSCRIPTION, price_cents=3_000, monthly_quota=1_000)
    bearer(api_client, user)
    order_id = api_client.post("/api/v1/orders", {"plan": plan.pk, "rail": "card"}, format="json").json()[
        "id"
    ]
    order = credit_arrival(Order.objects.get(pk=order_id))
    subs = api_client.get("/api/v1/subscriptions").json()["results"]
    assert [(s["status"], s["monthly_quota"]) for s in subs] == [("active", 1_000)]
    with time_machine.travel(order.period_start + timedelta(days=15), tick=False):
        response = api_client.post(f"/api/v1/subscriptions/{order.subscription_id}/cancel", {}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["subscription"]["status"] == "canceled"
    assert response.json()["refunded"] == {"amount": "1500", "asset": "USD"}


def test_order_input_is_validated(api_client, user) -> None:
    plan = on_sale(kind=PlanKind.PER_INFERENCE, price_cents=25)
    bearer(api_client, user)
    for body, field in [
        ({"plan": plan.pk, "rail": "paypal"}, "rail"),
        ({"plan": "x", "rail": "card"}, "plan"),
        ({"plan": plan.pk, "rail": "card", "credit": "12.50"}, "credit"),
    ]:
        response = api_client.post("/api/v1/orders", body, format="json")
        assert response.status_code == 400
        assert field in response.json()["error"]["detail"]
    too_little = api_client.post(
        "/api/v1/orders", {"plan": plan.pk, "rail": "card", "credit": "100"}, format="json"
    )
    assert too_little.status_code == 400
    assert "credit" in too_little.json()["error"]["detail"]
    assert (
        api_client.post("/api/v1/orders", {"plan": 999_999, "rail": "card"}, format="json").status_code == 404
    )


def test_a_read_key_cannot_download(api_client, user, localstripe: LocalStripe) -> None:
    """Issue 13 item 4: a download counts against the license and releases the escrow, so a
    `read` key may list licenses but not download; a `write` key may."""
    plan = on_sale()
    bearer(api_client, user)
    order_id = api_client.post("/api/v1/orders", {"plan": plan.pk, "rail": "card"}, format="json").json()[
        "id"
    ]
    order = credit_arrival(Order.objects.get(pk=order_id))
    bearer(api_client, user, scopes=("read",))
    assert api_client.get("/api/v1/licenses").status_code == 200
    response = api_client.post(f"/api/v1/licenses/{order.license.pk}/download")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    order.refresh_from_db()
    order.license.refresh_from_db()
    assert order.license.downloads_used == 0
    assert order.status == "in_escrow"

    bearer(api_client, user, scopes=("write",))
    assert api_client.post(f"/api/v1/licenses/{order.license.pk}/download").status_code == 200


def test_reading_an_order_calls_no_stripe_api_and_the_client_secret_is_a_post(
    api_client, user, localstripe: LocalStripe, settings
) -> None:
    plan = on_sale(price_cents=4_900)
    bearer(api_client, user)
    created = api_client.post("/api/v1/orders", {"plan": plan.pk, "rail": "card"}, format="json").json()
    intent_id = created["card"]["payment_intent"]

    # Stripe unreachable: a GET that called it would fail; it answers from the database alone.
    real_base = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # discard port: connection refused
    read = api_client.get(f"/api/v1/orders/{created['id']}")
    assert read.status_code == 200
    assert (read.json()["status"], read.json()["card"]) == ("awaiting_payment", None)
    settings.STRIPE_API_BASE = real_base

    again = api_client.post(f"/api/v1/orders/{created['id']}/card-payment")
    assert again.status_code == 200, again.json()
    card = again.json()["card"]
    assert card["payment_intent"] == intent_id  # the same PaymentIntent, not a second one
    assert card["client_secret"] == localstripe.intent(intent_id)["client_secret"]
    assert len(localstripe.intents_for(f"order:{created['id']}")) == 1

    credit_arrival(Order.objects.get(pk=created["id"]))
    paid = api_client.post(f"/api/v1/orders/{created['id']}/card-payment")
    assert (paid.status_code, paid.json()["error"]["code"]) == (409, "invalid_state")
