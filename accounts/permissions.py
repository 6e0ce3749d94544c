from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from accounts.errors import ApiKeyNotAllowed, ReauthenticationRequired
from accounts.http import reauthentication_detail, recently_authenticated
from accounts.services import ApiKeyPrincipal


def scope_needed(view: Any, method: str) -> str:
    """The API-key scope `method` needs on `view`: what the view lists, else closed by default.

    A view that forgets to list a method must not hand it to a `read` key: only safe methods
    default to `read`, everything else needs `write`.
    """
    declared: dict[str, str] = getattr(view, "required_scopes", {})
    return declared.get(method) or ("read" if method in SAFE_METHODS else "write")


class HasScope(BasePermission):
    """API keys carry scopes; a view names the scope each method needs in `required_scopes`.

    Browser and headless sessions are the account holder in person, so they hold every scope.
    """

    message = "This API key lacks the scope this operation needs."

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = request.auth
        if not isinstance(principal, ApiKeyPrincipal):
            return True
        return scope_needed(view, request.method or "GET") in principal.scopes


class InPersonRecently(BasePermission):
    """Credential management (API keys, wallets, and so payout destinations) is for the account
    holder in person: refused for API keys (`403 api_key_not_allowed`), and it needs a browser or
    headless session that logged in or re-authenticated within ACCOUNT_REAUTHENTICATION_TIMEOUT
    (`403 reauthentication_required`), so a leaked key or an old session cannot mint credentials.

    The view lists the methods it guards in `in_person_methods` (default: every unsafe method).
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        method = request.method or "GET"
        guarded = getattr(view, "in_person_methods", None)
        if (method in SAFE_METHODS) if guarded is None else (method not in guarded):
            return True
        if isinstance(request.auth, ApiKeyPrincipal):
            raise ApiKeyNotAllowed()
        if not recently_authenticated(request):
            raise ReauthenticationRequired(detail=reauthentication_detail(request))
        return True
