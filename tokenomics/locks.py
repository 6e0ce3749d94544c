"""Row locks for money, always taken in primary-key order so that two postings never deadlock."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from tokenomics.models import Escrow, LedgerAccount
from tokenomics.rows import db, prepared_cursor, rows_select


def escrow_lock(escrow_id: int) -> Escrow:
    """The escrow row, locked (one plain statement; `Escrow.DoesNotExist` if there is none)."""
    found = rows_select(Escrow, "id = %s", [escrow_id], lock=True)
    if not found:
        raise Escrow.DoesNotExist(f"no escrow {escrow_id}")
    return found[0]


class AccountRow(NamedTuple):
    asset: str
    kind: str
    balance: int
    overdraft_allowed: bool
    system: bool  # owned by the platform: no cached balance, Σ entries is the balance


_ACCOUNT_COLUMNS = "id, asset, kind, balance, overdraft_allowed, owner_id IS NULL"


def _account_row(row: Sequence[Any]) -> tuple[int, AccountRow]:
    pk, asset, kind, balance, overdraft, system = row
    return int(pk), AccountRow(
        asset=asset, kind=kind, balance=int(balance), overdraft_allowed=bool(overdraft), system=bool(system)
    )


def _accounts_select(account_ids: Iterable[int], *, lock: bool) -> dict[int, AccountRow]:
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    placeholders = ", ".join(["%s"] * len(ids))
    sql = (
        f"SELECT {_ACCOUNT_COLUMNS} FROM {LedgerAccount._meta.db_table} "  # noqa: S608
        f"WHERE id IN ({placeholders}) ORDER BY id"
    )
    if lock and db().vendor == "postgresql":
        sql += " FOR UPDATE"
    with prepared_cursor() as cursor:
        cursor.execute(sql, ids)
        return dict(map(_account_row, cursor.fetchall()))


def accounts_lock(account_ids: Iterable[int]) -> dict[int, AccountRow]:
    """Lock the ledger accounts (FOR UPDATE, ascending pk, so two postings never deadlock) and read
    what a posting needs, in one plain statement. On SQLite FOR UPDATE is a no-op; the IMMEDIATE
    transaction mode serialises writers instead."""
    return _accounts_select(account_ids, lock=True)


def accounts_read(account_ids: Iterable[int]) -> dict[int, AccountRow]:
    """The same rows without a lock: for the platform's accounts that a posting credits. Their
    asset, kind and owner never change after creation, so an unlocked read is exact for them."""
    return _accounts_select(account_ids, lock=False)


def accounts_lock_read(lock: Iterable[int], read: Iterable[int]) -> dict[int, AccountRow]:
    """`accounts_lock(lock)` and `accounts_read(read)` in one round trip: what every posting runs
    (the users' accounts it touches locked in pk order, the platform's read without a lock)."""
    locked = sorted(set(lock))
    unlocked = sorted(set(read) - set(locked))
    if not locked or not unlocked:
        return accounts_lock(locked) if locked else accounts_read(unlocked)
    table = LedgerAccount._meta.db_table
    suffix = " FOR UPDATE" if db().vendor == "postgresql" else ""
    # Only the table name and %s placeholders are interpolated (hence the noqa).
    sql = (
        f"WITH locked AS (SELECT {_ACCOUNT_COLUMNS} FROM {table} "  # noqa: S608
        f"WHERE id IN ({', '.join(['%s'] * len(locked))}) ORDER BY id{suffix}) "
        f"SELECT * FROM locked UNION ALL SELECT {_ACCOUNT_COLUMNS} FROM {table} "
        f"WHERE id IN ({', '.join(['%s'] * len(unlocked))})"
    )
    with prepared_cursor() as cursor:
        cursor.execute(sql, [*locked, *unlocked])
        return dict(map(_account_row, cursor.fetchall()))
