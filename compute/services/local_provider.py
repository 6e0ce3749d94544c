"""Registering the local provider's Triton (`manage.py run_provider`) as a node: the versions
that declare the Triton models it serves, through compute's node service (the same readiness and
tensor checks as `POST /api/v1/nodes`), registered or updated by (provider, URL) at every start."""

from __future__ import annotations

from collections.abc import Sequence

from accounts.models import User
from compute.models_nodes import Node
from compute.services import nodes
from marketplace.models import ListingStatus, ListingVersion


def served_versions(*, triton_model_names: Sequence[str]) -> list[ListingVersion]:
    """The published listings' versions that declare one of these Triton models."""
    return list(
        ListingVersion.objects.filter(
            triton_model_name__in=list(triton_model_names), listing__status=ListingStatus.PUBLISHED
        ).order_by("pk")
    )


def local_node_register(
    *,
    provider: User,
    name: str,
    triton_url: str,
    grpc_url: str,
    gpu: str,
    region: str,
    triton_model_names: Sequence[str],
) -> Node:
    """Register (or update, for the same provider and URL) the node serving `triton_model_names`.
    Raises NodeRefused (naming what failed) or UrlRefused."""
    versions = served_versions(triton_model_names=triton_model_names)
    return nodes.local_node_register(
        provider=provider,
        triton_url=triton_url,
        version_ids=[v.pk for v in versions],
        name=name,
        grpc_url=grpc_url,
        gpu=gpu,
        region=region,
    )
