"""allauth's account adapter: the client address and the login-failure key, made proxy-aware."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from core.throttling import client_ip


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request: HttpRequest) -> str:
        # One rule for the client address everywhere (settings.TRUSTED_PROXY_COUNT), so allauth's
        # per-IP limits count each client, not the proxy that every request comes through.
        return client_ip(request)

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth keys the per-account failure limit by the account alone, so anyone who fails 5
        # times locks the owner out too. Keyed by account *and* address, an attacker slows only
        # themselves; the per-address limit (login_failed "/ip") still caps spraying many accounts.
        account = super()._get_login_attempts_cache_key(request, **credentials)
        return f"{account}:{self.get_client_ip(request)}"
