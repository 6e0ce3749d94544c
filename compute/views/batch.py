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
from compute.services import batch as services
from core.exceptions import ApplicationError
from core.types import HtmxHttpRequest

POLL_SECONDS = 2
PROGRESS_TARGET = "batch-progress"


@login_required
@require_http_methods(["GET", "POST"])
def batch_new(request: HtmxHttpRequest) -> HttpResponse:
    user = authenticated_user(request)
    context: dict[str, Any] = {
        "listing": request.GET.get("listing", "") or request.POST.get("listing", ""),
        "lines": request.POST.get("lines", ""),
        "webhook_url": request.POST.get("webhook_url", ""),
        "discount_bps": services.batch_limits()["discount.batch_bps"],
    }
    if request.method == "POST":
        limits = services.batch_limits()
        upload = request.FILES.get("file")
        source: Any = upload if upload is not None else context["lines"].splitlines()
        try:
            job = services.batch_create(
                user=user,
                listing_slug=context["listing"].strip(),
                items=services.jsonl_items(source, max_bytes=limits["batch.max_upload_bytes"]),
                webhook_url=context["webhook_url"].strip(),
            )
        except ApplicationError as exc:
            context["error"] = str(exc)
            context["error_detail"] = exc.detail
            return render(request, "compute/batch_new.html", context, status=400)
        return redirect("compute:batch-job", job_id=job.pk)
    return render(request, "compute/batch_new.html", context)


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
