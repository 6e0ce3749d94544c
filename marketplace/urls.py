"""The storefront's pages; each area's view module lists its own routes."""

from __future__ import annotations

from marketplace.views import buyer, catalog, creator, dashboard, evidence, reviews

app_name = "marketplace"

urlpatterns = [
    *catalog.urlpatterns,
    *buyer.urlpatterns,
    *creator.urlpatterns,
    *dashboard.urlpatterns,
    *reviews.urlpatterns,
    *evidence.urlpatterns,
]
