"""The public provider page: a provider's trust score with its parts, nodes, uptime over 24 h and
30 d, latency percentiles."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path

from compute.selectors.nodes import provider_public
from compute.selectors.reputation import trust_current, trust_part_rows


def provider_page(request: HttpRequest, provider_id: int) -> HttpResponse:
    found = provider_public(provider_id=provider_id)
    if found is None:
        raise Http404("No such provider.")
    provider, nodes, stats = found
    trust = trust_current(provider_id=provider.pk)
    return render(
        request,
        "compute/provider_public.html",
        {
            "provider": provider,
            "nodes": nodes,
            "stats": stats,
            "trust": trust,
            "trust_parts": [] if trust is None else trust_part_rows(trust),
        },
    )


urlpatterns: list[URLPattern] = [path("providers/<int:provider_id>/", provider_page, name="provider-public")]
