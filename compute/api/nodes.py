"""/api/v1/nodes (a provider's Triton nodes) and /api/v1/providers/{id} (public reputation)."""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import authenticated_user
from accounts.permissions import HasScope
from compute.errors import NodeNotFound
from compute.models_nodes import Node
from compute.selectors.nodes import NodeStats, node_list, provider_public, stats_for
from compute.selectors.reputation import trust_current, trust_parts_view
from compute.services import nodes as services
from core.api import not_blank


class StatsSerializer(serializers.Serializer[Any]):
    uptime_24h = serializers.FloatField(allow_null=True, help_text="Share of health probes passed, 0..1.")
    uptime_30d = serializers.FloatField(allow_null=True)
    p50_ms = serializers.FloatField(allow_null=True, help_text="Latency median over 24 h (bucket bound).")
    p99_ms = serializers.FloatField(allow_null=True)
    calls_24h = serializers.IntegerField()
    failures_24h = serializers.IntegerField()


class ServedSerializer(serializers.Serializer[Any]):
    version = serializers.IntegerField(source="version_id")
    listing = serializers.CharField(source="version.listing.slug")
    model_name = serializers.CharField()
    ready = serializers.BooleanField()


class NodeSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    triton_url = serializers.CharField()
    grpc_url = serializers.CharField()
    gpu = serializers.CharField()
    region = serializers.CharField()
    advertised_latency_ms = serializers.IntegerField()
    healthy = serializers.BooleanField()
    last_probe_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()
    versions = ServedSerializer(source="served.all", many=True)
    stats = serializers.SerializerMethodField()
    trust_score = serializers.SerializerMethodField(
        help_text="The provider's trust score (0..1000, latest daily snapshot; null before the first)."
    )

    def get_stats(self, node: Node) -> dict[str, Any]:
        return StatsSerializer(stats_for(node_ids=[node.pk])).data

    @extend_schema_field(serializers.IntegerField(allow_null=True, min_value=0, max_value=1000))
    def get_trust_score(self, node: Node) -> int | None:
        trust = trust_current(provider_id=node.provider_id)
        return None if trust is None else int(trust.score)


class NodeInputSerializer(serializers.Serializer[Any]):
    triton_url = serializers.CharField(
        max_length=300, help_text="http(s)://host:port of Triton's HTTP endpoint."
    )
    grpc_url = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    gpu = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    region = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    advertised_latency_ms = serializers.IntegerField(
        min_value=1, max_value=600_000, required=False, default=100
    )
    versions = serializers.ListField(
        child=serializers.CharField(max_length=200, validators=[not_blank]),
        min_length=1,
        max_length=100,
        help_text='The listing versions this node serves, by id or as "<listing slug>@<version>" '
        "(each declares its Triton model and tensors).",
    )


class NodePatchSerializer(NodeInputSerializer):
    triton_url = serializers.CharField(max_length=300, required=False)
    versions = serializers.ListField(
        child=serializers.CharField(max_length=200, validators=[not_blank]),
        min_length=1,
        max_length=100,
        required=False,
    )


class NodeListCreateApi(APIView):
    permission_classes = [IsAuthenticated, HasScope]
    required_scopes: ClassVar[dict[str, str]] = {"GET": "read", "POST": "write"}

    @extend_schema(operation_id="nodes_list", responses=NodeSerializer(many=True), tags=["providers"])
    def get(self, request: Request) -> Response:
        return Response(NodeSerializer(node_list(provider=authenticated_user(request)), many=True).data)

    @extend_schema(
        operation_id="nodes_create",
        request=NodeInputSerializer,
        responses={201: NodeSerializer},
        tags=["providers"],
        examples=[
            OpenApiExample(
                "Register",
                value={"triton_url": "https://gpu1.example.com:8000", "gpu": "A100 80GB", "versions": [12]},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = NodeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        version_ids = services.version_refs_resolve(values.pop("versions"))
        node = services.node_register(provider=authenticated_user(request), version_ids=version_ids, **values)
        return Response(NodeSerializer(node).data, status=status.HTTP_201_CREATED)


class NodeDetailApi(APIView):
    permission_classes = [IsAuthenticated, HasScope]
    required_scopes: ClassVar[dict[str, str]] = {"GET": "read", "PATCH": "write", "DELETE": "write"}

    def _node(self, request: Request, node_id: int) -> Node:
        node = node_list(provider=authenticated_user(request)).filter(pk=node_id).first()
        if node is None:
            raise NodeNotFound()
        return node

    @extend_schema(operation_id="nodes_retrieve", responses=NodeSerializer, tags=["providers"])
    def get(self, request: Request, node_id: int) -> Response:
        return Response(NodeSerializer(self._node(request, node_id)).data)

    @extend_schema(
        operation_id="nodes_update", request=NodePatchSerializer, responses=NodeSerializer, tags=["providers"]
    )
    def patch(self, request: Request, node_id: int) -> Response:
        data = NodePatchSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if "versions" in values:
            values["version_ids"] = services.version_refs_resolve(values.pop("versions"))
        node = services.node_update(provider=authenticated_user(request), node_id=node_id, **values)
        return Response(NodeSerializer(self._node(request, node.pk)).data)

    @extend_schema(operation_id="nodes_delete", responses={204: None}, tags=["providers"])
    def delete(self, request: Request, node_id: int) -> Response:
        services.node_delete(provider=authenticated_user(request), node_id=node_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PublicNodeSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    gpu = serializers.CharField()
    region = serializers.CharField()
    healthy = serializers.BooleanField()


class TrustPartsSerializer(serializers.Serializer[Any]):
    latency = serializers.IntegerField(help_text="Latency against advertised, 0..10,000 bps of its best.")
    uptime = serializers.IntegerField(help_text="Health probes passed, bps.")
    success = serializers.IntegerField(help_text="Calls served of calls served or failed by the node, bps.")
    attestations = serializers.IntegerField(
        help_text="Minutes the health checker attested a node healthy, bps."
    )
    ratings = serializers.IntegerField(
        help_text="Buyers' star ratings of calls (toward 3 stars when few), bps."
    )


class ProviderSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    nodes = PublicNodeSerializer(many=True)
    stats = StatsSerializer()
    trust_score = serializers.IntegerField(
        allow_null=True,
        min_value=0,
        max_value=1000,
        help_text="0..1000 over the last 90 days, from the latest daily snapshot; null before the first.",
    )
    trust_scored_on = serializers.DateField(
        allow_null=True, help_text="The last day the current score measured (UTC)."
    )
    trust_parts = TrustPartsSerializer(
        allow_null=True, help_text="The score's parts; the weights are the registry's reputation.weight.*."
    )


def provider_data(provider_id: int) -> dict[str, Any] | None:
    found = provider_public(provider_id=provider_id)
    if found is None:
        return None
    provider, nodes, stats = found
    trust = trust_current(provider_id=provider.pk)
    return {
        "id": provider.pk,
        "name": provider.public_name,
        "nodes": nodes,
        "stats": _stats(stats),
        "trust_score": None if trust is None else trust.score,
        "trust_scored_on": None if trust is None else trust.day,
        "trust_parts": None if trust is None else trust_parts_view(trust),
    }


def _stats(stats: NodeStats) -> dict[str, Any]:
    return StatsSerializer(stats).data


class ProviderApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = ()

    @extend_schema(operation_id="providers_retrieve", responses=ProviderSerializer, tags=["providers"])
    def get(self, request: Request, provider_id: int) -> Response:
        data = provider_data(provider_id)
        if data is None:
            raise NodeNotFound("No such provider.")
        return Response(ProviderSerializer(data).data)
