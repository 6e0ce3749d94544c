"""Django REST framework and the OpenAPI schema (drf-spectacular, served offline)."""

from __future__ import annotations

# https://www.django-rest-framework.org/api-guide/settings/
REST_FRAMEWORK = {
    # The API-key class comes first so an unauthenticated call is answered 401 with a
    # `WWW-Authenticate: Bearer` challenge rather than 403.
    # CredentialAttemptLimit wraps API_KEY_AUTHENTICATION_CLASS: a presented key costs an attempt
    # from the client address's budget before it is checked (core.throttling).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.throttling.CredentialAttemptLimit",
        "accounts.authentication.SessionTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.permissions.HasScope",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # Limits in settings.API_RATE_LIMITS, counted atomically in the shared cache (Redis).
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttling.ApiIpRateThrottle",
        "core.throttling.ApiUserRateThrottle",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

API_KEY_AUTHENTICATION_CLASS = "accounts.authentication.ApiKeyAuthentication"

# https://drf-spectacular.readthedocs.io/en/latest/settings.html
SPECTACULAR_SETTINGS = {
    "TITLE": "Agora API",
    "DESCRIPTION": (
        "The public API of Agora, a marketplace for AI models and hosted inference. "
        "Authenticate with `Authorization: Bearer agr_live_…` (create a key on the API keys page "
        "or with `POST /api/v1/api-keys` after a headless login). Errors are "
        '`{"error": {"code", "message", "detail"}}` with a stable `code`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    # One name per choice set where several serializers share it (or differ under one field name).
    "ENUM_NAME_OVERRIDES": {
        "AssetEnum": "tokenomics.models.ledger.Asset",
        # An order's rail (card or agr), and what checkout accepts (those, or a prepaid balance).
        "RailEnum": "tokenomics.models.rails.Rail",
        "CheckoutRailEnum": ["card", "agr", "balance", "agr_balance"],
        "AgrAssetEnum": ["AGR"],
        "PlanIntervalEnum": "marketplace.models.catalog.PlanInterval",
        "SeriesIntervalEnum": ["day", "week"],
        "CreatorTierEnum": ["bronze", "silver", "gold", "platinum"],
        "ProposalKindEnum": "governance.models.ProposalKind",
        "PlanKindEnum": "marketplace.models.catalog.PlanKind",
        # A batch job's state (a proposal's has its own name already).
        "BatchStateEnum": ["running", "done", "canceled"],
    },
}
