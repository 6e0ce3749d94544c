"""The batch pages: a buyer submits JSON Lines in the form, the job page shows the progress bar
(polling itself while the job runs) and offers the results; others are told it does not exist."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from compute.models import BatchItem, BatchJob
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


# ----------------------------------------------------------------------------- where a refusal lands


def field_errors(html: str, auto_id: str) -> str:
    """The text of the error list Django renders beside the field whose id is `auto_id`."""
    found = re.search(rf'<ul class="errorlist" id="{re.escape(auto_id)}_error">(.*?)</ul>', html, re.S)
    assert found, f"no error list beside {auto_id}"
    return found.group(1)


def top_errors(html: str) -> str:
    found = re.search(
        r'<div class="form-errors"[^>]*><ul class="errorlist nonfield">(.*?)</ul></div>', html, re.S
    )
    assert found, "no form-errors box"
    return found.group(1)


def test_a_line_that_is_not_json_is_shown_beside_the_pasted_lines(
    client: Any, hosted: Any, buyer: Any
) -> None:
    client.force_login(buyer)
    lines = json.dumps(item()) + "\n{oops"
    response = client.post("/batch-jobs/new/", {"listing": "identity-batch", "lines": lines})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Line 2 is not JSON." in field_errors(html, "batch-lines")
    assert 'aria-describedby="batch-lines_error"' in html
    assert 'value="identity-batch"' in html  # the form comes back as sent
    assert 'class="form-errors"' not in html
    assert not BatchJob.objects.exists()
    assert not BatchItem.objects.exists()


def test_an_uploaded_line_that_is_not_json_is_shown_beside_the_upload(
    client: Any, hosted: Any, buyer: Any
) -> None:
    client.force_login(buyer)
    upload = SimpleUploadedFile("items.jsonl", b"[not json\n", content_type="application/jsonl")
    response = client.post("/batch-jobs/new/", {"listing": "identity-batch", "file": upload})
    assert response.status_code == 400
    assert "Line 1 is not JSON." in field_errors(response.content.decode(), "batch-file")
    assert not BatchJob.objects.exists()


def test_a_model_that_is_not_published_is_shown_beside_its_slug(client: Any, hosted: Any, buyer: Any) -> None:
    client.force_login(buyer)
    response = client.post("/batch-jobs/new/", {"listing": "no-such-model", "lines": json.dumps(item())})
    assert response.status_code == 400
    assert "No published model has this name." in field_errors(response.content.decode(), "batch-listing")
    assert not BatchJob.objects.exists()


def test_a_batch_nobody_pays_for_is_refused_at_the_top(client: Any, hosted: Any) -> None:
    client.force_login(UserFactory())  # no subscription, no prepaid credit
    response = client.post("/batch-jobs/new/", {"listing": "identity-batch", "lines": json.dumps(item())})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Your prepaid balance cannot pay for this batch; add credit or split it." in top_errors(html)
    assert 'class="errorlist" id="batch-' not in html  # nothing beside a field
    assert not BatchJob.objects.exists()
    assert not BatchItem.objects.exists()
