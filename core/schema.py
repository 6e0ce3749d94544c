"""OpenAPI generation: every operation documents the error envelope for the errors it can return."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

from core.api import ErrorSerializer

_ERRORS = {
    "400": ("validation_error", "The request has invalid fields."),
    "401": ("not_authenticated", "Authentication credentials were not provided."),
    "403": ("permission_denied", "You do not have permission to do this."),
    "404": ("not_found", "Not found."),
    "429": ("rate_limited", "Too many requests; slow down."),
}


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for status, (code, message) in _ERRORS.items():
            if status in responses:
                continue
            body = self._get_response_for_code(ErrorSerializer, status, direction=direction)
            body["description"] = f"`{code}`: {message}"
            responses[status] = body
        return responses

    def _get_serializer_name(self, serializer: Any, direction: Any, bypass_extensions: bool = False) -> str:
        # Views nest their Input/Output serializers (HackSoft style), so the bare class names
        # collide; the enclosing view's name makes each component unique and readable.
        name: str = super()._get_serializer_name(serializer, direction, bypass_extensions)
        klass = serializer if isinstance(serializer, type) else type(serializer)
        outer, _, _ = klass.__qualname__.rpartition(".")
        if outer:
            name = outer.split(".")[-1].removesuffix("Api") + name
        return name
