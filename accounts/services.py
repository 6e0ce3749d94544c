"""Writes for accounts: API keys (create, revoke, authenticate), wallets (SIWE link and login) and
integrations (apps whose API traffic is attributed to their developer)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import siwe
from accounts.errors import (
    ApiKeyInvalid,
    ApiKeyNotFound,
    ApiKeyScopesInvalid,
    IntegrationNameTaken,
    WalletAlreadyLinked,
    WalletNotFound,
    WalletNotLinked,
    WalletSignatureRejected,
)
from accounts.models import INTEGRATION_ID_PREFIX, ApiKey, Integration, SiweNonce, User, Wallet
from core.throttling import cache_get

API_KEY_PREFIX = "agr_live_"
_LOOKUP_ALPHABET = string.ascii_letters + string.digits
_LOOKUP_LENGTH = 8
# A cached key holds a copy of its user; this bounds how long a deactivated user keeps access.
# Revocation does not wait for it: revoking deletes the cache entry on commit.
API_KEY_CACHE_SECONDS = 60
# last_used_at is a hint for people, so one write a minute per key is enough.
API_KEY_TOUCH_SECONDS = 60


@dataclass(frozen=True)
class CreatedApiKey:
    api_key: ApiKey
    secret: str  # the full key; returned once, never stored


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """What a request authenticated by an API key carries as `request.auth`."""

    key_id: int
    prefix: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class _CachedKey:
    principal: ApiKeyPrincipal
    key_hash: str
    user: User


def _hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _cache_key(prefix: str) -> str:
    return f"apikey:{prefix}"


def _split_key(raw: str) -> str | None:
    """Return the lookup prefix of a well-formed key, else None."""
    lookup_end = len(API_KEY_PREFIX) + _LOOKUP_LENGTH
    if not raw.startswith(API_KEY_PREFIX) or len(raw) < lookup_end + 2 or raw[lookup_end] != "_":
        return None
    return raw[:lookup_end]


@transaction.atomic
def api_key_create(*, user: User, name: str, scopes: list[str]) -> CreatedApiKey:
    """Create an API key for `user`; the returned secret is the only copy that will ever exist."""
    unknown = set(scopes) - set(ApiKey.Scope.values)
    if unknown or not scopes:
        raise ApiKeyScopesInvalid(detail={"scopes": sorted(unknown) or ["At least one is required."]})
    for _attempt in range(5):
        lookup = "".join(secrets.choice(_LOOKUP_ALPHABET) for _ in range(_LOOKUP_LENGTH))
        raw = f"{API_KEY_PREFIX}{lookup}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    user=user,
                    name=name.strip(),
                    prefix=raw[: len(API_KEY_PREFIX) + _LOOKUP_LENGTH],
                    key_hash=_hash_key(raw),
                    scopes=sorted(set(scopes)),
                )
        except IntegrityError:  # lookup ids collide about once in 10^14 keys: draw again
            continue
        return CreatedApiKey(api_key=key, secret=raw)
    raise RuntimeError("Could not draw a unique API key prefix.")


@transaction.atomic
def api_key_revoke(*, user: User, key_id: int) -> ApiKey:
    """Revoke one of `user`'s keys; the next request with it fails. Raises ApiKeyNotFound."""
    key = ApiKey.objects.select_for_update().filter(pk=key_id, user=user).first()
    if key is None:
        raise ApiKeyNotFound()
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at", "updated_at"])
    prefix = key.prefix
    # Dropped now and again after commit: a lookup racing this transaction may re-cache the row
    # as it was before revocation, and the second delete removes that copy.
    cache.delete(_cache_key(prefix))
    transaction.on_commit(lambda: cache.delete(_cache_key(prefix)))
    return key


# (key id, prefix) -> time of this process's last touch: the shared `apikey-touch` marker is asked
# at most once a minute per key per process instead of on every call.
_touched: dict[tuple[int, str], float] = {}


def _touch(key_id: int, prefix: str) -> None:
    """Record last_used_at at most once per API_KEY_TOUCH_SECONDS per key (across processes)."""
    now = time.time()  # wall time: a once-a-minute hint, and tests travel it
    last = _touched.get((key_id, prefix))
    if last is not None and now - last < API_KEY_TOUCH_SECONDS:
        return
    if len(_touched) > 100_000:
        _touched.clear()
    _touched[(key_id, prefix)] = now
    if cache.add(f"apikey-touch:{key_id}", 1, timeout=API_KEY_TOUCH_SECONDS):
        ApiKey.objects.filter(pk=key_id).update(last_used_at=timezone.now())


def api_key_authenticate_cached(*, raw_key: str) -> tuple[User, ApiKeyPrincipal] | None:
    """The key's user when the shared cache holds it and the key matches; None otherwise (unknown,
    not cached, wrong secret, inactive user: `api_key_authenticate` decides). One cache read, no
    database; a revoked key is dropped from the cache at revocation, so it is never answered here."""
    prefix = _split_key(raw_key)
    if prefix is None:
        return None
    entry: _CachedKey | None = cache_get(_cache_key(prefix))
    if entry is None or not entry.user.is_active:
        return None
    if not hmac.compare_digest(entry.key_hash, _hash_key(raw_key)):
        return None
    _touch(entry.principal.key_id, entry.principal.prefix)
    return entry.user, entry.principal


