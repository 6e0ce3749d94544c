"""Row locks for money, always taken in primary-key order so that two postings never deadlock."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from django.db import connection

from tokenomics.models import Escrow, LedgerAccount


def escrow_lock(escrow_id: int) -> Escrow:
    return Escrow.objects.select_for_update().get(pk=escrow_id)


class AccountRow(NamedTuple):
    asset: str
    kind: str
    balance: int
    overdraft_allowed: bool


def accounts_lock(account_ids: Iterable[int]) -> dict[int, AccountRow]:
    """Lock the ledger accounts (FOR UPDATE, ascending pk, so two postings never deadlock) and read
    what a posting needs, in one plain statement: it runs on every posting. On SQLite FOR UPDATE
    is a no-op; the IMMEDIATE transaction mode serialises writers instead."""
    ids = sorted(set(account_ids))
    placeholders = ", ".join(["%s"] * len(ids))
    sql = (
        f"SELECT id, asset, kind, balance, overdraft_allowed FROM {LedgerAccount._meta.db_table} "  # noqa: S608
        f"WHERE id IN ({placeholders}) ORDER BY id"
    )
    if connection.vendor == "postgresql":
        sql += " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        rows = cursor.fetchall()
    return {
        int(pk): AccountRow(asset=asset, kind=kind, balance=int(balance), overdraft_allowed=bool(overdraft))
        for pk, asset, kind, balance, overdraft in rows
    }
