"""The public provider page: a provider's nodes, uptime over 24 h and 30 d, latency percentiles."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path

from compute.selectors.nodes import provider_public


def provider_page(request: HttpRequest, provider_id: int) -> HttpResponse:
    found = provider_public(provider_id=provider_id)
    if found is None:
        raise Http404("No such provider.")
    provider, nodes, stats = found
    return render(
        request, "compute/provider_public.html", {"provider": provider, "nodes": nodes, "stats": stats}
    )


urlpatterns: list[URLPattern] = [path("providers/<int:provider_id>/", provider_page, name="provider-public")]