def api_key_authenticate(*, raw_key: str) -> tuple[User, ApiKeyPrincipal]:
    """Resolve a presented key to its user, from the cache when possible. Raises ApiKeyInvalid."""
    prefix = _split_key(raw_key)
    if prefix is None:
        raise ApiKeyInvalid()
    entry: _CachedKey | None = cache.get(_cache_key(prefix))
    if entry is None:
        key = ApiKey.objects.select_related("user").filter(prefix=prefix, revoked_at__isnull=True).first()
        if key is None:
            raise ApiKeyInvalid()
        entry = _CachedKey(
            principal=ApiKeyPrincipal(key_id=key.pk, prefix=key.prefix, scopes=frozenset(key.scopes)),
            key_hash=key.key_hash,
            user=key.user,
        )
        cache.set(_cache_key(prefix), entry, timeout=API_KEY_CACHE_SECONDS)
    if not hmac.compare_digest(entry.key_hash, _hash_key(raw_key)) or not entry.user.is_active:
        raise ApiKeyInvalid()
    _touch(entry.principal.key_id, entry.principal.prefix)
    return entry.user, entry.principal


# ---------------------------------------------------------------- wallets (EIP-4361)

_NONCE_ALPHABET = string.ascii_letters + string.digits
_NONCE_LENGTH = 24  # log2(62) * 24 ≈ 143 bits, above the 96 the issue asks for


@dataclass(frozen=True)
class SiweContext:
    """What the relying party expects a message to name; built by the view from the request."""

    domain: str
    uri: str


# A user may hold a few link nonces at once (several tabs), never an unbounded pile.
LINK_NONCES_PER_USER = 5


def _login_nonce_key(nonce: str) -> str:
    return f"siwe-login-nonce:{nonce}"


def siwe_nonce_create(*, purpose: str, user: User | None = None) -> SiweNonce:
    """Issue a single-use nonce (valid SIWE_NONCE_TTL_SECONDS).

    Sign-in nonces are asked for by anyone, so they live only in the cache, under a TTL: no table
    grows with anonymous requests (the returned row is not saved). Link nonces belong to a user,
    who keeps at most LINK_NONCES_PER_USER; expired ones are swept.
    """
    now = timezone.now()
    ttl = settings.SIWE_NONCE_TTL_SECONDS
    nonce = SiweNonce(
        nonce="".join(secrets.choice(_NONCE_ALPHABET) for _ in range(_NONCE_LENGTH)),
        purpose=purpose,
        user=user,
        expires_at=now + timedelta(seconds=ttl),
    )
    if purpose == SiweNonce.Purpose.LOGIN:
        cache.set(_login_nonce_key(nonce.nonce), nonce.expires_at.timestamp(), timeout=ttl)
        return nonce
    SiweNonce.objects.filter(expires_at__lte=now).delete()
    kept = SiweNonce.objects.filter(user=user, purpose=purpose).order_by("-expires_at", "-pk")
    SiweNonce.objects.filter(
        pk__in=list(kept.values_list("pk", flat=True)[LINK_NONCES_PER_USER - 1 :])
    ).delete()
    nonce.save()
    return nonce


def _siwe_nonce_consume(*, nonce: str, purpose: str, user: User | None, now: datetime) -> bool:
    """Burn the nonce; True only for the one caller that found it unexpired."""
    if purpose == SiweNonce.Purpose.LOGIN:
        key = _login_nonce_key(nonce)
        expires = cache.get(key)
        # DEL answers whether it removed the key, so of two racing callers only one wins.
        return bool(cache.delete(key)) and expires is not None and float(expires) > now.timestamp()
    deleted, _ = SiweNonce.objects.filter(
        nonce=nonce, purpose=purpose, user=user, expires_at__gt=now
    ).delete()
    return deleted > 0


def _siwe_verify(
    *, message: str, signature: str, context: SiweContext, purpose: str, user: User | None
) -> siwe.SiweMessage:
    try:
        parsed = siwe.parse_message(message)
    except siwe.SiweError as exc:
        raise WalletSignatureRejected(exc.message, detail={"reason": exc.code}) from exc
    now = timezone.now()
    # The nonce is burned by the first attempt that names it, valid or not, so a captured or
    # mistyped message can never be tried twice. One DELETE is atomic (database or cache).
    if not _siwe_nonce_consume(nonce=parsed.nonce, purpose=purpose, user=user, now=now):
        raise WalletSignatureRejected(
            "The sign-in nonce is unknown, expired or already used. Request a new one.",
            detail={"reason": "nonce_invalid"},
        )
    try:
        return siwe.verify_message(
            text=message,
            signature=signature,
            expected_domain=context.domain,
            expected_uri=context.uri,
            allowed_chain_ids=settings.SIWE_ALLOWED_CHAIN_IDS,
            now=now,
        )
    except siwe.SiweError as exc:
        message = exc.message
        if exc.code == "chain_mismatch":
            allowed = ", ".join(str(c) for c in settings.SIWE_ALLOWED_CHAIN_IDS)
            message = (
                f"Your wallet is on chain {parsed.chain_id}. Switch it to chain {allowed} and try again."
            )
        raise WalletSignatureRejected(message, detail={"reason": exc.code}) from exc


