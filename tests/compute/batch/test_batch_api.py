"""The batch-jobs API: a quote before anything runs, a JSON array or a JSON Lines upload, progress,
streamed results, cancel, the caps and the 402 when the quote cannot be paid; and the completion
webhook, verified with the `standardwebhooks` library and retried with backoff."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from compute.models import BatchItem, BatchJob
from compute.services.batch import batch_webhook_run, webhook_backoff_seconds
from tests.accounts.factories import UserFactory
from tests.compute.batch.conftest import BAD_ITEM, api, item, serve
from tests.tokenomics.payout_factories import parameter_override

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/batch-jobs"


class Receiver:
    """A webhook endpoint on loopback that answers `statuses` in turn (then 200) and keeps what
    it received."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/agora"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.stop()


def test_a_json_array_batch_runs_reports_progress_streams_results_and_signs_its_webhook(
    hosted: Any, buyer: Any, stubs: list[Any], receiver: Receiver
) -> None:
    serve(hosted, stubs)
    client = api(buyer)
    items = [item(float(n)) for n in range(20)] + [BAD_ITEM]

    quote = client.post(URL, {"listing": "identity-batch", "items": items, "quote_only": True}, format="json")
    assert quote.status_code == 200, quote.content
    assert quote.json()["items"] == 21
    assert quote.json()["batch_discount_bps"] == 1000
    assert not BatchJob.objects.exists()

    created = client.post(
        URL, {"listing": "identity-batch", "items": items, "webhook_url": receiver.url}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["total"] == 21
    assert body["webhook_secret"].startswith("whsec_")
    assert body["quote"]["item_price_micro"] == quote.json()["item_price_micro"]

    # Celery runs eagerly here: the job is done by the time the response is read.
    progress = client.get(f"{URL}/{body['id']}").json()
    assert (progress["state"], progress["done"], progress["failed"], progress["remaining"]) == (
        "done",
        20,
        1,
        0,
    )
    assert progress["spend_micro"] == 20 * body["quote"]["item_price_micro"]

    results = client.get(f"{URL}/{body['id']}/results")
    assert results.status_code == 200
    assert results["Content-Type"] == "application/jsonl"
    lines = [json.loads(line) for line in b"".join(results.streaming_content).splitlines()]
    assert [line["index"] for line in lines] == list(range(21))
    assert lines[3]["outputs"][0]["data"] == [3.0, 4.0, 5.0, 6.0]
    assert lines[20]["state"] == "failed"
    assert lines[20]["error"]["code"] == "validation_error"
    assert "charge_micro" not in lines[20]

    # The webhook: one delivery, verified with the standardwebhooks library.
    assert len(receiver.received) == 1
    headers, raw = receiver.received[0]
    payload = Webhook(body["webhook_secret"]).verify(raw, headers)
    assert payload["type"] == "batch_job.completed"
    assert payload["data"]["done"] == 20
    assert payload["data"]["failed"] == 1
    assert headers["webhook-id"] == f"msg_batch_{body['id']}"
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 32).verify(raw, headers)
    assert BatchJob.objects.get(pk=body["id"]).webhook_state == "delivered"


def test_a_json_lines_upload_is_read_line_by_line(hosted: Any, buyer: Any, stubs: list[Any]) -> None:
    serve(hosted, stubs)
    lines = "\n".join(json.dumps(item(float(n))) for n in range(5)) + "\n\n"
    upload = io.BytesIO(lines.encode())
    upload.name = "inputs.jsonl"
    response = api(buyer).post(URL, {"listing": "identity-batch", "file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["total"] == 5
    assert BatchJob.objects.get().done == 5


def test_a_line_that_is_not_json_is_named_and_nothing_is_stored(hosted: Any, buyer: Any) -> None:
    upload = io.BytesIO((json.dumps(item()) + "\n{not json\n").encode())
    upload.name = "inputs.jsonl"
    response = api(buyer).post(URL, {"listing": "identity-batch", "file": upload}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert "Line 2" in json.dumps(response.json())
    assert not BatchJob.objects.exists()
    assert not BatchItem.objects.exists()


def test_the_caps_and_an_unpayable_quote_refuse_the_batch(hosted: Any, stubs: list[Any]) -> None:
    poor = UserFactory()
    response = api(poor).post(URL, {"listing": "identity-batch", "items": [item()]}, format="json")
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "license_required"
    assert response.json()["error"]["detail"]["reason"] == "insufficient_credit"

    parameter_override("batch.max_items", 3)
    rich = UserFactory()
    from tests.tokenomics.factories import funded_wallet

    funded_wallet(user=rich, amount=10_000)
    response = api(rich).post(URL, {"listing": "identity-batch", "items": [item()] * 4}, format="json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "batch_too_large"
    assert not BatchJob.objects.exists()


def test_a_canceled_job_runs_no_more_items_and_charges_none_of_them(
    hosted: Any, buyer: Any, stubs: list[Any]
) -> None:
    from django.db import transaction

    from compute.services.batch import batch_create, batch_job_cancel

    serve(hosted, stubs)
    # Canceled before its workers start (they start when the creating transaction commits).
    with transaction.atomic():
        job = batch_create(user=buyer, listing_slug="identity-batch", items=[item()] * 5)
        batch_job_cancel(user=buyer, job_id=job.pk)

    progress = api(buyer).get(f"{URL}/{job.pk}").json()
    assert (progress["state"], progress["canceled"], progress["done"], progress["remaining"]) == (
        "canceled",
        5,
        0,
        0,
    )
    assert progress["spend_micro"] == 0
    assert stubs[0].infer_calls == 0
    again = api(buyer).post(f"{URL}/{job.pk}/cancel")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_state"
    assert api(UserFactory()).get(f"{URL}/{job.pk}").status_code == 404
    assert api(UserFactory()).post(f"{URL}/{job.pk}/cancel").status_code == 404


def test_a_failing_webhook_is_retried_with_backoff_and_then_delivered(
    hosted: Any, buyer: Any, stubs: list[Any]
) -> None:
    serve(hosted, stubs)
    receiver = Receiver(statuses=[500, 503])
    try:
        created = api(buyer).post(
            URL, {"listing": "identity-batch", "items": [item()], "webhook_url": receiver.url}, format="json"
        )
        job = BatchJob.objects.get(pk=created.json()["id"])
        # Eager Celery runs the retries at once (the countdown is the worker's): third time lucky.
        assert job.state == "done"
        assert (job.webhook_state, job.webhook_attempts) == ("delivered", 3)
        assert len(receiver.received) == 3
        assert len({h["webhook-id"] for h, _ in receiver.received}) == 1  # one message, retried
        assert batch_webhook_run(job.pk) is True  # nothing more to send
        assert len(receiver.received) == 3
    finally:
        receiver.stop()
    assert [webhook_backoff_seconds(n) for n in (1, 2, 3, 10, 20)] == [10, 20, 40, 3600, 3600]
