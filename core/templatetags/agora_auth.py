"""`{% login_next %}`: the `?next=` that brings a visitor back to where they were after logging in."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

register = template.Library()

# Pages a visitor should not be sent back to: the log-in and sign-up pages themselves.
_ACCOUNT_PREFIX = "/accounts/"


def login_next_url(request: HttpRequest) -> str:
    """Where to return after logging in or signing up from this page ('' for the default).

    On an account page (log in ↔ sign up), the `next` it was given is carried on, if it is a path
    on this site; anywhere else it is the page itself. allauth checks `next` again on the way out.
    """
    if request.path.startswith(_ACCOUNT_PREFIX):
        candidate = request.GET.get("next", "")
        safe = url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        return candidate if candidate and safe else ""
    return request.get_full_path()


@register.simple_tag(takes_context=True)
def login_next(context: dict[str, Any]) -> str:
    request = context.get("request")
    if request is None:
        return ""
    url = login_next_url(request)
    return f"?{urlencode({'next': url})}" if url else ""
