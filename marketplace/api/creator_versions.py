"""Creator API: upload a version of a listing (the model file, its Triton name and tensor specs)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.urls import URLPattern, path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import authenticated_user
from core.api import ErrorSerializer, StrictCharField
from marketplace.api.creator import (
    WRITE_SCOPES,
    CreatorVersionSerializer,
    renamed,
    version_data,
)
from marketplace.errors import ValidationFailed
from marketplace.selectors.creator import creator_listing_get
from marketplace.services import listing_fields
from marketplace.services import versions as version_services

# ----------------------------------------------------------------------------- versions


class ListingVersionCreateApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = WRITE_SCOPES
    parser_classes = (MultiPartParser, FormParser)

    class InputSerializer(serializers.Serializer[Any]):
        version = StrictCharField(
            max_length=listing_fields.VERSION_MAX, help_text="Semantic version X.Y.Z, unique per listing."
        )
        changelog = StrictCharField(max_length=listing_fields.CHANGELOG_MAX, required=False, allow_blank=True)
        artefact = serializers.FileField(
            required=False, allow_empty_file=False, help_text="The model file; stored encrypted."
        )
        triton_model_name = StrictCharField(
            max_length=listing_fields.TRITON_NAME_MAX, required=False, allow_blank=True
        )
        input_spec = serializers.JSONField(
            binary=True,
            required=False,
            help_text='JSON text: [{"name": "INPUT_1", "datatype": "FP32", "shape": [-1, 4]}].',
        )
        output_spec = serializers.JSONField(
            binary=True, required=False, help_text="JSON text, like input_spec."
        )

    @extend_schema(
        operation_id="listings_versions_create",
        request={"multipart/form-data": InputSerializer},
        responses={201: CreatorVersionSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
        tags=["listings"],
        description=(
            "Upload a version (multipart). The artefact is encrypted at rest under its own key; the "
            "response carries its SHA-256 and size. Tensor specs are KServe v2 (datatypes BOOL, "
            "UINT8-64, INT8-64, FP16/32/64, BYTES; shape entries -1 for any size), sent as JSON text. "
            "A version needs an artefact, a Triton model name, or both."
        ),
    )
    def post(self, request: Request, slug: str) -> Response:
        user = authenticated_user(request)
        listing = creator_listing_get(slug=slug, user=user)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            version = version_services.version_upload(
                listing=listing,
                actor=user,
                version=values["version"],
                changelog=values.get("changelog", ""),
                file=values.get("artefact"),
                triton_model_name=values.get("triton_model_name", ""),
                input_spec=values.get("input_spec", []),
                output_spec=values.get("output_spec", []),
            )
        except ValidationFailed as exc:
            raise renamed(exc, listing_fields.VERSION_FIELD_NAMES) from exc
        return Response(CreatorVersionSerializer(version_data(version)).data, status=201)


urlpatterns: list[URLPattern] = [
    path("listings/<slug:slug>/versions", ListingVersionCreateApi.as_view(), name="listing-versions"),
]
