"""POST /api/v1/credits by card against localstripe: a PaymentIntent for Stripe.js, the wallet credited
with the prepaid bonus when the succeeded event arrives, Idempotency-Key replays moving nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts import services as account_services
from tests.tokenomics.stripe.conftest import LocalStripe, deliver
from tokenomics.models import Payment
from tokenomics.selectors.ledger import user_balances

pytestmark = pytest.mark.django_db


def _bearer(api_client, user, scopes=("read", "write")) -> None:
    key = account_services.api_key_create(user=user, name="t", scopes=list(scopes))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.secret}")


def test_a_card_top_up_returns_stripe_js_instructions_and_credits_on_success(
    api_client, user, localstripe: LocalStripe, since: int, client: Client, django_capture_on_commit_callbacks
) -> None:
    _bearer(api_client, user)
    response = api_client.post("/api/v1/credits", {"rail": "card", "amount": "2500"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "awaiting_payment"
    assert body["amount"] == {"amount": "2500", "asset": "USD"}
    assert body["agr"] is None
    intent_id = body["card"]["payment_intent"]
    assert body["card"]["client_secret"] == localstripe.intent(intent_id)["client_secret"]
    assert body["card"]["stripe_js_url"].endswith("/js.stripe.com/v3/")

    localstripe.pay(intent_id)
    [event] = localstripe.events_for(intent_id, since)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, event)

    status = api_client.get(f"/api/v1/credits/{body['id']}").json()
    assert status["status"] == "succeeded"
    assert status["received"] == {"amount": "2500", "asset": "USD"}
    usd = next(b for b in user_balances(user=user) if b.asset == "USD")
    assert usd.wallet == 2_750  # 10% prepaid bonus


def test_an_idempotent_retry_creates_no_second_payment(api_client, user, localstripe: LocalStripe) -> None:
    _bearer(api_client, user)
    first = api_client.post(
        "/api/v1/credits", {"rail": "card", "amount": "900"}, format="json", HTTP_IDEMPOTENCY_KEY="top-up-1"
    )
    again = api_client.post(
        "/api/v1/credits", {"rail": "card", "amount": "900"}, format="json", HTTP_IDEMPOTENCY_KEY="top-up-1"
    )
    other = api_client.post(
        "/api/v1/credits", {"rail": "card", "amount": "901"}, format="json", HTTP_IDEMPOTENCY_KEY="top-up-1"
    )
    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 409)
    assert again.json() == first.json()
    assert other.json()["error"]["code"] == "idempotency_conflict"
    assert Payment.objects.filter(user=user).count() == 1
    assert len(localstripe.intents_for(first.json()["reference"])) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rail": "card", "amount": "49"}, "amount"),
        ({"rail": "card", "amount": "12.50"}, "amount"),
        ({"rail": "card", "amount": "0"}, "amount"),
        ({"rail": "agr", "amount": "-5"}, "amount"),
        ({"rail": "paypal", "amount": "2500"}, "rail"),
    ],
)
def test_bad_top_ups_are_validation_errors_and_record_nothing(api_client, user, body, field) -> None:
    _bearer(api_client, user)
    response = api_client.post("/api/v1/credits", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert field in response.json()["error"]["detail"]
    assert not Payment.objects.exists()


def test_another_users_top_up_is_not_found(api_client, user, other_user, localstripe: LocalStripe) -> None:
    _bearer(api_client, user)
    created = api_client.post("/api/v1/credits", {"rail": "card", "amount": "700"}, format="json").json()
    _bearer(api_client, other_user)
    response = api_client.get(f"/api/v1/credits/{created['id']}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_read_only_key_cannot_top_up(api_client, user) -> None:
    _bearer(api_client, user, scopes=("read",))
    response = api_client.post("/api/v1/credits", {"rail": "card", "amount": "700"}, format="json")
    assert response.status_code == 403
    assert not Payment.objects.exists()
