from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from compute.api import gateway_urls
from core import views as core_views

urlpatterns = [
    # The inference hot path first: resolving a call walks a few patterns, not every page's. None
    # of the patterns below matches these paths, so the order changes nothing else.
    path("api/v1/", include((gateway_urls.api_urlpatterns, "gateway_api"), namespace="gateway_api")),
    # KServe v2 (tritonclient and other KServe clients call a listing unchanged).
    path("", include((gateway_urls.kserve_urlpatterns, "kserve"), namespace="kserve")),
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path(settings.ADMIN_URL, admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("", include("tokenomics.urls")),
    path("", include("marketplace.urls")),
    path("", include("compute.urls")),
    path("", include("governance.urls")),
    path("_allauth/", include("allauth.headless.urls")),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: the CSP allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
]

handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"
