"""The inference gateway over HTTP: `POST /api/v1/inference/{slug}`, `GET /api/v1/usage`, and the
KServe v2 paths (`/v2/...`) that let tritonclient and other KServe v2 clients call a listing.

Views are thin: parse, call `compute.services.gateway.inference_run`, render. A `GatewayError`
is rendered by core.api's error envelope plus its headers (`Retry-After`).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from typing import Any, ClassVar

from django.http import HttpRequest, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import authenticated_user
from compute.selectors.usage import usage_summary
from compute.services.gateway import (
    VIA_API,
    VIA_KSERVE,
    VIA_PLAYGROUND,
    GatewayError,
    InferenceResult,
    inference_run,
)
from compute.services.gateway_impl import listing_context
from compute.services.settlement import log_drain
from core.api import ErrorSerializer, query_params
from core.throttling import CredentialAttemptLimit, DeferredThrottles

INTEGRATION_HEADER = "HTTP_AGORA_INTEGRATION"


def _integration(request: Request) -> str:
    return str(request.META.get(INTEGRATION_HEADER, ""))[:64]


class _GatewayErrorHeaders:
    """Adds a GatewayError's headers (Retry-After) to the rendered error."""

    def handle_exception(self, exc: Exception) -> Response:
        response: Response = super().handle_exception(exc)  # type: ignore[misc]
        if isinstance(exc, GatewayError):
            for name, value in exc.headers.items():
                response[name] = value
        return response


# --------------------------------------------------------------------------- /api/v1/inference/{slug}


class TensorSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    shape = serializers.ListField(child=serializers.IntegerField())
    datatype = serializers.CharField(help_text="KServe v2 datatype: FP32, INT64, BYTES, …")
    data = serializers.ListField(  # type: ignore[assignment]  # the KServe v2 field is named `data`
        child=serializers.JSONField(), help_text="Row-major values."
    )


class InferenceInputSerializer(serializers.Serializer[Any]):
    inputs = TensorSerializer(many=True)
    version = serializers.CharField(required=False, help_text="A hosted version; default the newest.")
    priority = serializers.BooleanField(
        required=False,
        default=False,
        help_text="The priority lane: the fastest healthy node and reserved capacity, for the "
        "priority fee (GET /api/v1/listings/{slug}/price).",
    )
    max_price = serializers.RegexField(
        r"^[0-9]{1,15}$",
        required=False,
        help_text="Refuse the call (409 price_above_max, nothing charged) if its current price, "
        "in whole micro-USD as the price endpoint quotes it, is higher. A JSON number is accepted too.",
    )


class ChargeSerializer(serializers.Serializer[Any]):
    amount = serializers.CharField(
        help_text="Whole micro-USD (10^-6 USD) as a string: a call costs under a cent."
    )
    asset = serializers.CharField(help_text="USD")
    unit = serializers.CharField(help_text="micro_usd")


class InferenceOutputSerializer(serializers.Serializer[Any]):
    request_id = serializers.UUIDField()
    model_name = serializers.CharField()
    model_version = serializers.CharField()
    outputs = TensorSerializer(many=True)
    node = serializers.CharField(help_text="The node that served the call.")
    latency_ms = serializers.FloatField()
    charge = ChargeSerializer()
    entitlement = serializers.ChoiceField(choices=["subscription", "prepaid", "playground"])
    quota_left = serializers.IntegerField(allow_null=True, help_text="Subscription calls left this period.")
    free_left = serializers.IntegerField(allow_null=True, help_text="Free playground runs left today.")


def inference_body(result: InferenceResult) -> dict[str, Any]:
    """The response body of a served call (API.md "Inference")."""
    return {
        "request_id": result.request_id,
        "model_name": result.model_name,
        "model_version": result.model_version,
        "outputs": result.outputs,
        "node": str(result.node_id),
        "latency_ms": round(result.latency_ms, 3),
        "charge": {"amount": str(result.charge_micro), "asset": "USD", "unit": "micro_usd"},
        "entitlement": result.entitlement,
        "quota_left": result.quota_left,
        "free_left": result.free_left,
    }


