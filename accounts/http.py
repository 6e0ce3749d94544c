"""Request-derived inputs shared by the HTML views and the API views of accounts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

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
