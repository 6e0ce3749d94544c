"""The site's WSGI handler: Django's, plus a shorter middleware chain for API-key inference calls.

A program calling the inference gateway (`POST /api/v1/inference/{slug}`, the KServe v2 paths under
`/v2/`) with `Authorization: Bearer <api key>` and no cookie has no use for the middleware that
serves browsers: sessions, CSRF cookies, `request.user` from a session, flash messages, allauth's
login flows, htmx, static files. For such a request, and only such a request, this handler runs
settings.MIDDLEWARE without those (`BROWSER_ONLY_MIDDLEWARE`); everything else keeps its place and
order, so the security headers, the Content-Security-Policy, the API error envelope, the
clickjacking header and whatever middleware is added later still run.

Why nothing is lost:
- Authentication: DRF's authentication classes run first in the view, and with an Authorization
  header the API-key class answers or refuses: the session class is never consulted, so a session
  is never read. A request that carries any cookie takes the full chain anyway.
- CSRF: Django's CsrfViewMiddleware only acts in `process_view`, which still runs (the view hooks
  are the full chain's); its `process_request` merely copies the cookie, and there is none. DRF's
  views are CSRF-exempt; its session authentication enforces CSRF itself, and is not used here.
- Responses: with no session read, SessionMiddleware adds nothing (no cookie, no `Vary: Cookie`);
  the CSRF middleware sets a cookie only when a view asked for a token; messages and allauth have
  nothing to store. tests/core/test_wsgi.py compares both chains' answers header by header.

The Django test client has its own handler and always runs the full chain; gunicorn runs this one
(config/wsgi.py).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponseBase
from django.urls import set_urlconf
from django.utils.log import log_response
from django.utils.module_loading import import_string

# Middleware with nothing to do for a cookie-less API-key call.
BROWSER_ONLY_MIDDLEWARE = frozenset(
    {
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "allauth.account.middleware.AccountMiddleware",
        "django_htmx.middleware.HtmxMiddleware",
    }
)

# The gateway's paths that API keys call (compute/api/gateway_urls.py).
API_KEY_PATHS = ("/api/v1/inference/", "/v2/")


def api_key_call(request: HttpRequest) -> bool:
    """A request to the gateway that presents an API key and no cookie."""
    meta = request.META
    return (
        bool(meta.get("HTTP_AUTHORIZATION"))
        and not meta.get("HTTP_COOKIE")
        and request.path_info.startswith(API_KEY_PATHS)
    )


class AgoraWSGIHandler(WSGIHandler):
    """Django's WSGIHandler; API-key calls to the gateway skip the browser-only middleware."""

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async)
        if is_async:  # pragma: no cover - WSGI is synchronous
            raise ValueError("AgoraWSGIHandler is a WSGI handler")
        # Same order, same classes, less the browser-only ones. Their view, template and exception
        # hooks stay registered (the full chain's lists serve both), so a view's CSRF protection and
        # the error pages do not depend on the chain.
        handler: Any = convert_exception_to_response(self._get_response)  # type: ignore[attr-defined]
        for path in reversed(settings.MIDDLEWARE):
            if path in BROWSER_ONLY_MIDDLEWARE:
                continue
            try:
                instance = import_string(path)(handler)
            except MiddlewareNotUsed:
                continue
            handler = convert_exception_to_response(instance)
        self._api_key_chain = handler

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        if not api_key_call(request):
            return super().get_response(request)
        # BaseHandler.get_response, with the shorter chain.
        set_urlconf(settings.ROOT_URLCONF)
        response: HttpResponseBase = self._api_key_chain(request)
        response._resource_closers.append(request.close)  # type: ignore[attr-defined]
        if response.status_code >= 400:
            log_response(
                "%s: %s",
                response.reason_phrase,
                request.path,
                response=response,  # type: ignore[arg-type]
                request=request,
            )
        return response
