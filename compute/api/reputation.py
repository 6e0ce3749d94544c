"""/api/v1/inference-requests/{request_id}/rating: a buyer rates one of their served calls (1-5
stars), which counts toward the serving provider's trust score."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import authenticated_user
from accounts.permissions import HasScope
from compute.models_reputation import STARS_MAX, STARS_MIN
from compute.services.reputation import call_rate
from core.api import ErrorSerializer


class RatingInputSerializer(serializers.Serializer[Any]):
    stars = serializers.IntegerField(min_value=STARS_MIN, max_value=STARS_MAX, help_text="1 to 5 stars.")


class CallRatingSerializer(serializers.Serializer[Any]):
    request_id = serializers.UUIDField(source="call.request_id")
    stars = serializers.IntegerField()
    provider = serializers.IntegerField(source="provider_id", help_text="The provider that served the call.")
    created_at = serializers.DateTimeField()


class CallRatingApi(APIView):
    permission_classes = [IsAuthenticated, HasScope]
    required_scopes: ClassVar[dict[str, str]] = {"POST": "inference"}

    @extend_schema(
        operation_id="inference_requests_rating_create",
        request=RatingInputSerializer,
        responses={
            201: CallRatingSerializer,
            404: OpenApiResponse(
                ErrorSerializer, description="`not_found`: not your served call (or a free playground call)"
            ),
            409: OpenApiResponse(
                ErrorSerializer,
                description="`invalid_state`: already rated (`detail.reason` `already_rated`), too "
                "old to rate (`window_closed`, `reputation.rating_window_seconds`), or served by your "
                "own node (`own_call`)",
            ),
        },
        examples=[OpenApiExample("Five stars", value={"stars": 5}, request_only=True)],
        tags=["providers"],
    )
    def post(self, request: Request, request_id: UUID) -> Response:
        data = RatingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rating = call_rate(
            buyer=authenticated_user(request), request_id=str(request_id), stars=data.validated_data["stars"]
        )
        return Response(CallRatingSerializer(rating).data, status=status.HTTP_201_CREATED)