_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="`validation_error` (names the tensor)"),
    402: OpenApiResponse(ErrorSerializer, description="`license_required` (names the plans that allow it)"),
    404: OpenApiResponse(ErrorSerializer, description="`not_found`"),
    409: OpenApiResponse(
        ErrorSerializer, description="`price_above_max` (detail.price, detail.max_price; nothing charged)"
    ),
    429: OpenApiResponse(
        ErrorSerializer,
        description="`quota_exhausted` (upgrade plan, reset time) or `rate_limited` (Retry-After)",
    ),
    502: OpenApiResponse(ErrorSerializer, description="`provider_failed` (nothing charged)"),
    503: OpenApiResponse(ErrorSerializer, description="`no_provider_available` (nothing charged)"),
}


class InferenceApi(_GatewayErrorHeaders, DeferredThrottles, APIView):
    """Run one inference. An API key needs the `inference` scope; a browser session is the
    playground (its free daily runs apply, after any subscription or prepaid credit)."""

    required_scopes: ClassVar[dict[str, str]] = {"POST": "inference"}

    @extend_schema(
        operation_id="inference_run",
        request={"application/json": InferenceInputSerializer},
        responses={200: InferenceOutputSerializer, **_ERRORS},
        parameters=[
            OpenApiParameter(
                "Agora-Integration",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description="The integration that brought this call (credited in revenue epochs).",
            )
        ],
        examples=[
            OpenApiExample(
                "Iris",
                request_only=True,
                value={
                    "inputs": [
                        {"name": "INPUT", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}
                    ]
                },
            )
        ],
        tags=["inference"],
    )
    def post(self, request: Request, slug: str) -> Response:
        session = isinstance(request.successful_authenticator, SessionAuthentication)
        result = inference_run(
            user=authenticated_user(request),
            listing_slug=slug,
            body=request.data,
            via=VIA_PLAYGROUND if session else VIA_API,
            integration_id=_integration(request),
            api_limits=self.deferred_limits,
        )
        return Response(inference_body(result))


# --------------------------------------------------------------------------- /api/v1/usage


class UsageListingSerializer(serializers.Serializer[Any]):
    listing = serializers.CharField(source="listing_slug")
    title = serializers.CharField(source="listing_title")
    calls = serializers.IntegerField()
    failed = serializers.IntegerField()
    spend = serializers.SerializerMethodField()
    quota = serializers.IntegerField(allow_null=True)
    quota_left = serializers.IntegerField(allow_null=True)

    def get_spend(self, obj: Any) -> dict[str, str]:
        return {"amount": str(obj.spend_micro), "asset": "USD", "unit": "micro_usd"}


class UsageOutputSerializer(serializers.Serializer[Any]):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    calls = serializers.IntegerField()
    spend = serializers.SerializerMethodField()
    listings = UsageListingSerializer(many=True)

    def get_spend(self, obj: Any) -> dict[str, str]:
        return {"amount": str(obj.spend_micro), "asset": "USD", "unit": "micro_usd"}


