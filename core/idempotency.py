"""`Idempotency-Key` for API writes that move money (API.md): the first response is stored and
returned again for a repeat; the same key with a different request is `409 idempotency_conflict`.

The record is committed before the view runs, so a concurrent repeat finds it "still running" and
gets a 409 instead of running the write twice. Server errors delete it, so the client may retry.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import error_body
from core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# Printable ASCII without spaces: what every client library sends, and unambiguous to compare.
_KEY_PATTERN = re.compile(r"[\x21-\x7e]+")

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    name=HEADER,
    location=OpenApiParameter.HEADER,
    required=False,
    type={
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_LENGTH,
        "pattern": f"^{_KEY_PATTERN.pattern}$",
    },
    description=(
        "Any unique string up to 255 characters. Repeating the request with the same key returns the "
        "first response and moves nothing again; the same key with a different body is 409."
    ),
)


def _conflict(message: str) -> Response:
    return Response(error_body(code="idempotency_conflict", message=message), status=409)


def idempotent(method: Callable[..., Response]) -> Callable[..., Response]:
    """Wrap an APIView method (authenticated user required) with Idempotency-Key handling."""

    @functools.wraps(method)
    def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        user_id = request.user.pk
        if key is None or user_id is None:  # anonymous requests are refused by the view's permissions
            return method(self, request, *args, **kwargs)
        if not _KEY_PATTERN.fullmatch(key) or len(key) > MAX_KEY_LENGTH:
            return Response(
                error_body(
                    code="validation_error",
                    message=f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.",
                ),
                status=400,
            )
        digest = hashlib.sha256(
            b"\n".join([(request.method or "").encode(), request.path.encode(), request.body])
        ).hexdigest()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(user_id=user_id, key=key, request_hash=digest)
        except IntegrityError:
            first = IdempotencyRecord.objects.get(user_id=user_id, key=key)
            if first.request_hash != digest:
                return _conflict("This idempotency key was already used for a different request.")
            if first.status_code is None:
                return _conflict(
                    "A request with this idempotency key is still being processed; retry shortly."
                )
            response = Response(first.response_body, status=first.status_code)
            response["Idempotent-Replayed"] = "true"
            return response
        try:
            response = method(self, request, *args, **kwargs)
        except Exception:
            record.delete()
            raise
        status = response.status_code
        if status >= 500:
            record.delete()
            return response
        # The exception handler renders errors later; store what the client will read.
        body = response.data if hasattr(response, "data") else None
        IdempotencyRecord.objects.filter(pk=record.pk).update(status_code=status, response_body=body)
        return response

    return wrapper
