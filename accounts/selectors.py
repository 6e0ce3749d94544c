"""Reads for accounts."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from accounts.models import INTEGRATION_ID_PREFIX, ApiKey, Integration, User, Wallet


def api_key_list(*, user: User, include_revoked: bool = False) -> QuerySet[ApiKey]:
    keys = ApiKey.objects.filter(user=user)
    return keys if include_revoked else keys.filter(revoked_at__isnull=True)


def wallet_list(*, user: User) -> QuerySet[Wallet]:
    return Wallet.objects.filter(user=user)


def integration_list(*, user: User) -> QuerySet[Integration]:
    return Integration.objects.filter(owner=user)


def integrations_by_public_id(public_ids: Iterable[str]) -> dict[str, Integration]:
    """The integrations these `Agora-Integration` header values name (unknown ones are left out),
    with their owners: the gateway attributes calls with it."""
    wanted = {
        value.strip() for value in public_ids if value and value.strip().startswith(INTEGRATION_ID_PREFIX)
    }
    if not wanted:
        return {}
    return {i.public_id: i for i in Integration.objects.filter(public_id__in=wanted).select_related("owner")}