def wallet_link(*, user: User, message: str, signature: str, context: SiweContext) -> Wallet:
    """Link the signing address to `user`. Raises WalletSignatureRejected, WalletAlreadyLinked."""
    # Verification runs outside the write transaction on purpose: its nonce DELETE must stay
    # committed when a check fails, or a rejected message could be tried again.
    parsed = _siwe_verify(
        message=message, signature=signature, context=context, purpose=SiweNonce.Purpose.LINK, user=user
    )
    with transaction.atomic():
        existing = Wallet.objects.select_for_update().filter(address=parsed.address).first()
        if existing is None:
            try:
                # Two accounts linking one new address at once both find no row to lock; the
                # unique address decides, and the loser is told who won.
                with transaction.atomic():
                    wallet = Wallet.objects.create(
                        user=user, address=parsed.address, chain_id=parsed.chain_id
                    )
                _wallet_linked_email_on_commit(wallet)
                return wallet
            except IntegrityError:
                existing = Wallet.objects.get(address=parsed.address)
        if existing.user_id != user.pk:
            raise WalletAlreadyLinked()
        return existing


def _wallet_linked_email_on_commit(wallet: Wallet) -> None:
    """Tell the account holder a wallet was linked: it signs them in and, after a cool-down,
    receives their AGR payouts, so a link they did not make must not go unnoticed."""
    email, address = wallet.user.email, wallet.address
    body = (
        f"The wallet {address} was just linked to your Agora account.\n\n"
        "It can now sign you in and pay in AGR. For your safety, AGR payouts can be sent to it only "
        "after a cool-down; the payouts panel shows when.\n\n"
        "If you did not link it, unlink it on your Wallets page at once, change your password and "
        "revoke your API keys."
    )

    def send_wallet_linked_email() -> None:  # named: Django logs a robust hook's __qualname__
        send_mail(
            f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}A wallet was linked to your account", body, None, [email]
        )

    transaction.on_commit(send_wallet_linked_email, robust=True)


def wallet_login(*, message: str, signature: str, context: SiweContext) -> User:
    """Return the active user whose linked wallet signed. Raises WalletSignatureRejected, WalletNotLinked."""
    parsed = _siwe_verify(
        message=message, signature=signature, context=context, purpose=SiweNonce.Purpose.LOGIN, user=None
    )
    with transaction.atomic():
        wallet = (
            Wallet.objects.select_for_update().select_related("user").filter(address=parsed.address).first()
        )
        if wallet is None or not wallet.user.is_active:
            raise WalletNotLinked()
        wallet.last_login_at = timezone.now()
        wallet.save(update_fields=["last_login_at", "updated_at"])
        return wallet.user


@transaction.atomic
def wallet_unlink(*, user: User, wallet_id: int) -> None:
    """Remove one of `user`'s wallets. Raises WalletNotFound."""
    deleted, _ = Wallet.objects.filter(pk=wallet_id, user=user).delete()
    if not deleted:
        raise WalletNotFound()


@transaction.atomic
def user_profile_update(*, user: User, display_name: str) -> User:
    """Change what other people see of `user`."""
    user.display_name = display_name.strip()
    user.full_clean(exclude=["password"])
    user.save(update_fields=["display_name"])
    return user


@transaction.atomic
def user_create(
    *,
    email: str,
    password: str | None,
    email_verified: bool = False,
    is_staff: bool = False,
    is_superuser: bool = False,
) -> User:
    """Create a user outside the sign-up flow (staff tools, demo data); optionally pre-verified.

    Staff get into the admin and nothing more: what they may do there comes from permissions
    (groups), so a superuser, who has every permission, is asked for separately."""
    if is_superuser:
        user = User.objects.create_superuser(email, password)
    else:
        user = User.objects.create_user(email, password, is_staff=is_staff)
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=email_verified)
    return user


def integration_create(*, user: User, name: str, url: str = "") -> Integration:
    """Register an app of `user`'s; calls that carry its public id in the `Agora-Integration` header
    count as traffic it brought. Raises IntegrationNameTaken (names are unique per owner, any case)."""
    name = name.strip()
    if Integration.objects.filter(owner=user, name__iexact=name).exists():
        raise IntegrationNameTaken(detail={"name": [IntegrationNameTaken.default_message]})
    for _attempt in range(5):
        public_id = INTEGRATION_ID_PREFIX + "".join(secrets.choice(_LOOKUP_ALPHABET) for _ in range(16))
        try:
            with transaction.atomic():
                return Integration.objects.create(owner=user, name=name, url=url.strip(), public_id=public_id)
        except IntegrityError as exc:
            if Integration.objects.filter(owner=user, name__iexact=name).exists():  # a concurrent twin
                raise IntegrationNameTaken(detail={"name": [IntegrationNameTaken.default_message]}) from exc
    raise RuntimeError("Could not draw a unique integration id.")
