"""OpenAPI generation: every operation documents the error envelope for the errors it can return."""

from __future__ import annotations

from typing import Any

from django.core.validators import ProhibitNullCharactersValidator
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

from core.api import ErrorSerializer

_ERRORS = {
    "400": ("validation_error", "The request has invalid fields."),
    "401": ("not_authenticated", "Authentication credentials were not provided."),
    "403": ("permission_denied", "You do not have permission to do this."),
    "404": ("not_found", "Not found."),
    "429": ("rate_limited", "Too many requests; slow down."),
}


# What ProhibitNullCharactersValidator, on every DRF CharField, enforces; as an ECMA-262 pattern.
NO_NUL_PATTERN = r"^[^\u0000]*$"


def _forbid_nul(prop: dict[str, Any], field: Any) -> None:
    if (
        prop.get("type") == "string"
        and "pattern" not in prop
        and any(isinstance(v, ProhibitNullCharactersValidator) for v in field.validators)
    ):
        prop["pattern"] = NO_NUL_PATTERN


class AutoSchema(SpectacularAutoSchema):
    def _map_basic_serializer(self, serializer: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_basic_serializer(serializer, direction)
        if direction != "request":
            return schema
        # DRF refuses NUL in every CharField (PostgreSQL text cannot hold it), so the request
        # schema says so, unless the field's own pattern already decides which characters pass.
        for name, field in serializer.fields.items():
            prop = schema.get("properties", {}).get(name)
            if prop is None:
                continue
            # A list of strings (ListField(child=CharField())) refuses NUL in each item.
            if prop.get("type") == "array" and getattr(field, "child", None) is not None:
                prop, field = prop.get("items", {}), field.child
            _forbid_nul(prop, field)
        return schema

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


class CredentialAttemptLimitScheme(OpenApiAuthenticationExtension):
    """The rate-limit wrapper documents as the authentication it wraps (the API key's scheme)."""

    target_class = "core.throttling.CredentialAttemptLimit"

    def __init__(self, target: Any) -> None:
        super().__init__(target)
        inner = OpenApiAuthenticationExtension.get_match(target.inner)
        assert inner is not None, "the wrapped authentication class needs its own schema extension"
        self.inner = inner
        self.name = inner.name

    def get_security_definition(self, auto_schema: Any) -> Any:
        return self.inner.get_security_definition(auto_schema)
