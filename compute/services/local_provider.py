"""Registering the local provider's Triton (`manage.py run_provider`) as a node.

The node registry (the Node model, `POST /api/v1/nodes`'s checks of readiness and tensor metadata)
is compute's node service, built in parallel (issue 17, part 1) and not on this branch yet: this
module is the one seam. `local_node_register` hands the node to `compute.services.nodes.node_register`
when that service exists and reports None otherwise, so the provider still serves (and `make demo`
still runs) on a build without it.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from typing import Any

from accounts.models import User
from marketplace.models import ListingStatus, ListingVersion

logger = logging.getLogger(__name__)
NODE_SERVICE = "compute.services.nodes"


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
) -> Any | None:
    """Register (or update, for the same provider and URL) the node serving `triton_model_names`;
    returns the node, or None when this build has no node registry."""
    try:
        nodes = importlib.import_module(NODE_SERVICE)
    except ModuleNotFoundError:
        logger.warning(
            "No node registry (%s) in this build: %s serves unregistered.", NODE_SERVICE, triton_url
        )
        return None
    return nodes.node_register(
        provider=provider,
        name=name,
        triton_url=triton_url,
        grpc_url=grpc_url,
        gpu=gpu,
        region=region,
        versions=served_versions(triton_model_names=triton_model_names),
    )
