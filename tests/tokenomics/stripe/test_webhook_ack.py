"""S5: the endpoint answers fast because it only verifies and stores; processing (the re-fetch from
Stripe, the ledger) is handed to a task after the commit. A burst of 50 deliveries: every answer is
2xx well under a second, and 50 processings are queued, none run inside a request."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from tests.tokenomics.stripe.conftest import deliver, make_event
from tokenomics.models import StripeEvent

pytestmark = pytest.mark.django_db

BURST = 50


def test_a_burst_is_acknowledged_fast_and_processed_later(client: Client, django_capture_on_commit_callbacks):
    seconds = []
    with django_capture_on_commit_callbacks(execute=False) as queued:
        for n in range(BURST):
            event = make_event(f"evt_burst_{n}", "payment_intent.succeeded", {"id": f"pi_burst_{n}"})
            started = time.perf_counter()
            response = deliver(client, event)
            seconds.append(time.perf_counter() - started)
            assert response.status_code == 200
    seconds.sort()
    p99 = seconds[int(len(seconds) * 0.99) - 1]
    assert p99 < 1.0, seconds[-5:]
    assert len(queued) == BURST  # one processing task per event, after the commit
    assert StripeEvent.objects.filter(status="received").count() == BURST
