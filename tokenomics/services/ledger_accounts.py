"""The ledger's accounts: a user's account of a kind and asset, the platform's, created empty on
first use (no money moves), read with one plain query on the money hot paths."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from accounts.models import User
from tokenomics.models import Asset, LedgerAccount
from tokenomics.models.ledger import (
    OVERDRAFT_ACCOUNT_KINDS,
    USER_ACCOUNT_KINDS,
    AccountKind,
)
from tokenomics.rows import rows_select


def _accounts_where(where: str, params: Sequence[Any]) -> list[LedgerAccount]:
    return rows_select(LedgerAccount, where, params)


def user_account_get_or_create(*, user: User, kind: AccountKind | str, asset: Asset | str) -> LedgerAccount:
    """The user's account of this kind and asset, created empty on first use. No money moves."""
    return user_account_of(owner_id=user.pk, kind=kind, asset=asset)


def user_account_of(*, owner_id: int, kind: AccountKind | str, asset: Asset | str) -> LedgerAccount:
    """`user_account_get_or_create` for a user known by pk (one plain query when it exists)."""
    if kind not in USER_ACCOUNT_KINDS:
        raise ValueError(f"{kind} is not a user account kind")
    found = _accounts_where("owner_id = %s AND kind = %s AND asset = %s", [owner_id, str(kind), str(asset)])
    if found:
        return found[0]
    account, _ = LedgerAccount.objects.get_or_create(owner_id=owner_id, kind=kind, asset=asset)
    return account


def system_account_get_or_create(*, kind: AccountKind | str, asset: Asset | str) -> LedgerAccount:
    """The platform's account of this kind and asset, created empty on first use. No money moves."""
    if kind in USER_ACCOUNT_KINDS:
        raise ValueError(f"{kind} is a user account kind")
    found = _accounts_where("owner_id IS NULL AND kind = %s AND asset = %s", [str(kind), str(asset)])
    if found:
        return found[0]
    account, _ = LedgerAccount.objects.get_or_create(
        owner=None, kind=kind, asset=asset, defaults={"overdraft_allowed": kind in OVERDRAFT_ACCOUNT_KINDS}
    )
    return account


def system_accounts_get_or_create(
    *, kinds: Sequence[AccountKind | str], asset: Asset | str
) -> dict[str, LedgerAccount]:
    """The platform's accounts of these kinds in `asset`, by kind, in one query (creating any
    missing, empty). For postings that touch several at once, like a sale split."""
    wanted = [str(kind) for kind in dict.fromkeys(kinds)]
    found = {
        account.kind: account
        for account in _accounts_where(
            f"owner_id IS NULL AND asset = %s AND kind IN ({', '.join(['%s'] * len(wanted))})",
            [str(asset), *wanted],
        )
    }
    for kind in wanted:
        if kind not in found:
            found[kind] = system_account_get_or_create(kind=kind, asset=asset)
    return found


def accounts_get_or_create(
    *,
    asset: Asset | str,
    system_kinds: Sequence[AccountKind | str],
    owner_id: int | None = None,
    user_kind: AccountKind | str | None = None,
) -> tuple[dict[str, LedgerAccount], LedgerAccount | None]:
    """`system_accounts_get_or_create(kinds=system_kinds)` and, with `owner_id` and `user_kind`,
    `user_account_of` that user's account, in one query (creating any missing, empty): what a sale
    release reads before it posts."""
    wanted = [str(kind) for kind in dict.fromkeys(system_kinds)]
    where = f"(owner_id IS NULL AND asset = %s AND kind IN ({', '.join(['%s'] * len(wanted))}))"
    params: list[Any] = [str(asset), *wanted]
    if owner_id is not None and user_kind is not None:
        if user_kind not in USER_ACCOUNT_KINDS:
            raise ValueError(f"{user_kind} is not a user account kind")
        where += " OR (owner_id = %s AND kind = %s AND asset = %s)"
        params += [owner_id, str(user_kind), str(asset)]
    system: dict[str, LedgerAccount] = {}
    user: LedgerAccount | None = None
    for account in _accounts_where(where, params):
        if account.owner_id is None:
            system[account.kind] = account
        else:
            user = account
    for kind in wanted:
        if kind not in system:
            system[kind] = system_account_get_or_create(kind=kind, asset=asset)
    if user is None and owner_id is not None and user_kind is not None:
        user = user_account_of(owner_id=owner_id, kind=user_kind, asset=asset)
    return system, user
