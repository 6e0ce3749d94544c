"""The storefront's /api/v1/ routes; each area's module lists its own."""

from __future__ import annotations

from marketplace.api import catalog, creator, earnings, licenses, orders, reviews, subscriptions

urlpatterns = [
    *catalog.urlpatterns,
    *creator.urlpatterns,
    *reviews.urlpatterns,
    *orders.urlpatterns,
    *licenses.urlpatterns,
    *subscriptions.urlpatterns,
    *earnings.urlpatterns,
]
