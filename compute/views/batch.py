"""Batch-job pages: submit a batch (JSON Lines pasted or uploaded), watch its progress bar (the
card polls itself with htmx while the job runs) and download its results as JSON Lines. The work
is `compute.services.batch`'s; the page only reads and renders."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from accounts.http import authenticated_user
from compute.api.batch import results_response
from compute.forms import BatchForm
from compute.services import batch as services
from core.exceptions import ApplicationError
from core.forms import service_error_to_form
from core.types import HtmxHttpRequest

POLL_SECONDS = 2
PROGRESS_TARGET = "batch-progress"


@login_required
@require_http_methods(["GET", "POST"])
def batch_new(request: HtmxHttpRequest) -> HttpResponse:
    user = authenticated_user(request)
    limits = services.batch_limits()
    context: dict[str, Any] = {"discount_bps": limits["discount.batch_bps"]}
    if request.method == "GET":
        form = BatchForm(initial={"listing": request.GET.get("listing", "")})
        return render(request, "compute/batch_new.html", context | {"form": form})
    form = BatchForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            job = services.batch_create(
                user=user,
                listing_slug=form.cleaned_data["listing"].strip(),
                items=services.jsonl_items(form.items_source(), max_bytes=limits["batch.max_upload_bytes"]),
                webhook_url=form.cleaned_data["webhook_url"].strip(),
            )
        except ApplicationError as exc:
            # The message a person reads beside the field ("Line 3 is not JSON."); the detail is
            # the API client's.
            service_error_to_form(form, exc, beside="message", **form.error_places(exc))
        else:
            return redirect("compute:batch-job", job_id=job.pk)
    return render(request, "compute/batch_new.html", context | {"form": form}, status=400)


def _job(request: HtmxHttpRequest, job_id: int) -> Any:
    try:
        return services.batch_job_get(user=authenticated_user(request), job_id=job_id)
    except services.BatchNotFound as exc:
        raise Http404("No such batch job.") from exc


@login_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def batch_job_page(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    progress = services.batch_progress(job)
    finished = progress["done"] + progress["failed"] + progress["canceled"]
    context = {
        "job": job,
        "progress": progress,
        "finished": finished,
        "percent": 100 if not job.total else finished * 100 // job.total,
        "spend_cents": -(-progress["spend_micro"] // 10_000),
        "poll_seconds": POLL_SECONDS,
    }
    if request.htmx and request.htmx.target == PROGRESS_TARGET and not request.htmx.history_restore_request:
        return render(request, "compute/batch_job.html#progress", context)
    return render(request, "compute/batch_job.html", context)


@login_required
@require_GET
def batch_job_results(request: HtmxHttpRequest, job_id: int) -> StreamingHttpResponse:
    return results_response(_job(request, job_id))


urlpatterns: list[URLPattern] = [
    path("batch-jobs/new/", batch_new, name="batch-new"),
    path("batch-jobs/<int:job_id>/", batch_job_page, name="batch-job"),
    path("batch-jobs/<int:job_id>/results.jsonl", batch_job_results, name="batch-job-results"),
]
