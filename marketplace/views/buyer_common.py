"""What the buyer's pages share: the template folder, the 404 of another user's object, the safe
`next` target, the htmx redirect and the one placement of a service error next to its form field."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.http import url_has_allowed_host_and_scheme

from marketplace.errors import NotFound

BUYER = "marketplace/buyer"


def http404_of(exc: NotFound) -> Http404:
    return Http404(exc.message)


def safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "") or request.GET.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def htmx_redirect(url: str) -> HttpResponse:
    response = HttpResponse(status=204)
    response["HX-Redirect"] = url
    return response
