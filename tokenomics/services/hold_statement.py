"""An escrow hold from a user's account in one PostgreSQL statement: the common case of
`escrow_hold`, the storefront's every purchase.

The general path (`transaction_post`, then the escrow row) takes six round trips with the BEGIN and
COMMIT, and on two cores a hold's CPU was mostly their cost on both ends (`benchmarks/ledger_costs.py`).
This statement does the same work in one: it locks the payer's row and checks its balance, inserts
the transaction (ON CONFLICT on the idempotency key), its two entries, the payer's new cached
balance and the escrow row. Outside a caller's transaction it is its own transaction (the deferred
balance triggers run at its end), so a hold is one round trip.

Every write depends on the transaction row's INSERT, which depends on the payer's locked row being
there with enough money and on the escrow account being the one expected: the statement writes
everything or nothing. When it writes nothing (not enough money, a replayed reference, a stale
escrow account id, an account of another asset) `escrow_hold` runs the general path, which finds
what happened and answers exactly as it always has (InsufficientFunds, the first hold, a conflict).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from accounts.models import User
from tokenomics.models import Escrow, LedgerAccount, LedgerEntry, LedgerTransaction, Parameter
from tokenomics.models.escrow import EscrowState
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.rows import db, prepared_cursor
from tokenomics.services.ledger import MAX_KEY_LENGTH, posting_fingerprint

# The escrow account's id per asset, as last seen by this process. The statement checks that the id
# is still the escrow account of that asset (a test database rolled back, say); when not, it writes
# nothing and the general path finds the account again.
_escrow_account_ids: dict[str, int] = {}

_ACCOUNT = LedgerAccount._meta.db_table
_TX = LedgerTransaction._meta.db_table
_ENTRY = LedgerEntry._meta.db_table
_ESCROW = Escrow._meta.db_table
_PARAMETER = Parameter._meta.db_table
_AMOUNT = LedgerEntry._meta.get_field("amount")
_STAMP = Escrow._meta.get_field("created_at")
_REFERENCE_LENGTH = Escrow._meta.get_field("reference").max_length

# Only our table names are interpolated (hence the noqa). $n-style parameters are bound on the
# server and the statement is prepared once per connection (tokenomics.rows.prepared_cursor).
_HOLD_SQL = f"""
WITH payer AS (
    SELECT id, balance FROM {_ACCOUNT}
     WHERE id = %(source)s AND asset = %(asset)s AND owner_id IS NOT NULL AND balance >= %(amount)s
       FOR UPDATE
), escrow_account AS (
    SELECT id FROM {_ACCOUNT}
     WHERE id = %(escrow_account)s AND owner_id IS NULL AND kind = %(escrow_kind)s AND asset = %(asset)s
), tx AS (
    INSERT INTO {_TX} (kind, memo, idempotency_key, fingerprint, reference, party_id, reverses_id, posted_at)
    SELECT %(kind)s, %(memo)s, %(key)s, %(fingerprint)s, %(reference)s, %(creator)s, NULL, %(posted_at)s
      FROM payer, escrow_account
        ON CONFLICT (idempotency_key) DO NOTHING
 RETURNING id
), entries AS (
    INSERT INTO {_ENTRY} (transaction_id, account_id, asset, amount)
    SELECT tx.id, v.account_id, %(asset)s, v.amount
      FROM tx, (VALUES (%(source)s::bigint, %(debit)s::numeric, 0),
                       (%(escrow_account)s::bigint, %(amount)s::numeric, 1)) AS v(account_id, amount, n)
     ORDER BY v.n
), debit AS (
    UPDATE {_ACCOUNT} AS a SET balance = payer.balance - %(amount)s, updated_at = %(now)s
      FROM tx, payer
     WHERE a.id = payer.id
), escrow AS (
    INSERT INTO {_ESCROW} (created_at, updated_at, reference, asset, amount, payer_id, creator_id,
                          source_account_id, state, frozen, release_after, refunded_amount,
                          hold_transaction_id, release_transaction_id, refund_transaction_id, resolved_at)
    SELECT %(now)s, %(now)s, %(reference)s, %(asset)s, %(amount)s, %(payer)s, %(creator)s,
           %(source)s, %(held)s, false,
           COALESCE(%(release_after)s,
                    %(held_at)s + interval '1 second' *
                        (SELECT value FROM {_PARAMETER} WHERE key = %(window_key)s)::float8),
           0, tx.id, NULL, NULL, NULL
      FROM tx
 RETURNING id, release_after
)
SELECT escrow.id, escrow.release_after, tx.id FROM tx, escrow
"""  # noqa: S608


def escrow_account_seen(asset: str, account_id: int) -> None:
    """Remember the escrow account of `asset` (the general path found or created it)."""
    _escrow_account_ids[asset] = account_id


def hold_in_one_statement(
    *,
    reference: str,
    creator: User,
    source_account: LedgerAccount,
    amount: int,
    payer: User | None,
    release_after: datetime | None,
    memo: str,
    held_at: datetime,
    posted_at: datetime,
    now: datetime,
    window_key: str,
) -> Escrow | None:
    """The hold as `escrow_hold` would write it, in one statement; None when it wrote nothing (see
    the module docstring: the caller then runs the general path). PostgreSQL only; the caller has
    checked `amount` and dates, and that `source_account` is a user's account."""
    escrow_account_id = _escrow_account_ids.get(source_account.asset)
    key = f"escrow:{reference}:hold"
    if escrow_account_id is None or len(key) > MAX_KEY_LENGTH or len(reference) > (_REFERENCE_LENGTH or 0):
        return None
    connection = db()
    kind = str(TransactionKind.ESCROW_HOLD)
    memo = memo[:255]
    fingerprint = posting_fingerprint(
        kind, reference, creator.pk, [(source_account.pk, -amount), (escrow_account_id, amount)]
    )
    params: dict[str, Any] = {
        "source": source_account.pk,
        "asset": source_account.asset,
        "amount": _AMOUNT.get_db_prep_value(amount, connection),
        "debit": _AMOUNT.get_db_prep_value(-amount, connection),
        "escrow_account": escrow_account_id,
        "escrow_kind": str(AccountKind.ESCROW),
        "kind": kind,
        "memo": memo,
        "key": key,
        "fingerprint": fingerprint,
        "reference": reference,
        "creator": creator.pk,
        "payer": payer.pk if payer is not None else None,
        "posted_at": _STAMP.get_db_prep_value(posted_at, connection),
        "now": _STAMP.get_db_prep_value(now, connection),
        "held": str(EscrowState.HELD),
        "release_after": _STAMP.get_db_prep_value(release_after, connection),
        "held_at": _STAMP.get_db_prep_value(held_at, connection),
        "window_key": window_key,
    }
    with prepared_cursor() as cursor:
        cursor.execute(_HOLD_SQL, params)
        row = cursor.fetchone()
    if row is None:
        return None
    escrow_id, stored_release_after, tx_id = row
    hold = LedgerTransaction(
        pk=tx_id,
        kind=kind,
        memo=memo,
        idempotency_key=key,
        fingerprint=fingerprint,
        reference=reference,
        party=creator,
        posted_at=posted_at,
    )
    escrow = Escrow(
        pk=escrow_id,
        created_at=now,
        updated_at=now,
        reference=reference,
        asset=source_account.asset,
        amount=amount,
        payer=payer,
        creator=creator,
        source_account=source_account,
        state=EscrowState.HELD,
        frozen=False,
        release_after=stored_release_after,
        refunded_amount=0,
        hold_transaction=hold,
    )
    for instance in (hold, escrow):
        instance._state.adding = False
        instance._state.db = connection.alias
    return escrow
