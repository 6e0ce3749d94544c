"""The usage page's rate control: a buyer rates one of their recent served calls 1-5 stars (the
same service as `POST /api/v1/inference-requests/{id}/rating`). With htmx the rating cell is
swapped in place; without, the page is shown again with a message."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_POST

from accounts.http import authenticated_user
from compute.errors import CallNotFound
from compute.services.reputation import call_rate
from core.exceptions import ApplicationError
from core.types import HtmxHttpRequest


def _stars(raw: str) -> int:
    return int(raw) if raw.isdecimal() and len(raw) == 1 else 0  # 0: refused as out of range


@login_required
@require_POST
def call_rating(request: HtmxHttpRequest, request_id: UUID) -> HttpResponse:
    """Rate a call of the signed-in buyer; another's call answers as not found."""
    error = ""
    stars: int | None = None
    try:
        rating = call_rate(
            buyer=authenticated_user(request),
            request_id=str(request_id),
            stars=_stars(request.POST.get("stars", "")),
        )
        stars = rating.stars
    except CallNotFound as exc:
        raise Http404("No such call.") from exc
    except ApplicationError as exc:
        error = str(exc)
    if request.htmx:  # htmx swaps 2xx answers only: a refusal is content, its text beside the form
        return render(
            request,
            "compute/_call_rating.html",
            {"request_id": request_id, "stars": stars, "can_rate": stars is None, "error": error},
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "Thank you: your rating counts toward the provider's trust score.")
    return redirect("compute:usage")


urlpatterns: list[URLPattern] = [
    path("usage/calls/<uuid:request_id>/rating", call_rating, name="call-rating"),
]
