"""DRF authentication: `Authorization: Bearer agr_live_…` API keys and allauth session tokens."""

from __future__ import annotations

from typing import Any

from allauth.headless.contrib.rest_framework.authentication import XSessionTokenAuthentication
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts import services
from accounts.errors import ApiKeyInvalid


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, services.ApiKeyPrincipal] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw_key = header.partition(" ")
        if scheme.lower() != "bearer" or not raw_key.strip():
            raise exceptions.AuthenticationFailed("Use `Authorization: Bearer <api key>`.")
        try:
            return services.api_key_authenticate(raw_key=raw_key.strip())
        except ApiKeyInvalid as exc:
            raise exceptions.AuthenticationFailed(exc.message) from exc

    def authenticate_cached(self, request: Request) -> tuple[Any, services.ApiKeyPrincipal] | None:
        """The caller when the presented key is a valid key held in the shared cache (one cache
        read); None when that cannot be told without the full check (`authenticate`)."""
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _, raw_key = header.partition(" ")
        if scheme.lower() != "bearer" or not raw_key.strip():
            return None
        return services.api_key_authenticate_cached(raw_key=raw_key.strip())

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class SessionTokenAuthentication(XSessionTokenAuthentication):
    """allauth's headless `X-Session-Token` (app client), named here for the OpenAPI schema."""
