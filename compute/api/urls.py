"""Routes of nodes and providers under /api/v1/."""

from __future__ import annotations

from django.urls import path

from compute.api import nodes

urlpatterns = [
    path("nodes", nodes.NodeListCreateApi.as_view(), name="nodes"),
    path("nodes/<int:node_id>", nodes.NodeDetailApi.as_view(), name="node"),
    path("providers/<int:provider_id>", nodes.ProviderApi.as_view(), name="provider"),
]
