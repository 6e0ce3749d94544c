"""compute's pages and partials (playground, usage, the creator's inference revenue, the provider
console, public provider pages) and /metrics. The marketplace's pages reach the compute partials by
URL (hx-get), never by import; each view module lists its own routes."""

from __future__ import annotations

from django.urls import URLPattern

from compute.views import batch, metrics, pages, pricing, provider, providers, ratings

app_name = "compute"

urlpatterns: list[URLPattern] = [
    *batch.urlpatterns,
    *metrics.urlpatterns,
    *pages.urlpatterns,
    *pricing.urlpatterns,
    *provider.urlpatterns,
    *providers.urlpatterns,
    *ratings.urlpatterns,
]
