"""Licenses through the API: list entitlements, reveal a key once, download the artefact."""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import StreamingHttpResponse
from django.urls import URLPattern, path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import authenticated_user
from core.api import ErrorSerializer, Pagination, paginated_response
from marketplace.downloads import artefact_response
from marketplace.selectors.orders import license_list_for_buyer
from marketplace.services.licenses import license_download, license_key_issue


class LicenseOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    order = serializers.IntegerField(source="order_id")
    listing = serializers.CharField(source="listing.slug")
    version = serializers.CharField(source="version.version")
    key_prefix = serializers.CharField(
        help_text="Empty until a key is revealed; the key itself is never shown again."
    )
    download_limit = serializers.IntegerField()
    downloads_used = serializers.IntegerField()
    downloads_left = serializers.IntegerField()
    revoked = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_revoked(self, obj: Any) -> bool:
        return obj.revoked_at is not None


class LicenseListApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = {"GET": "read"}
    pagination_class = Pagination

    @extend_schema(
        operation_id="licenses_list", responses=LicenseOutputSerializer(many=True), tags=["licenses"]
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            queryset=license_list_for_buyer(buyer=authenticated_user(request)),
            serializer_class=LicenseOutputSerializer,
            request=request,
            view=self,
        )


class LicenseKeyOutputSerializer(serializers.Serializer[Any]):
    license = LicenseOutputSerializer()
    key = serializers.CharField(help_text="Shown this once; only its SHA-256 is stored.")


class LicenseKeyApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = {"POST": "write"}

    @extend_schema(
        operation_id="licenses_key",
        request=None,
        responses={201: LicenseKeyOutputSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
        tags=["licenses"],
        description="Make a new license key and show it once; an earlier key stops working.",
    )
    def post(self, request: Request, license_id: int) -> Response:
        issued = license_key_issue(buyer=authenticated_user(request), license_id=license_id)
        body = {"license": issued.license, "key": issued.key}
        return Response(LicenseKeyOutputSerializer(body).data, status=201)


class LicenseDownloadApi(APIView):
    # A download spends the license and releases the escrow (closing the refund window): a write.
    required_scopes: ClassVar[dict[str, str]] = {"POST": "write"}

    @extend_schema(
        operation_id="licenses_download",
        request=None,
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The decrypted artefact, streamed."
            ),
            403: ErrorSerializer,
            404: ErrorSerializer,
            500: ErrorSerializer,
        },
        tags=["licenses"],
        description=(
            "Download the licensed version's artefact. Each call counts against the license's limit "
            "(`403 download_limit_reached` after it); the first one releases the payment to the creator "
            "and closes the refund window. The response carries `X-Checksum-SHA256` (of the plaintext) "
            "and is never cached. A stored file that fails decryption or verification is "
            "`500 artefact_unreadable` before any byte is sent. An API key needs the `write` scope "
            "(`403 permission_denied` for a `read` key)."
        ),
    )
    def post(self, request: Request, license_id: int) -> StreamingHttpResponse:
        version = license_download(buyer=authenticated_user(request), license_id=license_id)
        # Raises ArtefactUnreadable (an ApplicationError) when the first chunk fails verification;
        # core.api.exception_handler turns it into the error envelope, as the page shows its error.
        return artefact_response(version)


urlpatterns: list[URLPattern] = [
    path("licenses", LicenseListApi.as_view(), name="licenses"),
    path("licenses/<int:license_id>/key", LicenseKeyApi.as_view(), name="license-key"),
    path("licenses/<int:license_id>/download", LicenseDownloadApi.as_view(), name="license-download"),
]
