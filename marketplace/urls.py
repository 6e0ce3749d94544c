"""The storefront's pages; each area's view module lists its own routes."""

from __future__ import annotations

from marketplace.views import catalog, checkout, creator, dashboard, evidence, library, orders, reviews

app_name = "marketplace"

urlpatterns = [
    *catalog.urlpatterns,
    *library.urlpatterns,
    *checkout.urlpatterns,
    *orders.urlpatterns,
    *creator.urlpatterns,
    *dashboard.urlpatterns,
    *reviews.urlpatterns,
    *evidence.urlpatterns,
]
