"""The storefront's /api/v1/ routes; each area's module lists its own."""

from __future__ import annotations

from marketplace.api import (
    catalog,
    creator,
    creator_plans,
    creator_versions,
    earnings,
    licenses,
    orders,
    reviews,
    subscriptions,
)

urlpatterns = [
    *catalog.urlpatterns,
    *creator.urlpatterns,
    *creator_versions.urlpatterns,
    *creator_plans.urlpatterns,
    *reviews.urlpatterns,
    *orders.urlpatterns,
    *licenses.urlpatterns,
    *subscriptions.urlpatterns,
    *earnings.urlpatterns,
]
