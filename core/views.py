"""Project-wide views: home, health, and the error pages (JSON on API paths, HTML elsewhere)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe

from core import health
from core.api import error_body

_API_PREFIXES = ("/api/", "/_allauth/", "/v2/")


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": health.database_status(),
        "cache": health.cache_status(),
        "broker": health.broker_status(),
    }
    healthy = all(value in ("ok", "eager") for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "degraded", **checks}, status=200 if healthy else 503)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(_API_PREFIXES)


def _error(request: HttpRequest, *, status: int, code: str, message: str, template: str) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body(code=code, message=message), status=status)
    return render(request, template, {"status": status, "message": message}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request,
        status=400,
        code="bad_request",
        message="The request was malformed.",
        template="core/error.html",
    )


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request,
        status=403,
        code="permission_denied",
        message="You do not have permission to do this.",
        template="core/error.html",
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, status=404, code="not_found", message="Not found.", template="404.html")


def server_error(request: HttpRequest) -> HttpResponse:
    return _error(
        request,
        status=500,
        code="server_error",
        message="Something went wrong on our side; it has been logged.",
        template="500.html",
    )


def csrf_failure(request: HttpRequest, reason: str = "", **kwargs: Any) -> HttpResponse:
    return _error(
        request,
        status=403,
        code="permission_denied",
        message="The security token (CSRF) is missing or stale. Reload the page and try again.",
        template="core/error.html",
    )
