"""`GET /metrics`: the gateway's Prometheus metrics (compute.metrics), for the operators' scraper.

Who may read them: a request with `Authorization: Bearer <METRICS_BEARER_TOKEN>` (compared in
constant time), or a signed-in staff member. With no token configured, development also lets anyone
read them (DEBUG); production refuses to start without one (core/checks.py, agora.E013).
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from compute.metrics import exposition
from core.api import error_body


def metrics_access_allowed(request: HttpRequest) -> bool:
    token = str(getattr(settings, "METRICS_BEARER_TOKEN", "") or "")
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header.removeprefix("Bearer ").strip().encode(), token.encode())
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    return not token and bool(settings.DEBUG)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_access_allowed(request):
        response = JsonResponse(
            error_body(
                code="authentication_required",
                message="The metrics need the scraper's bearer token or a staff session.",
            ),
            status=401,
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = exposition()
    return HttpResponse(body, content_type=content_type)


urlpatterns: list[URLPattern] = [path("metrics", metrics, name="metrics")]
