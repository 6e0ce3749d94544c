"""The listing page's current per-call price (the marketplace page loads it by hx-get: compute is
above marketplace, so the page reaches it by URL, never by import). Thin: the quote is the
gateway's (`compute.services.quotes.listing_quote`), the same numbers the price API answers."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from accounts.http import authenticated_user
from compute.services.quotes import listing_quote
from core.types import HtmxHttpRequest


@require_GET
def listing_price(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    user = authenticated_user(request) if request.user.is_authenticated else None
    quote = listing_quote(slug=slug, user=user)
    if quote is None:
        raise Http404("No published hosted model has this name.")
    if request.GET.get("plan", str(quote.plan_id)) != str(quote.plan_id):
        # The page asks per plan; the price quoted is the cheapest per-inference plan's.
        return render(request, "compute/_listing_price.html", {"quote": None})
    return render(request, "compute/_listing_price.html", {"quote": quote})


urlpatterns: list[URLPattern] = [
    path("compute/listing-price/<slug:slug>/", listing_price, name="listing-price"),
]
