"""The posting service: the one writer of ledger transactions, entries and cached balances. On
PostgreSQL the common case is one statement (`posting_statement`); the rest, and anything that
statement declines, takes the general path below.

Who is locked. A user's account (wallet, payables, stake) has a cached balance that must never go
below zero, so every posting that touches it locks its row. The platform's accounts (escrow,
platform revenue, treasury, validator pool, burn, buy-back reserve, promotions, the external
counter-accounts) are shared by every sale: locking them would put all sales in one queue. They
carry no cached balance (the column stays 0); their balance is the sum of their entries
(`tokenomics.selectors.ledger.account_balance`), so crediting one writes only the new entries and
takes no lock. Debiting one:
- an overdraft account (external, promotions) may go negative: no lock, no check;
- escrow is debited only by a release or refund of one held `Escrow` row, which the escrow service
  has locked and checked (HELD, its amount): that row is the per-order hold, and the account only
  their sum (`ledger_check` reconciles the two). No lock on the account;
- any other (treasury, platform revenue, validator pool…) is locked and its Σ entries checked, so
  concurrent debits queue and none overdraws it; credits still pass without waiting.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from accounts.models import User
from core.fields import WideSum
from tokenomics.errors import (
    IdempotencyConflict,
    InsufficientFunds,
    InvalidState,
    TokenomicsError,
    UnbalancedTransaction,
)
from tokenomics.locks import AccountRow, accounts_lock_read
from tokenomics.models import LedgerAccount, LedgerEntry, LedgerTransaction
from tokenomics.models.ledger import (
    AccountKind,
    TransactionKind,
)
from tokenomics.rows import db, prepared_cursor
from tokenomics.services.posting_statement import Companion, post_in_one_statement

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Leg:
    """One side of a posting: a signed amount (minor units of the account's asset)."""

    account: LedgerAccount
    amount: int


@dataclass(frozen=True)
class Posted:
    transaction: LedgerTransaction
    created: bool  # False when an earlier posting with the same idempotency key was returned


def legs_merge(legs: Sequence[Leg]) -> list[Leg]:
    """One leg per account, amounts added (e.g. a treasury part of both a compute fee and a sale),
    zero legs dropped, in first-seen order."""
    by_account: dict[int, Leg] = {}
    for leg in legs:
        seen = by_account.get(leg.account.pk)
        by_account[leg.account.pk] = leg if seen is None else Leg(leg.account, seen.amount + leg.amount)
    return [leg for leg in by_account.values() if leg.amount]


def _validate(legs: Sequence[Leg], idempotency_key: str) -> None:
    if not idempotency_key or len(idempotency_key) > MAX_KEY_LENGTH:
        raise UnbalancedTransaction(f"An idempotency key of 1 to {MAX_KEY_LENGTH} characters is required.")
    if len(legs) < 2:
        raise UnbalancedTransaction("A transaction needs at least two entries.")
    per_asset: dict[str, int] = defaultdict(int)
    for leg in legs:
        if type(leg.amount) is not int:
            raise UnbalancedTransaction(
                "Amounts are integers in minor units.", detail={"amount": repr(leg.amount)}
            )
        if leg.amount == 0:
            raise UnbalancedTransaction("An entry cannot be zero.")
        if leg.account.pk is None:
            raise UnbalancedTransaction("Every entry needs a saved account.")
        per_asset[leg.account.asset] += leg.amount
    unbalanced = {asset: str(total) for asset, total in per_asset.items() if total != 0}
    if unbalanced:
        raise UnbalancedTransaction(detail={"imbalance": unbalanced})


def posting_fingerprint(
    kind: str, reference: str, party_id: int | None, amounts: Iterable[tuple[int, int]]
) -> str:
    """What a replay under the same idempotency key must match: the kind, reference, party and
    (account id, amount) of every entry."""
    body = [kind, reference, party_id, sorted((account_id, str(amount)) for account_id, amount in amounts)]
    return hashlib.sha256(json.dumps(body, separators=(",", ":")).encode()).hexdigest()


def _replay(existing: LedgerTransaction, fingerprint: str, idempotency_key: str) -> Posted:
    if existing.fingerprint != fingerprint:
        raise IdempotencyConflict(detail={"idempotency_key": idempotency_key})
    return Posted(transaction=existing, created=False)


# The write path is plain SQL (one statement per step, no savepoint): it is the hottest money code
# and the ORM's per-row machinery cost more than the database did (benchmarks/ledger.py).
_TX_TABLE = LedgerTransaction._meta.db_table
_ENTRY_TABLE = LedgerEntry._meta.db_table
_ACCOUNT_TABLE = LedgerAccount._meta.db_table
_AMOUNT_FIELD = LedgerEntry._meta.get_field("amount")
_POSTED_AT_FIELD = LedgerTransaction._meta.get_field("posted_at")
_UPDATED_AT_FIELD = LedgerAccount._meta.get_field("updated_at")
# Only table names and %s placeholders are interpolated into these statements (hence the noqa).
_INSERT_TRANSACTION = (
    f"INSERT INTO {_TX_TABLE} "  # noqa: S608
    "(kind, memo, idempotency_key, fingerprint, reference, party_id, reverses_id, posted_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
)


def _insert_transaction(cursor: CursorWrapper, values: list[Any]) -> int | None:
    """INSERT the transaction row; None when its idempotency key already exists (then nothing was
    written: a concurrent first posting with the key is waited for, then seen as existing)."""
    cursor.execute(_INSERT_TRANSACTION, values)
    row = cursor.fetchone()
    return None if row is None else int(row[0])


def _entry_params(legs: Sequence[Leg], assets: dict[int, str]) -> list[Any]:
    connection = db()
    params: list[Any] = []
    for leg in legs:
        amount = _AMOUNT_FIELD.get_db_prep_value(leg.amount, connection)
        params.extend((leg.account.pk, assets[leg.account.pk], amount))
    return params


def _balance_params(balances: dict[int, int]) -> list[Any]:
    connection = db()
    params: list[Any] = []
    for account_id, balance in balances.items():
        params.extend((account_id, _AMOUNT_FIELD.get_db_prep_value(balance, connection)))
    return params


def _write(
    cursor: CursorWrapper,
    values: list[Any],
    legs: Sequence[Leg],
    assets: dict[int, str],
    balances: dict[int, int],
    now: datetime,
) -> int | None:
    """Write the transaction, its entries and the users' new cached balances; None (nothing
    written) when the idempotency key already exists. On PostgreSQL one statement: the entries
    and balances are written only if the transaction row was (they join its RETURNING)."""
    connection = db()
    stamp = _UPDATED_AT_FIELD.get_db_prep_value(now, connection)
    if connection.vendor != "postgresql":
        tx_id = _insert_transaction(cursor, values)
        if tx_id is not None:
            rows = ", ".join([f"({tx_id}, %s, %s, %s)"] * len(legs))
            cursor.execute(
                f"INSERT INTO {_ENTRY_TABLE} (transaction_id, account_id, asset, amount) VALUES {rows}",  # noqa: S608
                _entry_params(legs, assets),
            )
            for account_id, balance in balances.items():
                cursor.execute(
                    f"UPDATE {_ACCOUNT_TABLE} SET balance = %s, updated_at = %s WHERE id = %s",  # noqa: S608
                    [_AMOUNT_FIELD.get_db_prep_value(balance, connection), stamp, account_id],
                )
        return tx_id
    entry_rows = ", ".join(f"(%s::bigint, %s, %s::numeric, {n})" for n in range(len(legs)))
    # Only table names, %s placeholders and leg ordinals are interpolated (hence the noqa).
    sql = (
        f"WITH tx AS ({_INSERT_TRANSACTION}), "  # noqa: S608
        f"entries AS (INSERT INTO {_ENTRY_TABLE} (transaction_id, account_id, asset, amount) "
        f"SELECT tx.id, v.account_id, v.asset, v.amount FROM tx, (VALUES {entry_rows}) "
        "AS v(account_id, asset, amount, n) ORDER BY v.n)"
    )
    params = [*values, *_entry_params(legs, assets)]
    if balances:
        balance_rows = ", ".join(["(%s::bigint, %s::numeric)"] * len(balances))
        sql += (
            f", balances AS (UPDATE {_ACCOUNT_TABLE} AS a SET balance = v.balance, updated_at = %s "  # noqa: S608
            f"FROM tx, (VALUES {balance_rows}) AS v(id, balance) WHERE a.id = v.id)"
        )
        params += [stamp, *_balance_params(balances)]
    cursor.execute(sql + " SELECT id FROM tx", params)  # noqa: S608
    row = cursor.fetchone()
    return None if row is None else int(row[0])


def _is_system(account: LedgerAccount) -> bool:
    return account.owner_id is None


def _checked_debit(*, system: bool, kind: str, overdraft_allowed: bool, delta: int) -> bool:
    """A debit of a platform account that must be checked against its Σ entries under its lock
    (see the module doc): not an overdraft account, not escrow (its `Escrow` rows are checked)."""
    return system and delta < 0 and not overdraft_allowed and kind != AccountKind.ESCROW


def _debit_checked(row: AccountRow, delta: int) -> bool:
    return _checked_debit(
        system=row.system, kind=row.kind, overdraft_allowed=row.overdraft_allowed, delta=delta
    )


def _deltas(legs: Sequence[Leg]) -> dict[int, int]:
    deltas: dict[int, int] = defaultdict(int)
    for leg in legs:
        deltas[leg.account.pk] += leg.amount
    return deltas


def _statement_eligible(legs: Sequence[Leg], deltas: dict[int, int], *, reverses: object | None) -> bool:
    """Whether `posting_statement` can post these legs: on PostgreSQL, not a reversal (the general
    path checks that one is reversed once) and no checked platform debit (the general path locks
    the account and sums its entries)."""
    if reverses is not None or db().vendor != "postgresql":
        return False
    return not any(
        _checked_debit(
            system=_is_system(leg.account),
            kind=leg.account.kind,
            overdraft_allowed=leg.account.overdraft_allowed,
            delta=deltas[leg.account.pk],
        )
        for leg in legs
    )


def _accounts_for(legs: Sequence[Leg], deltas: dict[int, int]) -> dict[int, AccountRow]:
    """Every touched account's row, in one statement: users' accounts and checked platform debits
    locked (pk order), the other platform accounts read without a lock."""
    locked = [
        leg.account.pk
        for leg in legs
        if not _is_system(leg.account)
        or _checked_debit(
            system=True,
            kind=leg.account.kind,
            overdraft_allowed=leg.account.overdraft_allowed,
            delta=deltas[leg.account.pk],
        )
    ]
    rows = accounts_lock_read(locked, deltas)
    for leg in legs:
        row = rows.get(leg.account.pk)
        if row is not None and row.system != _is_system(leg.account):
            raise UnbalancedTransaction(
                "An entry's account is not the one stored.", detail={"account": leg.account.pk}
            )
    return rows


def _derived_balances(account_ids: Iterable[int]) -> dict[int, int]:
    """Σ entries of platform accounts (locked by the caller, so no debit of theirs is in flight).
    Runs only for checked platform debits (rare), so the ORM's exact WideSum is fine here."""
    ids = sorted(account_ids)
    if not ids:
        return {}
    found = {
        row["account_id"]: int(row["total"])
        for row in LedgerEntry.objects.filter(account_id__in=ids)
        .values("account_id")
        .annotate(total=WideSum("amount"))
        .order_by()
    }
    return {pk: found.get(pk, 0) for pk in ids}


@dataclass(frozen=True)
class _Posting:
    """A validated posting's transaction row, as both write paths write it."""

    kind: str
    memo: str
    idempotency_key: str
    fingerprint: str
    reference: str
    party: User | None
    party_id: int | None
    reverses: LedgerTransaction | None
    stamp: datetime  # posted_at
    now: datetime  # when it is written (cached balances' updated_at)

    def values(self) -> list[Any]:
        return [
            self.kind,
            self.memo,
            self.idempotency_key,
            self.fingerprint,
            self.reference,
            self.party_id,
            self.reverses.pk if self.reverses is not None else None,
            _POSTED_AT_FIELD.get_db_prep_value(self.stamp, db()),
        ]

    def posted(self, tx_id: int) -> Posted:
        posted = LedgerTransaction(
            pk=tx_id,
            kind=self.kind,
            memo=self.memo,
            idempotency_key=self.idempotency_key,
            fingerprint=self.fingerprint,
            reference=self.reference,
            party_id=self.party_id,
            reverses=self.reverses,
            posted_at=self.stamp,
        )
        if self.party is not None:
            posted.party = self.party
        posted._state.adding = False
        posted._state.db = db().alias
        return Posted(transaction=posted, created=True)


def _posting(
    *,
    kind: TransactionKind | str,
    legs: Sequence[Leg],
    idempotency_key: str,
    memo: str,
    reference: str,
    party: User | None,
    party_id: int | None,
    reverses: LedgerTransaction | None,
    posted_at: datetime | None,
) -> _Posting:
    _validate(legs, idempotency_key)
    now = timezone.now()
    if posted_at is not None and posted_at > now:
        raise ValueError(f"a posting cannot be dated in the future: {posted_at.isoformat()}")
    if party is not None:
        party_id = party.pk
    fingerprint = posting_fingerprint(
        str(kind), reference, party_id, [(leg.account.pk, leg.amount) for leg in legs]
    )
    return _Posting(
        kind=str(kind),
        memo=memo[:255],
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        reference=reference,
        party=party,
        party_id=party_id,
        reverses=reverses,
        stamp=posted_at or now,
        now=now,
    )


def transaction_post_in_one_statement(
    *,
    kind: TransactionKind | str,
    legs: Sequence[Leg],
    idempotency_key: str,
    companion: Companion,
    memo: str = "",
    reference: str = "",
    party: User | None = None,
    party_id: int | None = None,
    posted_at: datetime | None = None,
) -> tuple[Posted, tuple[Any, ...]] | None:
    """`transaction_post` and the caller's `companion` row written by one statement
    (`posting_statement`), with the companion's RETURNING values; None when nothing was written
    (not PostgreSQL, too little money, a replay...): the caller then posts with `transaction_post`
    and writes its row itself, in one transaction."""
    posting = _posting(
        kind=kind,
        legs=legs,
        idempotency_key=idempotency_key,
        memo=memo,
        reference=reference,
        party=party,
        party_id=party_id,
        reverses=None,
        posted_at=posted_at,
    )
    deltas = _deltas(legs)
    if not _statement_eligible(legs, deltas, reverses=None):
        return None
    written = post_in_one_statement(
        values=posting.values(), legs=legs, deltas=deltas, now=posting.now, companion=companion
    )
    if written is None:
        return None
    tx_id, returned = written
    return posting.posted(tx_id), returned


def transaction_post(
    *,
    kind: TransactionKind | str,
    legs: Sequence[Leg],
    idempotency_key: str,
    memo: str = "",
    reference: str = "",
    party: User | None = None,
    party_id: int | None = None,
    reverses: LedgerTransaction | None = None,
    posted_at: datetime | None = None,
) -> Posted:
    """Post a balanced transaction exactly once per idempotency key.

    The `party` (whose transaction it is: the creator of a sale...) may be given by pk instead
    (`party_id`), when the caller has no User loaded.

    `posted_at` backdates the posting (demo history, an epoch closed for a past week); it may not
    be in the future (ValueError). Balances are cached as of the write, whatever it says.

    Locks the touched accounts in pk order, refuses to take a non-overdraft account below zero
    (`InsufficientFunds`), returns the first posting for a repeated key with the same entries and
    raises `IdempotencyConflict` for the same key with different ones; `UnbalancedTransaction`
    for entries that do not sum to zero per asset. Joins a caller's transaction (no savepoint:
    business errors are raised after the block, having written nothing).
    """
    posting = _posting(
        kind=kind,
        legs=legs,
        idempotency_key=idempotency_key,
        memo=memo,
        reference=reference,
        party=party,
        party_id=party_id,
        reverses=reverses,
        posted_at=posted_at,
    )
    deltas = _deltas(legs)
    if _statement_eligible(legs, deltas, reverses=reverses):
        # The common case in one statement; when it writes nothing, the general path below finds
        # out why (and a replay, a refusal or a mismatched account is answered as always).
        written = post_in_one_statement(values=posting.values(), legs=legs, deltas=deltas, now=posting.now)
        if written is not None:
            return posting.posted(written[0])
    fingerprint = posting.fingerprint
    problem: TokenomicsError | None = None
    posted: Posted | None = None
    with transaction.atomic(savepoint=False), prepared_cursor() as cursor:
        rows = _accounts_for(legs, deltas)
        for leg in legs:
            # Sums were checked on the caller's copies; the rows just locked must agree.
            row = rows.get(leg.account.pk)
            if row is None or row.asset != leg.account.asset:
                problem = UnbalancedTransaction(
                    "An entry's asset must be its account's.", detail={"account": leg.account.pk}
                )
                break
        balances: dict[int, int] = {}
        if problem is None:
            checked = {pk: delta for pk, delta in deltas.items() if _debit_checked(rows[pk], delta)}
            derived = _derived_balances(checked)
            for account_id, delta in deltas.items():
                row = rows[account_id]
                available = derived.get(account_id, row.balance)
                if not row.system:
                    balances[account_id] = row.balance + delta
                if (
                    available + delta < 0
                    and not row.overdraft_allowed
                    and (not row.system or account_id in checked)
                ):
                    problem = InsufficientFunds(
                        detail={
                            "asset": row.asset,
                            "account": row.kind,
                            "available": str(available),
                            "required": str(-delta),
                        }
                    )
                    break
        if problem is None and reverses is not None:
            # The reversal touches the original's accounts, so an earlier reversal has committed
            # by now; under another key it is a second reversal, refused (the same key replays).
            first = (
                LedgerTransaction.objects.filter(reverses=reverses)
                .values_list("idempotency_key", flat=True)
                .first()
            )
            if first is not None and first != idempotency_key:
                problem = InvalidState(
                    "This transaction was already reversed.", detail={"transaction": reverses.pk}
                )
        if problem is None:
            tx_id = _write(
                cursor,
                posting.values(),
                legs,
                {pk: row.asset for pk, row in rows.items()},
                balances,
                posting.now,
            )
            if tx_id is not None:
                posted = posting.posted(tx_id)
    if posted is not None:
        return posted
    # A replay is answered with the first posting even when it could not be posted again now
    # (the money it moved may since have been spent). The accounts were locked above, so a
    # concurrent first posting has committed by the time this reads.
    existing = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _replay(existing, fingerprint, idempotency_key)
    if problem is None:  # pragma: no cover - the key vanished between the insert and this read
        raise IdempotencyConflict(detail={"idempotency_key": idempotency_key})
    raise problem


def transaction_reverse(
    *, original: LedgerTransaction, memo: str = "", idempotency_key: str | None = None
) -> Posted:
    """Undo a posted transaction with its exact negation (posted rows are never edited).

    A transaction is reversed at most once (`InvalidState` for a second reversal under another
    key); raises `InsufficientFunds` if the money has since been spent from a non-overdraft account.
    """
    legs = [
        Leg(account=entry.account, amount=-entry.amount)
        for entry in original.entries.select_related("account")
    ]
    return transaction_post(
        kind=TransactionKind.REVERSAL,
        legs=legs,
        idempotency_key=idempotency_key or f"reverse:{original.pk}",
        memo=memo or f"Reversal of #{original.pk}",
        reference=original.reference,
        party=original.party,
        reverses=original,
    )
