"""Creator writes on listings. The `listings` and `listings/<slug>` routes are shared with the
public reads (marketplace.api.catalog), whose views call these for POST and PATCH."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path  # noqa: F401
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from marketplace.errors import InvalidState

# Applied to the POST of `listings` and the PATCH of `listings/<slug>` by marketplace.api.catalog.
LISTING_CREATE_SCHEMA: Any = extend_schema(operation_id="listings_create", tags=["listings"])
LISTING_UPDATE_SCHEMA: Any = extend_schema(operation_id="listings_update", tags=["listings"])


def listing_create_response(request: Request) -> Response:
    raise InvalidState("Not implemented yet.")


def listing_update_response(request: Request, slug: str) -> Response:
    raise InvalidState("Not implemented yet.")


urlpatterns: list[URLPattern] = []
