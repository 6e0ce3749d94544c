"""Routes of the inference gateway: /api/v1/inference/{slug}, /api/v1/usage, and (included at the
site root) the KServe v2 paths."""

from __future__ import annotations

from django.urls import URLPattern, path

from compute.api import gateway

api_urlpatterns: list[URLPattern] = [
    path("inference/<slug:slug>", gateway.InferenceApi.as_view(), name="inference-run"),
    path("usage", gateway.UsageApi.as_view(), name="usage"),
]

kserve_urlpatterns: list[URLPattern] = [
    path("v2", gateway.kserve_server_metadata, name="kserve-server-metadata"),
    path("v2/health/ready", gateway.kserve_health, name="kserve-health-ready"),
    path("v2/health/live", gateway.kserve_health, name="kserve-health-live"),
    path("v2/models/<slug:slug>", gateway.KServeModelMetadataApi.as_view(), name="kserve-model-metadata"),
    path(
        "v2/models/<slug:slug>/versions/<str:version>",
        gateway.KServeVersionMetadataApi.as_view(),
        name="kserve-model-version-metadata",
    ),
    path("v2/models/<slug:slug>/ready", gateway.KServeModelReadyApi.as_view(), name="kserve-model-ready"),
    path(
        "v2/models/<slug:slug>/versions/<str:version>/ready",
        gateway.KServeVersionReadyApi.as_view(),
        name="kserve-model-version-ready",
    ),
    path("v2/models/<slug:slug>/infer", gateway.KServeInferApi.as_view(), name="kserve-infer"),
    path(
        "v2/models/<slug:slug>/versions/<str:version>/infer",
        gateway.KServeVersionInferApi.as_view(),
        name="kserve-version-infer",
    ),
]
