"""Routes of nodes and providers under /api/v1/."""

from __future__ import annotations

from django.urls import path

from compute.api import batch, nodes, pricing, reputation, sla

urlpatterns = [
    path("listings/<slug:slug>/price", pricing.ListingPriceApi.as_view(), name="listing-price"),
    path("nodes", nodes.NodeListCreateApi.as_view(), name="nodes"),
    path("nodes/<int:node_id>", nodes.NodeDetailApi.as_view(), name="node"),
    path("providers/<int:provider_id>", nodes.ProviderApi.as_view(), name="provider"),
    path("provider-reports", sla.ProviderReportApi.as_view(), name="provider-reports"),
    path(
        "inference-requests/<uuid:request_id>/rating",
        reputation.CallRatingApi.as_view(),
        name="inference-request-rating",
    ),
    path("batch-jobs", batch.BatchJobListCreateApi.as_view(), name="batch-jobs"),
    path("batch-jobs/<int:job_id>", batch.BatchJobDetailApi.as_view(), name="batch-job"),
    path("batch-jobs/<int:job_id>/results", batch.BatchJobResultsApi.as_view(), name="batch-job-results"),
    path("batch-jobs/<int:job_id>/cancel", batch.BatchJobCancelApi.as_view(), name="batch-job-cancel"),
]
