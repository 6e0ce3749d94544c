"""A posting in one PostgreSQL statement: the posting service's fast path.

`transaction_post` checks in Python between round trips: lock and read the accounts, check the
users' balances, then write. On two cores most of a posting's CPU was those round trips on both
ends (`benchmarks/ledger_costs.py`), so the common case is written by one statement that does the
same checks in SQL: it locks the users' accounts (pk order), checks that every account is the one the
caller holds (asset, kind, owner, overdraft) and that no user's balance goes below zero, then
inserts the transaction (ON CONFLICT on its idempotency key), its entries and the users' new cached
balances. Every write depends on the transaction row, and that row on the checks, so the statement
writes everything or nothing. Outside a caller's transaction it is a transaction of its own (the
deferred balance triggers run at its end): one round trip instead of four.

When it writes nothing (too little money, a replayed key, an account that is not what the caller
holds) the caller takes the general path, which finds what happened and answers as always.

A caller may add a `Companion`: a row of its own written by the same statement from the new
transaction's id (an escrow hold's escrow row), so that the posting and its row are one write.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tokenomics.models import LedgerAccount, LedgerEntry, LedgerTransaction
from tokenomics.rows import db, prepared_cursor

if TYPE_CHECKING:
    from tokenomics.services.ledger import Leg

_ACCOUNT = LedgerAccount._meta.db_table
_TX = LedgerTransaction._meta.db_table
_ENTRY = LedgerEntry._meta.db_table
_STAMP = LedgerAccount._meta.get_field("updated_at")


@dataclass(frozen=True)
class Companion:
    """A row the posting's statement writes too: `sql` is an `INSERT ... SELECT ... FROM tx ...
    RETURNING ...` (`tx` holds the new transaction's `id`), with %s placeholders for `params`."""

    sql: str
    params: Sequence[Any]


def _literal(values: Iterable[object]) -> str:
    """A PostgreSQL array literal of integers, booleans (t/f), NULLs or plain words."""
    return "{" + ",".join(map(str, values)) + "}"


def post_in_one_statement(
    *,
    values: list[Any],
    legs: Sequence[Leg],
    deltas: dict[int, int],
    now: datetime,
    companion: Companion | None = None,
) -> tuple[int, tuple[Any, ...]] | None:
    """Write the posting (`values`: the transaction row's columns as `transaction_post` orders
    them) and the companion; returns the new transaction's id and the companion's RETURNING values,
    or None when nothing was written. `deltas`: each account's net amount. The caller has validated
    the legs (balanced, no checked platform debit, not a reversal)."""
    connection = db()
    accounts = {leg.account.pk: leg.account for leg in legs}
    users = sorted(pk for pk, account in accounts.items() if account.owner_id is not None)
    # The accounts and legs as arrays, one per column, not a VALUES row per leg: one statement text
    # for every posting (prepared once per connection) and few parameters (psycopg caches its
    # parsing of a query of at most 50). Each array is sent as a literal string: every value is an
    # integer, a boolean or one of our own enum values (asset, kind), so the literal is exact, and
    # psycopg would dump a list element by element in Python.
    held = list(accounts.values())
    for account in held:
        if not (account.asset.isalnum() and account.kind.replace("_", "").isalnum()):
            raise ValueError(f"unexpected account kind or asset: {account.kind!r} {account.asset!r}")
    held_columns = [
        _literal(account.pk for account in held),
        _literal(account.asset for account in held),
        _literal(account.kind for account in held),
        _literal("NULL" if account.owner_id is None else account.owner_id for account in held),
        _literal("t" if account.overdraft_allowed else "f" for account in held),
        _literal(deltas[account.pk] for account in held),
    ]
    entries = [
        _literal(leg.account.pk for leg in legs),
        _literal(leg.account.asset for leg in legs),
        _literal(leg.amount for leg in legs),
    ]
    # The ids again, so that every read of the accounts goes through the primary key whatever plan
    # PostgreSQL picks.
    user_ids = _literal(users)
    account_ids = _literal(accounts)
    params: list[Any] = [
        *held_columns,
        *entries,
        user_ids,
        len(accounts),
        account_ids,
        *values,
        _STAMP.get_db_prep_value(now, connection),
        user_ids,
    ]
    # Only our table names are interpolated (hence the noqa).
    sql = f"""
WITH held AS (
    SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::bigint[], %s::boolean[], %s::numeric[])
        AS h(id, asset, kind, owner_id, overdraft_allowed, delta)
), legs AS (
    SELECT * FROM unnest(%s::bigint[], %s::text[], %s::numeric[])
        WITH ORDINALITY AS l(account_id, asset, amount, n)
), locked AS (
    SELECT id, balance FROM {_ACCOUNT} WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE
), checked AS (
    -- Every account is the one the caller holds, and every user's is locked and stays >= 0.
    SELECT count(*) = %s AND bool_and(
               a.asset = h.asset AND a.kind = h.kind AND a.overdraft_allowed = h.overdraft_allowed
               AND a.owner_id IS NOT DISTINCT FROM h.owner_id
               AND (h.owner_id IS NULL OR h.overdraft_allowed OR locked.balance + h.delta >= 0)) AS ok
      FROM held AS h
      JOIN {_ACCOUNT} AS a ON a.id = h.id AND a.id = ANY(%s::bigint[])
      LEFT JOIN locked ON locked.id = h.id
), tx AS (
    INSERT INTO {_TX} (kind, memo, idempotency_key, fingerprint, reference, party_id, reverses_id, posted_at)
    SELECT %s, %s, %s, %s, %s, %s, %s, %s FROM checked WHERE ok
        ON CONFLICT (idempotency_key) DO NOTHING
 RETURNING id
), entries AS (
    INSERT INTO {_ENTRY} (transaction_id, account_id, asset, amount)
    SELECT tx.id, legs.account_id, legs.asset, legs.amount FROM tx, legs ORDER BY legs.n
), balances AS (
    UPDATE {_ACCOUNT} AS a SET balance = locked.balance + held.delta, updated_at = %s
      FROM tx, locked JOIN held USING (id)
     WHERE a.id = locked.id AND a.id = ANY(%s::bigint[])
)"""  # noqa: S608
    if companion is None:
        sql += " SELECT tx.id FROM tx"
    else:
        # The companion's SQL is a fixed statement of the calling service's, never user text.
        sql += f", companion AS ({companion.sql}) SELECT tx.id, companion.* FROM tx, companion"  # noqa: S608
        params += list(companion.params)
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    return int(row[0]), tuple(row[1:])
