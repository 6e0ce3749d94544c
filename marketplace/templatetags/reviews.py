"""`{% reviews_section listing request %}`: a listing's reviews section, for the listing page.

The listing page's view need not know who may review: the tag asks the review selectors for the
request's user (a verified buyer gets the form, pre-filled when editing; the creator gets reply
forms). `{% stars 4 %}` draws a rating as stars with a text equivalent.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.http import HttpRequest
from django.utils.html import format_html

from marketplace.models import Listing
from marketplace.views.reviews import SECTION_TEMPLATE, section_context

register = template.Library()


@register.inclusion_tag(SECTION_TEMPLATE, takes_context=True)
def reviews_section(
    context: template.Context, listing: Listing, request: HttpRequest | None = None
) -> dict[str, Any]:
    """The reviews section of `listing` as the request's user sees it."""
    request = request or context.get("request")
    if request is None:
        raise template.TemplateSyntaxError(
            "reviews_section needs the request (context processor or argument)."
        )
    return section_context(request=request, listing=listing)


@register.simple_tag
def stars(rating: object) -> str:
    """Five stars, `rating` of them filled, with "4 out of 5 stars" for screen readers."""
    value = rating if type(rating) is int and 0 <= rating <= 5 else 0
    return format_html(
        '<span class="stars" role="img" aria-label="{} out of 5 stars">{}{}</span>',
        value,
        "★" * value,
        "☆" * (5 - value),
    )
