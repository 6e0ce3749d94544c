"""The pay step's card sequence against localstripe: save the card (a SetupIntent the "browser"
confirms with the card, as Stripe.js confirmCardSetup does), then the server charges it. Also the
two JSON endpoints pay.js calls, and what a declined attempt leaves behind."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.tokenomics.stripe.conftest import (
    CARD_3DS,
    CARD_DECLINED,
    CARD_OK,
    LocalStripe,
    deliver,
    make_event,
)
from tokenomics.errors import InvalidState
from tokenomics.models import LedgerTransaction, Payment
from tokenomics.models.rails import PaymentStatus
from tokenomics.services.card_checkout import (
    AUTHENTICATE,
    DECLINED,
    PAID,
    card_payment_confirm,
    card_setup_start,
)
from tokenomics.services.stripe_rail import card_payment_start

pytestmark = pytest.mark.django_db


def save_card(localstripe: LocalStripe, client_secret: str, number: str = CARD_OK) -> dict[str, Any]:
    """What Stripe.js confirmCardSetup does in the browser with the card typed into its element."""
    setup_id = client_secret.split("_secret_", 1)[0]
    card = {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    setup = localstripe.client.v1.setup_intents.confirm(
        setup_id,
        params={"payment_method_data": {"type": "card", "card": card}},  # type: ignore[typeddict-item]
    )
    return dict(setup.to_dict())


def credits(payment: Payment) -> int:
    return LedgerTransaction.objects.filter(
        idempotency_key__startswith="stripe:pi:", memo__contains=payment.reference
    ).count()


def test_a_saved_card_pays_at_once_and_only_once(user, localstripe: LocalStripe) -> None:
    payment = card_payment_start(user=user, purpose="test_purchase", amount=1_250).payment
    setup = save_card(localstripe, card_setup_start(payment=payment))
    assert setup["status"] == "succeeded"

    answer = card_payment_confirm(payment=payment, setup_intent_id=setup["id"])

    assert (answer.outcome, answer.client_secret) == (PAID, "")
    payment.refresh_from_db()
    assert (payment.status, payment.received_amount) == (PaymentStatus.SUCCEEDED, 1_250)
    assert localstripe.intent(str(payment.stripe_payment_intent_id))["status"] == "succeeded"
    assert credits(payment) == 1
    with pytest.raises(InvalidState):  # paid: the same card cannot be charged again through it
        card_payment_confirm(payment=payment, setup_intent_id=setup["id"])
    assert credits(payment) == 1


def test_a_card_saved_for_another_payment_is_refused(user, localstripe: LocalStripe) -> None:
    mine = card_payment_start(user=user, purpose="test_purchase", amount=500).payment
    other = card_payment_start(user=user, purpose="test_purchase", amount=900).payment
    setup = save_card(localstripe, card_setup_start(payment=other))
    with pytest.raises(InvalidState, match="not collected for this payment"):
        card_payment_confirm(payment=mine, setup_intent_id=setup["id"])
    assert localstripe.intent(str(Payment.objects.get(pk=mine.pk).stripe_payment_intent_id))["status"] == (
        "requires_payment_method"
    )


def test_a_card_not_saved_yet_is_refused(user, localstripe: LocalStripe) -> None:
    payment = card_payment_start(user=user, purpose="test_purchase", amount=500).payment
    secret = card_setup_start(payment=payment)
    with pytest.raises(InvalidState, match="not been saved"):
        card_payment_confirm(payment=payment, setup_intent_id=secret.split("_secret_", 1)[0])


def test_a_declined_card_charges_nothing_and_the_next_card_gets_a_fresh_intent(
    user, localstripe: LocalStripe, client: Client
) -> None:
    payment = card_payment_start(user=user, purpose="test_purchase", amount=700).payment
    first_intent = str(Payment.objects.get(pk=payment.pk).stripe_payment_intent_id)
    declined = save_card(localstripe, card_setup_start(payment=payment), CARD_DECLINED)

    answer = card_payment_confirm(payment=payment, setup_intent_id=declined["id"])

    assert answer.outcome == DECLINED
    assert "declined" in answer.message
    payment.refresh_from_db()
    assert (payment.status, payment.received_amount) == (PaymentStatus.FAILED, 0)

    good = save_card(localstripe, card_setup_start(payment=payment))
    assert card_payment_confirm(payment=payment, setup_intent_id=good["id"]).outcome == PAID
    payment.refresh_from_db()
    assert payment.stripe_payment_intent_id != first_intent
    assert (payment.status, payment.received_amount) == (PaymentStatus.SUCCEEDED, 700)
    # The declined intent was canceled at Stripe; its late event changes nothing here.
    old = localstripe.intent(first_intent)
    assert old["status"] == "canceled"
    response = deliver(client, make_event("evt_superseded_1", "payment_intent.canceled", old))
    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert credits(payment) == 1


def test_a_card_that_asks_for_authentication_hands_the_intent_to_the_browser(
    user, localstripe: LocalStripe
) -> None:
    payment = card_payment_start(user=user, purpose="test_purchase", amount=800).payment
    secret = card_setup_start(payment=payment)
    setup_id = secret.split("_secret_", 1)[0]
    save_card(localstripe, secret, CARD_3DS)  # requires_action: the browser's dialog completes it
    localstripe.client.v1.setup_intents.confirm(setup_id)

    answer = card_payment_confirm(payment=payment, setup_intent_id=setup_id)

    payment.refresh_from_db()
    assert answer.outcome == AUTHENTICATE
    assert answer.client_secret == localstripe.intent(str(payment.stripe_payment_intent_id))["client_secret"]
    assert payment.received_amount == 0  # nothing until the authenticated charge's event


# ----------------------------------------------------------------------------- the endpoints


def test_the_endpoints_serve_only_the_payer(
    user, other_user, localstripe: LocalStripe, client: Client
) -> None:
    payment = card_payment_start(user=user, purpose="test_purchase", amount=600).payment
    setup_url = f"/payments/{payment.pk}/card/setup/"
    confirm_url = f"/payments/{payment.pk}/card/confirm/"

    assert client.post(setup_url).status_code == 302  # to the login page
    client.force_login(other_user)
    assert client.post(setup_url).status_code == 404
    assert client.post(confirm_url, {"setup_intent": "seti_x"}).status_code == 404

    client.force_login(user)
    assert client.get(setup_url).status_code == 405
    refused = client.post(confirm_url, {})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "validation_error"

    secret = client.post(setup_url).json()["client_secret"]
    setup = save_card(localstripe, secret)
    paid = client.post(confirm_url, {"setup_intent": setup["id"]})
    assert paid.json() == {"outcome": PAID, "client_secret": "", "message": ""}
    again = client.post(confirm_url, {"setup_intent": setup["id"]})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_state"
