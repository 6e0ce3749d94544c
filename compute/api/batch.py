"""/api/v1/batch-jobs: submit many inputs for one listing (a JSON array or a JSON Lines file),
follow progress, stream the results, cancel. The views parse and render; `compute.services.batch`
does the rest."""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import authenticated_user
from accounts.permissions import HasScope
from compute.services import batch as services
from core.api import ErrorSerializer


class BatchCreateSerializer(serializers.Serializer[Any]):
    listing = serializers.SlugField(help_text="The listing's slug.")
    version = serializers.CharField(
        max_length=50, required=False, allow_blank=True, default="", help_text="Default: the latest."
    )
    items = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        help_text='KServe v2 request bodies (`{"inputs": [...]}`), one per item. Or upload `file`.',
    )
    file = serializers.FileField(
        required=False, help_text="multipart only: a JSON Lines file, one KServe v2 request body a line."
    )
    webhook_url = serializers.URLField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="Called once when the job ends, signed per Standard Webhooks (secret in the response).",
    )
    quote_only = serializers.BooleanField(
        required=False, default=False, help_text="Only price the batch: nothing is stored or run."
    )


class QuoteSerializer(serializers.Serializer[Any]):
    items = serializers.IntegerField()
    entitlement = serializers.CharField(help_text="`subscription` (quota) or `prepaid` (credit).")
    item_price_micro = serializers.IntegerField(help_text="Per item, micro-USD (after the batch discount).")
    total_micro = serializers.IntegerField()
    total_cents = serializers.IntegerField()
    batch_discount_bps = serializers.IntegerField()
    quota_left = serializers.IntegerField(allow_null=True)


class BatchJobSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    listing = serializers.CharField()
    version = serializers.CharField(allow_null=True)
    state = serializers.ChoiceField(choices=["running", "done", "canceled"])
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    canceled = serializers.IntegerField()
    remaining = serializers.IntegerField()
    spend_micro = serializers.IntegerField(help_text="Charged so far for the items done, micro-USD.")
    quote = serializers.DictField()
    webhook = serializers.DictField(allow_null=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class BatchCreatedSerializer(BatchJobSerializer):
    webhook_secret = serializers.CharField(
        allow_null=True, help_text="Shown once: verify the completion webhook's signature with it."
    )


_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="`validation_error` (names the item or line)"),
    402: OpenApiResponse(ErrorSerializer, description="`license_required`: no quota or credit for the quote"),
    404: OpenApiResponse(ErrorSerializer, description="`not_found`"),
    413: OpenApiResponse(
        ErrorSerializer, description="`batch_too_large` (items or bytes over the registry's caps)"
    ),
}


class BatchJobListCreateApi(APIView):
    permission_classes = [IsAuthenticated, HasScope]
    required_scopes: ClassVar[dict[str, str]] = {"POST": "inference"}
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        operation_id="batch_jobs_create",
        request={"application/json": BatchCreateSerializer, "multipart/form-data": BatchCreateSerializer},
        responses={201: BatchCreatedSerializer, 200: QuoteSerializer, **_ERRORS},
        tags=["inference"],
        examples=[
            OpenApiExample(
                "Two items",
                request_only=True,
                value={
                    "listing": "iris",
                    "items": [
                        {
                            "inputs": [
                                {
                                    "name": "FEATURES",
                                    "shape": [1, 4],
                                    "datatype": "FP32",
                                    "data": [5.1, 3.5, 1.4, 0.2],
                                }
                            ]
                        },
                        {
                            "inputs": [
                                {
                                    "name": "FEATURES",
                                    "shape": [1, 4],
                                    "datatype": "FP32",
                                    "data": [6.7, 3.0, 5.2, 2.3],
                                }
                            ]
                        },
                    ],
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        limits = services.batch_limits()
        size = int(request.META.get("CONTENT_LENGTH") or 0)
        if size > limits["batch.max_upload_bytes"]:
            raise services.BatchTooLarge(
                "The request is larger than allowed.",
                detail={"max_upload_bytes": limits["batch.max_upload_bytes"]},
            )
        data = BatchCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        upload = values.get("file")
        if upload is None and "items" not in values:
            raise services.BatchInvalid(
                "Give the items as a JSON array or upload a JSON Lines file.",
                detail={"items": ["Give `items` or `file`."]},
            )
        items: Any = (
            services.jsonl_items(upload, max_bytes=limits["batch.max_upload_bytes"])
            if upload is not None
            else values["items"]
        )
        user = authenticated_user(request)
        if values["quote_only"]:
            count = sum(1 for _ in items)
            quote = services.batch_quote(user=user, listing_slug=values["listing"], items=count)
            return Response(QuoteSerializer(quote.as_dict()).data)
        job = services.batch_create(
            user=user,
            listing_slug=values["listing"],
            items=items,
            version=values["version"],
            webhook_url=values["webhook_url"],
        )
        job.refresh_from_db()
        body = {**services.batch_progress(job), "webhook_secret": job.webhook_secret or None}
        return Response(BatchCreatedSerializer(body).data, status=status.HTTP_201_CREATED)


class BatchJobDetailApi(APIView):
    permission_classes = [IsAuthenticated, HasScope]
    required_scopes: ClassVar[dict[str, str]] = {"GET": "inference"}

    @extend_schema(
        operation_id="batch_jobs_retrieve",
        responses={200: BatchJobSerializer, 404: _ERRORS[404]},
        tags=["inference"],
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = services.batch_job_get(user=authenticated_user(request), job_id=job_id)
        return Response(BatchJobSerializer(services.batch_progress(job)).data)


class BatchJobResultsApi(APIView):
    permission_classes = [IsAuthenticated, HasScope]
    required_scopes: ClassVar[dict[str, str]] = {"GET": "inference"}

    @extend_schema(
        operation_id="batch_jobs_results",
        responses={
            (200, "application/jsonl"): OpenApiResponse(
                str,
                description="One JSON object a line, in item order: `index`, `state`, `request_id`, and "
                "`outputs` and `charge_micro` (done) or `error` (failed). Items not yet run say so.",
            ),
            404: _ERRORS[404],
        },
        tags=["inference"],
    )
    def get(self, request: Request, job_id: int) -> StreamingHttpResponse:
        job = services.batch_job_get(user=authenticated_user(request), job_id=job_id)
        return results_response(job)


def results_response(job: Any) -> StreamingHttpResponse:
    response = StreamingHttpResponse(services.batch_results_lines(job), content_type="application/jsonl")
    response["Content-Disposition"] = f'attachment; filename="batch-{job.pk}-results.jsonl"'
    return response


class BatchJobCancelApi(APIView):
    permission_classes = [IsAuthenticated, HasScope]
    required_scopes: ClassVar[dict[str, str]] = {"POST": "inference"}

    @extend_schema(
        operation_id="batch_jobs_cancel",
        request=None,
        responses={
            200: BatchJobSerializer,
            404: _ERRORS[404],
            409: OpenApiResponse(ErrorSerializer, description="`invalid_state`: the job has already ended"),
        },
        tags=["inference"],
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = services.batch_job_cancel(user=authenticated_user(request), job_id=job_id)
        return Response(BatchJobSerializer(services.batch_progress(job)).data)
