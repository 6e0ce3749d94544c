"""Everything under /api/v1/: each app contributes its own api/urls.py (the inference gateway's
routes come first, from config/urls.py)."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include(("accounts.api.urls", "accounts_api"), namespace="accounts_api")),
    path("", include(("tokenomics.api.urls", "tokenomics_api"), namespace="tokenomics_api")),
    path("", include(("marketplace.api.urls", "marketplace_api"), namespace="marketplace_api")),
    path("", include(("governance.api.urls", "governance_api"), namespace="governance_api")),
    path("", include(("compute.api.urls", "compute_api"), namespace="compute_api")),
]
