"""The usage page's rate control: a buyer rates one of their recent served calls 1-5 stars (the
same service as `POST /api/v1/inference-requests/{id}/rating`). With htmx the rating cell is
swapped in place, a refusal on its form (core.forms.service_error_to_form: the stars' message
beside the stars, "already rated" above); without htmx, the usage page is shown again with the
refusal in the messages (the page's one-row form is not worth re-rendering the whole page for)."""

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
from compute.forms import CallRatingForm
from compute.services.reputation import call_rate
from core.exceptions import ApplicationError
from core.forms import service_error_to_form
from core.types import HtmxHttpRequest


@login_required
@require_POST
def call_rating(request: HtmxHttpRequest, request_id: UUID) -> HttpResponse:
    """Rate a call of the signed-in buyer; another's call answers as not found."""
    form = CallRatingForm(request.POST, request_id=request_id)
    stars: int | None = None
    if form.is_valid():
        try:
            stars = call_rate(
                buyer=authenticated_user(request),
                request_id=str(request_id),
                stars=form.cleaned_data["stars"],
            ).stars
        except CallNotFound as exc:
            raise Http404("No such call.") from exc
        except ApplicationError as exc:
            service_error_to_form(form, exc)
    if request.htmx:  # htmx swaps 2xx answers only: a refusal is content, on the cell's form
        return render(
            request,
            "compute/_call_rating.html",
            {"request_id": request_id, "stars": stars, "can_rate": stars is None, "form": form},
        )
    if stars is None:
        for field_messages in form.errors.values():
            for message in field_messages:
                messages.error(request, str(message))
    else:
        messages.success(request, "Thank you: your rating counts toward the provider's trust score.")
    return redirect("compute:usage")


urlpatterns: list[URLPattern] = [
    path("usage/calls/<uuid:request_id>/rating", call_rating, name="call-rating"),
]
