"""Project middleware: the API's error envelope in every mode, the site's 404 page for a view's
Http404 in every mode, and the Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

from core.api import error_body
from core.views import page_not_found  # the one place the error pages are rendered

# The JSON APIs: ours, and the KServe v2 protocol served at /v2/ (its clients read JSON errors).
API_PREFIXES = ("/api/", "/v2/")

# Status -> (code, message) for errors that Django, not DRF, answered under /api/.
_API_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "The request was malformed."),
    403: ("permission_denied", "You do not have permission to do this."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "This method is not allowed here."),
    500: ("server_error", "Something went wrong on our side; it has been logged."),
}


class ApiErrorEnvelopeMiddleware:
    """Under /api/, an error that is not already JSON becomes the error envelope of API.md.

    With DEBUG on, Django answers an unknown path (Resolver404) and an unhandled exception with its
    HTML debug pages before any handler404/handler500 runs; a program calling the API must get the
    same JSON in every mode. The exception is still logged by Django (django.request) before this
    rewrites the response, so nothing is lost but the HTML.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            not request.path.startswith(API_PREFIXES)
            or response.status_code < 400
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        code, message = _API_ERRORS.get(
            response.status_code,
            _API_ERRORS[500] if response.status_code >= 500 else _API_ERRORS[400],
        )
        envelope = JsonResponse(error_body(code=code, message=message), status=response.status_code)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                envelope[header] = response[header]
        return envelope


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


@lru_cache(maxsize=8)
def content_security_policy(
    stripe_js_url: str, stripe_api_base: str, extra: tuple[tuple[str, str], ...]
) -> str:
    """The policy for these settings (cached: it is rebuilt only when they change)."""
    stripe_js = _origin(stripe_js_url)
    stripe_api = _origin(stripe_api_base) or "https://api.stripe.com"
    directives = {
        "default-src": "'self'",
        "script-src": f"'self' {stripe_js}".strip(),
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data:",
        "font-src": "'self'",
        "connect-src": f"'self' {stripe_api}".strip(),
        # Stripe.js draws card fields and 3-D Secure in frames from its own origin and Stripe's.
        "frame-src": f"{stripe_js} https://hooks.stripe.com".strip() if stripe_js else "'none'",
        "frame-ancestors": "'none'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        **dict(extra),
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class ContentSecurityPolicyMiddleware:
    """Sends `Content-Security-Policy` on every response that does not set its own.

    Scripts come from this site and Stripe.js's origin only (no inline script, no eval: htmx is
    served from static files and works without eval as long as no hx-on/js: attributes are used).
    Images, model-card ones included, come only from this site or data: URLs, so a model card
    cannot make a buyer's browser call out to a third party. Inline style attributes stay allowed
    (progress bars and htmx's indicator styles use them); styles cannot run script.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        header = (
            "Content-Security-Policy-Report-Only" if settings.CSP_REPORT_ONLY else "Content-Security-Policy"
        )
        if header not in response:
            response[header] = content_security_policy(
                settings.STRIPE_JS_URL,
                settings.STRIPE_API_BASE,
                tuple(sorted(settings.CSP_EXTRA_DIRECTIVES.items())),
            )
        return response


class SitePageNotFoundMiddleware:
    """A page a view says does not exist (its Http404: a suspended listing, someone else's order)
    gets the site's own 404 page in every mode. With DEBUG on, Django would show its debug page,
    which is for developers and lists the URL patterns; a visitor of `make demo` should see what
    production shows. An unknown path (no view matched) still gets the debug page there, which is
    what a developer wants, since no view ran."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not settings.DEBUG or not isinstance(exception, Http404):
            return None
        return page_not_found(request, exception)
