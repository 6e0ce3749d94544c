"""Row locks for money, always taken in primary-key order so that two postings never deadlock."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from django.db import connection

from tokenomics.models import Escrow, LedgerAccount


def escrow_lock(escrow_id: int) -> Escrow:
    return Escrow.objects.select_for_update(of=("self",)).select_related("creator").get(pk=escrow_id)


class AccountRow(NamedTuple):
    asset: str
    kind: str
    balance: int
    overdraft_allowed: bool
    system: bool  # owned by the platform: no cached balance, Σ entries is the balance


_ACCOUNT_COLUMNS = "id, asset, kind, balance, overdraft_allowed, owner_id IS NULL"


def _accounts_select(account_ids: Iterable[int], *, lock: bool) -> dict[int, AccountRow]:
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    placeholders = ", ".join(["%s"] * len(ids))
    sql = (
        f"SELECT {_ACCOUNT_COLUMNS} FROM {LedgerAccount._meta.db_table} "  # noqa: S608
        f"WHERE id IN ({placeholders}) ORDER BY id"
    )
    if lock and connection.vendor == "postgresql":
        sql += " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        rows = cursor.fetchall()
    return {
        int(pk): AccountRow(
            asset=asset,
            kind=kind,
            balance=int(balance),
            overdraft_allowed=bool(overdraft),
            system=bool(system),
        )
        for pk, asset, kind, balance, overdraft, system in rows
    }


def accounts_lock(account_ids: Iterable[int]) -> dict[int, AccountRow]:
    """Lock the ledger accounts (FOR UPDATE, ascending pk, so two postings never deadlock) and read
    what a posting needs, in one plain statement: it runs on every posting. On SQLite FOR UPDATE
    is a no-op; the IMMEDIATE transaction mode serialises writers instead."""
    return _accounts_select(account_ids, lock=True)


def accounts_read(account_ids: Iterable[int]) -> dict[int, AccountRow]:
    """The same rows without a lock: for the platform's accounts that a posting credits. Their
    asset, kind and owner never change after creation, so an unlocked read is exact for them."""
    return _accounts_select(account_ids, lock=False)
