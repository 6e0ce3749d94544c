"""Reads for accounts."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import ApiKey, User, Wallet


def api_key_list(*, user: User, include_revoked: bool = False) -> QuerySet[ApiKey]:
    keys = ApiKey.objects.filter(user=user)
    return keys if include_revoked else keys.filter(revoked_at__isnull=True)


def wallet_list(*, user: User) -> QuerySet[Wallet]:
    return Wallet.objects.filter(user=user)
