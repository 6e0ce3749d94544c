"""A dispute's evidence file, for the dispute's parties and for staff only.

Evidence is whatever a buyer uploaded (screenshots, logs, documents), so it is never served from
MEDIA_URL: only this view reads it, after checking who asks, and always as a download that the
browser may not sniff or render in the site's origin."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest
from django.urls import URLPattern, path
from django.views.decorators.http import require_safe

from accounts.http import authenticated_user
from marketplace.errors import NotFound
from marketplace.selectors.orders import dispute_get_for_party


@login_required
@require_safe
def dispute_evidence(request: HttpRequest, dispute_id: int) -> FileResponse:
    try:
        dispute = dispute_get_for_party(user=authenticated_user(request), dispute_id=dispute_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if not dispute.evidence_file:
        raise Http404("This dispute has no evidence file.")
    name = (dispute.evidence_file.name or "evidence").rsplit("/", 1)[-1]
    response = FileResponse(
        dispute.evidence_file.open("rb"),
        as_attachment=True,
        filename=name,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


urlpatterns: list[URLPattern] = [
    path("disputes/<int:dispute_id>/evidence/", dispute_evidence, name="dispute_evidence"),
]
