"""Request-derived inputs shared by the HTML views and the API views of accounts."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from allauth.account import app_settings as allauth_account_settings
from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.account.internal.flows.login import get_authentication_records
from allauth.account.internal.flows.reauthentication import get_reauthentication_flows
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from accounts import siwe
from accounts.models import SiweNonce, User
from accounts.services import SiweContext

SIWE_STATEMENTS = {
    SiweNonce.Purpose.LINK: "Link this wallet to my Agora account.",
    SiweNonce.Purpose.LOGIN: "Sign in to Agora.",
}


def authenticated_user(request: HttpRequest) -> User:
    """The caller of a view that requires authentication (login_required / IsAuthenticated)."""
    user = request.user
    assert isinstance(user, User), "only for views that require authentication"
    return user


def recently_authenticated(request: Any) -> bool:
    """Whether the person behind this browser or headless session logged in or re-authenticated
    within ACCOUNT_REAUTHENTICATION_TIMEOUT (allauth's record of each authentication step).

    Unlike allauth's own `did_recently_reauthenticate`, a fresh login counts: a program that has
    just logged in through the headless API may create its first key straight away. `request` is
    a Django request or a DRF one, whose `auth` is the headless session for X-Session-Token.
    """
    user = request.user
    if not user.is_authenticated:
        return False
    auth = getattr(request, "auth", None)
    session = auth if isinstance(auth, SessionBase) else request.session
    # get_authentication_records reads only `.session`, and checks the records are this user's.
    records = get_authentication_records(SimpleNamespace(session=session), user)
    if not records:
        # As allauth: someone with no way to re-authenticate (no password, no MFA) is not asked to.
        return not bool(get_reauthentication_flows(user))
    last = max(float(record.get("at", 0)) for record in records)
    timeout: int = allauth_account_settings.REAUTHENTICATION_TIMEOUT
    return time.time() - last < timeout


def reauthentication_detail(request: Any) -> dict[str, Any]:
    """Where to re-authenticate, for the `reauthentication_required` error's `detail`."""
    flows = [flow["id"] for flow in get_reauthentication_flows(request.user)]
    return {
        "flows": flows,
        "timeout_seconds": allauth_account_settings.REAUTHENTICATION_TIMEOUT,
        "browser_url": reauthentication_url(request),
        "app_url": reverse("headless:app:account:reauthenticate"),
        "app_mfa_url": reverse("headless:app:mfa:reauthenticate"),
    }


def reauthentication_url(request: Any, next_url: str = "") -> str:
    """allauth's page to confirm it is you (password, or the MFA code for those with MFA)."""
    methods = get_account_adapter().get_reauthentication_methods(request.user)
    url = str(methods[0]["url"]) if methods else reverse("account_login")
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def siwe_context(request: HttpRequest) -> SiweContext:
    """The domain and origin a SIWE message must name: configured, or this request's own host."""
    domain = settings.SIWE_DOMAIN or request.get_host()
    uri = settings.SIWE_URI or f"{request.scheme}://{request.get_host()}"
    return SiweContext(domain=domain, uri=uri)


def siwe_challenge(
    request: HttpRequest,
    nonce: SiweNonce,
    *,
    address: str | None = None,
    chain_id: int | None = None,
) -> dict[str, Any]:
    """The fields of the EIP-4361 message for this nonce and, given the address, its exact text.

    Building the text here spares the browser an EIP-55 checksum (which needs keccak); the
    wallet shows the user exactly what they sign, and the server re-checks every field anyway.
    Raises ValueError for an address that is not 20 bytes of hex.
    """
    context = siwe_context(request)
    issued_at = timezone.now().replace(microsecond=0)
    expires_at = nonce.expires_at.replace(microsecond=0) - timedelta(seconds=1)
    challenge: dict[str, Any] = {
        "nonce": nonce.nonce,
        "domain": context.domain,
        "uri": context.uri,
        "chain_id": chain_id or settings.WEB3_CHAIN_ID,
        "statement": SIWE_STATEMENTS[SiweNonce.Purpose(nonce.purpose)],
        "issued_at": issued_at,
        "expiration_time": expires_at,
        "message": None,
    }
    if address:
        challenge["message"] = siwe.build_message(
            domain=context.domain,
            address=address,
            uri=context.uri,
            chain_id=challenge["chain_id"],
            nonce=nonce.nonce,
            issued_at=issued_at,
            statement=challenge["statement"],
            expiration_time=expires_at,
        )
    return challenge
