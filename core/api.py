"""DRF glue: the error envelope of API.md for every error, and the pagination shape."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.assets import Asset
from core.exceptions import ApplicationError

# DRF exception class -> (stable code, human message). Anything else keeps DRF's own code.
_CODES: dict[type[exceptions.APIException], tuple[str, str]] = {
    exceptions.ValidationError: ("validation_error", "The request has invalid fields."),
    exceptions.ParseError: ("validation_error", "The request body could not be parsed."),
    exceptions.NotAuthenticated: (
        "not_authenticated",
        "Authentication credentials were not provided.",
    ),
    exceptions.AuthenticationFailed: (
        "not_authenticated",
        "The credentials are invalid or revoked.",
    ),
    exceptions.PermissionDenied: ("permission_denied", "You do not have permission to do this."),
    exceptions.NotFound: ("not_found", "Not found."),
    exceptions.MethodNotAllowed: ("method_not_allowed", "This method is not allowed here."),
    exceptions.NotAcceptable: ("not_acceptable", "The requested response format is not available."),
    exceptions.UnsupportedMediaType: (
        "unsupported_media_type",
        "Send JSON with Content-Type: application/json.",
    ),
    exceptions.Throttled: ("rate_limited", "Too many requests; slow down."),
}


def error_body(*, code: str, message: str, detail: Any = None) -> dict[str, Any]:
    """The one error shape of the API: {"error": {"code", "message", "detail"}}."""
    return {"error": {"code": code, "message": message, "detail": detail if detail is not None else {}}}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(
            error_body(code=exc.code, message=exc.message, detail=exc.detail),
            status=exc.status_code,
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=_django_validation_detail(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response  # a real server error: Django's handler500 renders the envelope

    code, message = _code_for(exc)
    detail: Any = {}
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
    elif isinstance(exc, exceptions.Throttled) and getattr(exc, "wait", None) is not None:
        detail = {"retry_after_seconds": int(exc.wait)}  # type: ignore[attr-defined]
    elif isinstance(exc.detail, str) and exc.detail != exc.default_detail:
        message = str(exc.detail)
    response.data = error_body(code=code, message=message, detail=detail)
    return response


def _code_for(exc: exceptions.APIException) -> tuple[str, str]:
    for klass in type(exc).__mro__:
        if klass in _CODES:
            return _CODES[klass]
    return str(exc.default_code), str(exc.default_detail)


def _django_validation_detail(exc: DjangoValidationError) -> dict[str, Any]:
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for e in errs for m in e.messages] for field, errs in exc.error_dict.items()}
    return {"non_field_errors": list(exc.messages)}


_WHOLE_NUMBER = re.compile(r"[1-9][0-9]*")


class Pagination(PageNumberPagination):
    """`{"count", "next", "previous", "results"}`, 20 a page, `?page_size=` from 1 to 100."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    # DRF's `?page=last`: the schema says a page is a number, so it is only ever a number.
    last_page_strings = ()

    def get_page_size(self, request: Any) -> int:
        # DRF silently falls back to the default for a bad page_size; a client that asked for
        # something else deserves to hear that it did not get it.
        values = request.query_params.getlist(self.page_size_query_param)
        if not values:
            return self.page_size
        # ASCII digits only (str.isdigit() takes "²", which int() refuses), and the length is
        # checked before int() so that a 5,000-digit value cannot raise either.
        value = values[0]
        if (
            len(values) > 1
            or not _WHOLE_NUMBER.fullmatch(value)
            or len(value) > len(str(self.max_page_size))
            or int(value) > self.max_page_size
        ):
            raise exceptions.ValidationError(
                {self.page_size_query_param: [f"Give one whole number from 1 to {self.max_page_size}."]}
            )
        return int(value)

    def get_page_number(self, request: Any, paginator: Any) -> str | int:
        # DRF reads `?page=` as page 1 and the last of repeated values; the schema says one whole
        # number from 1. A number past the last page stays DRF's 404.
        values = request.query_params.getlist(self.page_query_param)
        if not values:
            return 1
        if len(values) > 1 or not _WHOLE_NUMBER.fullmatch(values[0]):
            raise exceptions.ValidationError({self.page_query_param: ["Give one whole number from 1 up."]})
        return str(values[0])

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        bounds = {
            self.page_query_param: {"minimum": 1},
            self.page_size_query_param: {"minimum": 1, "maximum": self.max_page_size},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters


# At least one character that `str.strip()` keeps, and no NUL. The classes are spelled out
# because Python's and ECMA-262's `\s` differ (U+001C-U+001F, U+0085, U+FEFF): drf-spectacular
# copies the pattern into the schema, and both sides must agree on every string.
not_blank = RegexValidator(
    r"^[^\x00]*[^\x00\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00]*\Z",
    "This field may not be blank.",
)


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of turning them into text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class StrictRegexField(serializers.RegexField):
    """A RegexField that refuses numbers instead of turning them into text (money travels as strings)."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


# A whole number above zero written as a string (amounts in minor units travel as strings); at most
# 78 digits, what a ledger amount can hold.
POSITIVE_WHOLE_NUMBER = r"^[1-9][0-9]{0,77}$"


def query_params(request: Any) -> dict[str, Any]:
    """Query parameters as a plain dict, so serializers treat `?x=` as blank, not as absent."""
    return {key: request.query_params.getlist(key)[-1] for key in request.query_params}


# Whole numbers travel as strings: AGR base units pass 2**53, past which JSON numbers lose digits.
WHOLE_NUMBER = r"^-?[0-9]+$"


class MoneySerializer(serializers.Serializer[Any]):
    """API.md's money object."""

    amount = serializers.RegexField(
        WHOLE_NUMBER, help_text="Integer in minor units (USD cents; AGR base units of 10^-18), as a string."
    )
    asset = serializers.ChoiceField(choices=Asset.choices)


class CardInstructionsSerializer(serializers.Serializer[Any]):
    """What Stripe.js needs to pay a card payment (a top-up's or an order's)."""

    payment_intent = serializers.CharField(help_text="The Stripe PaymentIntent id.")
    client_secret = serializers.CharField(help_text="For Stripe.js `confirmCardPayment`; keep it private.")
    publishable_key = serializers.CharField()
    stripe_js_url = serializers.CharField()


class AgrInstructionsSerializer(serializers.Serializer[Any]):
    """What a wallet sends to pay an AGR payment (a top-up's or an order's)."""

    chain_id = serializers.IntegerField()
    token_address = serializers.CharField(help_text="The AGR ERC-20 contract.")
    deposit_address = serializers.CharField(help_text="Send the AGR here.")
    amount = MoneySerializer(help_text="Still due, in AGR base units.")
    reference = serializers.CharField()
    transfer_data = serializers.CharField(
        help_text="ERC-20 transfer calldata for eth_sendTransaction to the token."
    )
    confirmations = serializers.IntegerField(help_text="Blocks deep before the payment is credited.")


class AgrPaymentClaimSerializer(serializers.Serializer[Any]):
    """The body that claims an AGR transfer for a payment (a top-up's or an order's)."""

    tx_hash = serializers.RegexField(r"^0x[0-9a-fA-F]{64}$", help_text="The AGR transfer's hash.")


class ErrorDetailSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="Stable snake_case code, e.g. `not_found`.")
    message = serializers.CharField(help_text="A sentence for people.")
    detail = serializers.DictField(help_text="Structured detail, e.g. field errors.")


class ErrorSerializer(serializers.Serializer[Any]):
    """The documented body of every API error."""

    error = ErrorDetailSerializer()


def error_responses(*statuses: int) -> dict[int, type[ErrorSerializer]]:
    """The schema's error responses of an operation: `responses={200: Out, **error_responses(404, 409)}`."""
    return dict.fromkeys(statuses, ErrorSerializer)


def paginated_response(
    *,
    queryset: Any,
    serializer_class: type[serializers.BaseSerializer[Any]],
    request: Any,
    view: Any,
) -> Response:
    """List responses in the API's one pagination shape (HackSoft's get_paginated_response).

    The view declares `pagination_class = Pagination` too, which is how the schema learns the shape.
    """
    paginator = Pagination()
    page: Any = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
