"""/api/v1/provider-reports: a buyer reports a served call's output as malicious (a severe-slash
proposal that staff decide in the admin)."""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import authenticated_user
from accounts.permissions import HasScope
from compute.services.sla import buyer_report_create
from core.api import ErrorSerializer


class ReportInputSerializer(serializers.Serializer[Any]):
    request_id = serializers.UUIDField(help_text="The `request_id` of one of your served calls.")
    reason = serializers.CharField(max_length=2000, trim_whitespace=False, help_text="What the output did.")


class ReportSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    state = serializers.CharField()
    created_at = serializers.DateTimeField()


class ProviderReportApi(APIView):
    permission_classes = [IsAuthenticated, HasScope]
    required_scopes: ClassVar[dict[str, str]] = {"POST": "inference"}

    @extend_schema(
        operation_id="provider_reports_create",
        request=ReportInputSerializer,
        responses={
            201: ReportSerializer,
            404: OpenApiResponse(ErrorSerializer, description="`not_found`: not your served call"),
            409: OpenApiResponse(ErrorSerializer, description="`invalid_state`: already reported"),
        },
        tags=["providers"],
    )
    def post(self, request: Request) -> Response:
        data = ReportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        proposal = buyer_report_create(
            buyer=authenticated_user(request),
            request_id=str(data.validated_data["request_id"]),
            reason=data.validated_data["reason"],
        )
        return Response(ReportSerializer(proposal).data, status=status.HTTP_201_CREATED)
