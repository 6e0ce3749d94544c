from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.services import ApiKeyPrincipal


class HasScope(BasePermission):
    """API keys carry scopes; a view names the scope each method needs in `required_scopes`.

    Browser and headless sessions are the account holder in person, so they hold every scope.
    """

    message = "This API key lacks the scope this operation needs."

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = request.auth
        if not isinstance(principal, ApiKeyPrincipal):
            return True
        needed = getattr(view, "required_scopes", {}).get(request.method, "read")
        return needed in principal.scopes
