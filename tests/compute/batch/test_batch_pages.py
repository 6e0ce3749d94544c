"""The batch pages: a buyer submits JSON Lines in the form, the job page shows the progress bar
(polling itself while the job runs) and offers the results; others are told it does not exist."""

from __future__ import annotations

import json
from typing import Any

import pytest

from compute.models import BatchJob
from tests.accounts.factories import UserFactory
from tests.compute.batch.conftest import item, serve

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_buyer_submits_a_batch_sees_it_done_and_downloads_the_results(
    client: Any, hosted: Any, buyer: Any, stubs: list[Any]
) -> None:
    serve(hosted, stubs)
    client.force_login(buyer)
    assert client.get("/batch-jobs/new/?listing=identity-batch").status_code == 200
    lines = "\n".join(json.dumps(item(float(n))) for n in range(4))

    response = client.post("/batch-jobs/new/", {"listing": "identity-batch", "lines": lines})

    job = BatchJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/batch-jobs/{job.pk}/"
    page = client.get(f"/batch-jobs/{job.pk}/").content.decode()
    assert 'data-state="done"' in page
    assert '<progress id="batch-bar" max="4" value="4"' in page
    assert "hx-trigger" not in page.split('id="batch-progress"')[1].split(">")[0]  # done: no more polling
    partial = client.get(f"/batch-jobs/{job.pk}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="batch-progress")
    assert partial.content.decode().lstrip().startswith('<section id="batch-progress"')
    download = client.get(f"/batch-jobs/{job.pk}/results.jsonl")
    rows = [json.loads(line) for line in b"".join(download.streaming_content).splitlines()]
    assert [r["state"] for r in rows] == ["done"] * 4

    other = UserFactory()
    client.force_login(other)
    assert client.get(f"/batch-jobs/{job.pk}/").status_code == 404
    assert client.get(f"/batch-jobs/{job.pk}/results.jsonl").status_code == 404


def test_a_running_job_page_polls_itself(client: Any, hosted: Any, buyer: Any) -> None:
    job = BatchJob.objects.create(
        user=buyer, listing=hosted.listing, entitlement="prepaid", total=10, done=3, failed=1
    )
    client.force_login(buyer)
    page = client.get(f"/batch-jobs/{job.pk}/").content.decode()
    assert 'hx-trigger="every 2s"' in page
    assert '<progress id="batch-bar" max="10" value="4"' in page
    assert "Download results" not in page


def test_a_form_error_is_shown_and_nothing_is_stored(client: Any, hosted: Any, buyer: Any) -> None:
    client.force_login(buyer)
    response = client.post("/batch-jobs/new/", {"listing": "identity-batch", "lines": "{oops"})
    assert response.status_code == 400
    assert "Line 1 is not JSON." in response.content.decode()
    assert not BatchJob.objects.exists()
