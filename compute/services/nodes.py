"""Registering, changing and removing a provider's Triton nodes.

Registration calls the node before anything is stored: Triton must answer `/v2/health/ready`, and
every version it says it serves must be ready there with exactly the tensors the listing version
declares (names, datatypes, shapes). Every failure is named in `detail["problems"]`, so a provider
can fix them all at once. Node URLs pass `compute.url_safety` first (no calls inward).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from compute.errors import NodeNotFound, NodeRefused
from compute.models_nodes import Node, NodeVersion
from compute.services.routing import candidates_forget
from compute.tensors import spec_problems
from compute.triton_client import TritonError, model_metadata, model_ready, server_ready
from compute.url_safety import node_url_check
from marketplace.models import ListingVersion

CHECK_TIMEOUT_S = 3.0


def _versions(version_ids: Sequence[int]) -> tuple[list[ListingVersion], list[str]]:
    found = {
        v.pk: v for v in ListingVersion.objects.filter(pk__in=list(version_ids)).select_related("listing")
    }
    problems = [f"version {pk} does not exist" for pk in version_ids if pk not in found]
    versions = []
    for pk in version_ids:
        version = found.get(pk)
        if version is None:
            continue
        if not version.triton_model_name or not version.input_spec or not version.output_spec:
            problems.append(f"{version} declares no Triton model and tensor spec to serve")
            continue
        versions.append(version)
    return versions, problems


def version_refs_resolve(refs: Sequence[int | str]) -> list[int]:
    """Listing versions named by id or as "<listing slug>@<version>" (what a provider knows), as ids.
    Raises NodeRefused naming each one that does not exist."""
    ids: list[int] = []
    problems = []
    for ref in refs:
        text = str(ref).strip()
        if text.isdigit():
            ids.append(int(text))
            continue
        slug, sep, number = text.rpartition("@")
        found = (
            ListingVersion.objects.filter(listing__slug=slug, version=number)
            .values_list("pk", flat=True)
            .first()
            if sep
            else None
        )
        if found is None:
            problems.append(f"version {text} does not exist (give an id or <listing slug>@<version>)")
        else:
            ids.append(int(found))
    if problems:
        raise NodeRefused("; ".join(problems) + ".", detail={"problems": problems})
    return ids


def node_check(url: str, versions: Sequence[ListingVersion]) -> list[str]:
    """What the node at `url` fails of the registration checks (empty: it passes)."""
    try:
        if not server_ready(url, timeout_s=CHECK_TIMEOUT_S):
            return [f"{url}/v2/health/ready says the server is not ready"]
    except TritonError as exc:
        return [f"{url} did not answer /v2/health/ready ({type(exc).__name__}: {exc})"]
    problems: list[str] = []
    for version in versions:
        name = version.triton_model_name
        try:
            if not model_ready(url, name, timeout_s=CHECK_TIMEOUT_S):
                problems.append(f"model {name} ({version}) is not ready on the node")
                continue
            metadata = model_metadata(url, name, timeout_s=CHECK_TIMEOUT_S)
        except TritonError as exc:
            problems.append(f"model {name} ({version}) could not be checked: {exc}")
            continue
        problems += [
            f"model {name} ({version}): {p}"
            for p in spec_problems(version.input_spec, metadata.get("inputs", []), side="input")
            + spec_problems(version.output_spec, metadata.get("outputs", []), side="output")
        ]
    return problems


def _own(provider: User, node_id: int) -> Node:
    node = Node.objects.filter(pk=node_id, provider=provider, is_active=True).first()
    if node is None:
        raise NodeNotFound()
    return node


def node_register(
    *,
    provider: User,
    triton_url: str,
    version_ids: Sequence[int],
    name: str = "",
    grpc_url: str = "",
    gpu: str = "",
    region: str = "",
    advertised_latency_ms: int = 100,
) -> Node:
    """Register a node serving `version_ids` after checking it (see the module doc); healthy at
    once when it passes. Raises UrlRefused, NodeRefused (detail["problems"])."""
    from compute.services.sla import provider_banned

    if provider_banned(provider_id=provider.pk):
        raise NodeRefused(
            "This provider is banned after an upheld severe slash.",
            detail={"problems": ["the provider is banned"]},
        )
    url = node_url_check(triton_url)
    versions, problems = _versions(version_ids)
    if not version_ids:
        problems.append("a node serves at least one listing version")
    problems += node_check(url, versions)
    if problems:
        raise NodeRefused(
            "The node failed its registration checks: " + "; ".join(problems) + ".",
            detail={"problems": problems},
        )
    try:
        with transaction.atomic():
            node = Node.objects.create(
                provider=provider,
                name=(name or url)[:120],
                triton_url=url,
                grpc_url=grpc_url,
                gpu=gpu,
                region=region,
                advertised_latency_ms=advertised_latency_ms,
                healthy=True,
                last_probe_at=timezone.now(),
            )
            NodeVersion.objects.bulk_create(
                [
                    NodeVersion(node=node, version=v, model_name=v.triton_model_name, ready=True)
                    for v in versions
                ]
            )
    except IntegrityError as exc:
        raise NodeRefused(
            "You already have a node at this URL; change it instead.",
            detail={"problems": ["duplicate triton_url"]},
        ) from exc
    candidates_forget()
    return node


def node_update(*, provider: User, node_id: int, **fields: Any) -> Node:
    """Change a node's description, URL or served versions; a new URL or new versions are checked
    like a registration. Raises NodeNotFound, UrlRefused, NodeRefused."""
    node = _own(provider, node_id)
    url = node_url_check(fields["triton_url"]) if fields.get("triton_url") else node.triton_url
    version_ids = fields.get("version_ids")
    versions: list[ListingVersion] | None = None
    if version_ids is not None or url != node.triton_url:
        ids = (
            list(version_ids)
            if version_ids is not None
            else list(node.served.values_list("version_id", flat=True))
        )
        versions, problems = _versions(ids)
        problems += node_check(url, versions)
        if problems:
            raise NodeRefused(
                "The node failed its checks: " + "; ".join(problems) + ".", detail={"problems": problems}
            )
    with transaction.atomic():
        node = Node.objects.select_for_update().get(pk=node.pk)
        node.triton_url = url
        for field in ("name", "grpc_url", "gpu", "region", "advertised_latency_ms"):
            if field in fields and fields[field] is not None:
                setattr(node, field, fields[field])
        node.save()
        if versions is not None:
            node.served.exclude(version__in=versions).delete()
            for version in versions:
                NodeVersion.objects.update_or_create(
                    node=node,
                    version=version,
                    defaults={"model_name": version.triton_model_name, "ready": True},
                )
    candidates_forget()
    return node


def node_delete(*, provider: User, node_id: int) -> None:
    """Deregister the node: out of rotation at once, kept for the request log. Raises NodeNotFound."""
    node = _own(provider, node_id)
    Node.objects.filter(pk=node.pk).update(is_active=False, healthy=False, updated_at=timezone.now())
    candidates_forget()


def local_node_register(
    *,
    provider: User,
    triton_url: str,
    version_ids: Sequence[int],
    name: str = "",
    grpc_url: str = "",
    gpu: str = "CPU",
    region: str = "local",
) -> Node:
    """Register the provider's node at `triton_url`, or update it when one is already there (what
    `manage.py run_provider` does at every start)."""
    existing = Node.objects.filter(
        provider=provider, triton_url=node_url_check(triton_url), is_active=True
    ).first()
    if existing is None:
        return node_register(
            provider=provider,
            triton_url=triton_url,
            version_ids=version_ids,
            name=name,
            grpc_url=grpc_url,
            gpu=gpu,
            region=region,
        )
    return node_update(
        provider=provider,
        node_id=existing.pk,
        version_ids=version_ids,
        name=name or existing.name,
        grpc_url=grpc_url,
        gpu=gpu,
        region=region,
    )