class UsageQuerySerializer(serializers.Serializer[Any]):
    start = serializers.DateTimeField(required=False, help_text="Default: the start of this month (UTC).")
    end = serializers.DateTimeField(required=False, help_text="Default: now.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "start" in attrs and "end" in attrs and attrs["start"] >= attrs["end"]:
            raise serializers.ValidationError({"end": ["Must be after start."]})
        return attrs


class UsageApi(APIView):
    """Calls, quota left and spend per listing in a period (default this month)."""

    required_scopes: ClassVar[dict[str, str]] = {"GET": "read"}

    @extend_schema(
        operation_id="usage_get",
        parameters=[UsageQuerySerializer],
        responses={200: UsageOutputSerializer, 400: OpenApiResponse(ErrorSerializer)},
        tags=["inference"],
    )
    def get(self, request: Request) -> Response:
        query = UsageQuerySerializer(data=query_params(request))
        query.is_valid(raise_exception=True)
        log_drain()  # the calls just made are counted (entries still in the stream are stored first)
        summary = usage_summary(
            user=authenticated_user(request),
            start=query.validated_data.get("start"),
            end=query.validated_data.get("end"),
        )
        return Response(UsageOutputSerializer(summary).data)


# --------------------------------------------------------------------------- KServe v2


class KServeBinaryParser(BaseParser):
    """KServe v2's binary tensor extension: a JSON header of `Inference-Header-Content-Length`
    bytes, then the raw tensors in input order (tritonclient's default). Plain JSON passes too."""

    media_type = "*/*"

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        raw = stream.read() if stream is not None else b""
        request = (parser_context or {}).get("request")
        length = request.META.get("HTTP_INFERENCE_HEADER_CONTENT_LENGTH") if request is not None else None
        try:
            if not length:
                return json.loads(raw or b"{}")
            header_length = int(length)
            body = json.loads(raw[:header_length])
            return _binary_inputs_to_json(body, raw[header_length:])
        except (ValueError, UnicodeDecodeError, struct.error) as exc:
            from rest_framework.exceptions import ParseError

            raise ParseError(f"The request body is not KServe v2: {exc}") from exc


_NUMPY_TYPES = {
    "BOOL": "?",
    "UINT8": "u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
}


def _binary_inputs_to_json(body: Any, blob: bytes) -> Any:
    """Replace each binary input (parameters.binary_data_size) by its JSON `data`."""
    import numpy as np

    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        return body
    offset = 0
    for tensor in body["inputs"]:
        params = tensor.get("parameters") or {}
        size = params.pop("binary_data_size", None)
        if size is None:
            continue
        chunk = blob[offset : offset + int(size)]
        offset += int(size)
        if len(chunk) != int(size):
            raise ValueError(f"tensor {tensor.get('name')!r} is cut short")
        datatype = str(tensor.get("datatype", ""))
        if datatype == "BYTES":
            items: list[str] = []
            pos = 0
            while pos < len(chunk):
                (n,) = struct.unpack_from("<I", chunk, pos)
                pos += 4
                items.append(chunk[pos : pos + n].decode("utf-8"))
                pos += n
            tensor["data"] = items
        elif datatype in _NUMPY_TYPES:
            tensor["data"] = np.frombuffer(chunk, dtype=_NUMPY_TYPES[datatype]).tolist()
        else:
            raise ValueError(f"tensor {tensor.get('name')!r} has an unknown datatype {datatype!r}")
    return body


class KServeInferApi(_GatewayErrorHeaders, DeferredThrottles, APIView):
    """KServe v2 `POST /v2/models/{slug}/infer` with `Authorization: Bearer <api key>` (scope
    `inference`); answers KServe v2 (`model_name`, `model_version`, `id`, `outputs`) plus Agora's
    `parameters` (node, latency, charge, quota left)."""

    required_scopes: ClassVar[dict[str, str]] = {"POST": "inference"}
    parser_classes = [KServeBinaryParser]
    # KServe clients send the API key; a browser session (and its CSRF rules) has no business here.
    authentication_classes = [CredentialAttemptLimit]

    @extend_schema(
        operation_id="kserve_infer",
        request={"application/json": InferenceInputSerializer},
        responses={200: OpenApiTypes.OBJECT, **_ERRORS},
        tags=["kserve-v2"],
    )
    def post(self, request: Request, slug: str, version: str | None = None) -> Response:
        body = request.data
        if version is not None and isinstance(body, dict):
            body = {**body, "version": version}
        if isinstance(body, dict):
            body = _kserve_agora_parameters(body)
        result = inference_run(
            user=authenticated_user(request),
            listing_slug=slug,
            body=body,
            via=VIA_KSERVE,
            integration_id=_integration(request),
            api_limits=self.deferred_limits,
        )
        agora = inference_body(result)
        return Response(
            {
                "model_name": result.model_name,
                "model_version": result.model_version,
                "id": str((body or {}).get("id", result.request_id))
                if isinstance(body, dict)
                else result.request_id,
                "outputs": result.outputs,
                "parameters": {
                    "request_id": result.request_id,
                    "node": agora["node"],
                    "latency_ms": agora["latency_ms"],
                    "charge_micro_usd": agora["charge"]["amount"],
                    "quota_left": result.quota_left,
                },
            }
        )


def _kserve_agora_parameters(body: dict[str, Any]) -> dict[str, Any]:
    """KServe v2 carries request options in `parameters`: take Agora's (`priority`, `max_price`)
    from there unless given at the top level, and drop the rest."""
    params = body.get("parameters")
    lifted = {key: value for key, value in body.items() if key != "parameters"}
    if isinstance(params, dict):
        for name in ("priority", "max_price"):
            if name in params and name not in lifted:
                lifted[name] = params[name]
    return lifted


def _tensor_meta(spec: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": t.get("name"), "datatype": t.get("datatype"), "shape": t.get("shape")} for t in spec]


class KServeTensorMetaSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    datatype = serializers.CharField()
    shape = serializers.ListField(child=serializers.IntegerField(), help_text="-1: any size (the batch).")


class KServeModelMetadataSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    versions = serializers.ListField(child=serializers.CharField())
    platform = serializers.CharField()
    inputs = KServeTensorMetaSerializer(many=True)
    outputs = KServeTensorMetaSerializer(many=True)


class KServeModelMetadataApi(APIView):
    """KServe v2 model metadata from the listing's newest hosted version's tensor spec."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        operation_id="kserve_model_metadata",
        responses={200: KServeModelMetadataSerializer},
        tags=["kserve-v2"],
    )
    def get(self, request: Request, slug: str, version: str | None = None) -> Response:
        ctx = listing_context(slug)
        chosen = None
        if ctx is not None:
            chosen = ctx.versions.get(version) if version is not None else ctx.latest
        if ctx is None or chosen is None:
            raise GatewayError("not_found", 404, "No hosted model has this name.")
        return Response(
            {
                "name": ctx.slug,
                "versions": sorted(ctx.versions),
                "platform": "agora",
                "inputs": _tensor_meta(chosen.input_spec),
                "outputs": _tensor_meta(chosen.output_spec),
            }
        )


class KServeModelReadyApi(APIView):
    """KServe v2 model readiness: 200 when the listing has a hosted version, else 404."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(operation_id="kserve_model_ready", responses={200: None, 404: None}, tags=["kserve-v2"])
    def get(self, request: Request, slug: str, version: str | None = None) -> Response:
        ctx = listing_context(slug)
        ready = ctx is not None and (ctx.latest is not None if version is None else version in ctx.versions)
        return Response(status=200 if ready else 404)


def kserve_health(request: HttpRequest) -> JsonResponse:
    """KServe v2 server liveness and readiness: the gateway answers (each model has its own)."""
    return JsonResponse({})


def kserve_server_metadata(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"name": "agora", "version": "1", "extensions": ["binary_tensor_data"]})


# The same operations on a named version (KServe's `/versions/{version}` paths).


class KServeVersionInferApi(KServeInferApi):
    @extend_schema(
        operation_id="kserve_version_infer",
        request={"application/json": InferenceInputSerializer},
        responses={200: OpenApiTypes.OBJECT, **_ERRORS},
        tags=["kserve-v2"],
    )
    def post(self, request: Request, slug: str, version: str | None = None) -> Response:
        return super().post(request, slug, version)


class KServeVersionMetadataApi(KServeModelMetadataApi):
    @extend_schema(
        operation_id="kserve_version_metadata",
        responses={200: KServeModelMetadataSerializer},
        tags=["kserve-v2"],
    )
    def get(self, request: Request, slug: str, version: str | None = None) -> Response:
        return super().get(request, slug, version)


class KServeVersionReadyApi(KServeModelReadyApi):
    @extend_schema(operation_id="kserve_version_ready", responses={200: None, 404: None}, tags=["kserve-v2"])
    def get(self, request: Request, slug: str, version: str | None = None) -> Response:
        return super().get(request, slug, version)
