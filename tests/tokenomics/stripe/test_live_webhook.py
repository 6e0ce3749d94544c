"""localstripe itself delivers a signed webhook to a live Django server: the whole path, with
nothing built by the test (localstripe signs with the secret it was given, here the old one of a
rotation, and posts about a second after the event)."""

from __future__ import annotations

import time

import pytest

from tests.tokenomics.stripe.conftest import SECRET_OLD, LocalStripe
from tokenomics.models import LedgerTransaction, Payment, StripeEvent
from tokenomics.models.rails import PaymentStatus
from tokenomics.services.stripe_rail import card_payment_start

pytestmark = pytest.mark.django_db(transaction=True)

HOOK = "agora-live-test"
WAIT_SECONDS = 15


def test_localstripe_delivers_a_signed_webhook_to_the_live_endpoint(
    user, live_server, localstripe: LocalStripe
):
    localstripe.register_webhook(
        HOOK, f"{live_server.url}/webhooks/stripe/", SECRET_OLD, events=["payment_intent.succeeded"]
    )
    try:
        started = card_payment_start(user=user, purpose="credit_top_up", amount=2_000)
        intent_id = started.payment.stripe_payment_intent_id
        localstripe.pay(intent_id)
        deadline = time.monotonic() + WAIT_SECONDS
        while Payment.objects.get(pk=started.payment.pk).status != PaymentStatus.SUCCEEDED:
            assert time.monotonic() < deadline, "localstripe's webhook never credited the payment"
            time.sleep(0.1)
    finally:
        # localstripe cannot forget a webhook: leave it subscribed to no event at all.
        localstripe.register_webhook(HOOK, "http://127.0.0.1:9/", SECRET_OLD, events=["agora.none"])
    event = StripeEvent.objects.get(object_id=intent_id)
    assert (event.type, event.status) == ("payment_intent.succeeded", "processed")
    payment = Payment.objects.get(pk=started.payment.pk)
    assert payment.received_amount == 2_000
    assert LedgerTransaction.objects.filter(reference=payment.reference).count() == 1
