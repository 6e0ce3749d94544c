"""An escrow hold and its escrow row in one PostgreSQL statement: the common case of `escrow_hold`,
the storefront's every purchase.

The posting service writes the hold's transaction, entries and the payer's balance in one statement
(`posting_statement`); this adds the escrow row to that statement as its companion, so a hold outside
a caller's transaction is one round trip (it was six: BEGIN, the escrow account, lock and read,
write, the escrow row, COMMIT). When the statement writes nothing, `escrow_hold` takes its general
path, which answers as it always has (InsufficientFunds, the first hold for a replay, a conflict).
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from accounts.models import User
from tokenomics.models import Escrow, LedgerAccount, Parameter
from tokenomics.models.escrow import EscrowState
from tokenomics.models.ledger import TransactionKind
from tokenomics.rows import db
from tokenomics.services.ledger import Leg, transaction_post_in_one_statement
from tokenomics.services.posting_statement import Companion

# The escrow account per asset, as last seen by this process: the statement checks that it is still
# the stored account (a test database rolled back, say); when not, it writes nothing and the general
# path finds the account again.
_escrow_accounts: dict[str, LedgerAccount] = {}

_ESCROW = Escrow._meta.db_table
_STAMP = Escrow._meta.get_field("created_at")
_REFERENCE_LENGTH = Escrow._meta.get_field("reference").max_length or 0
# Only our table names are interpolated (hence the noqa).
_ESCROW_INSERT = f"""
    INSERT INTO {_ESCROW} (created_at, updated_at, reference, asset, amount, payer_id, creator_id,
                          source_account_id, state, frozen, release_after, refunded_amount,
                          hold_transaction_id, release_transaction_id, refund_transaction_id, resolved_at)
    SELECT %s, %s, %s, %s, %s::numeric, %s::bigint, %s::bigint, %s::bigint, %s, false,
           COALESCE(%s::timestamptz, %s::timestamptz + interval '1 second' *
                    (SELECT value FROM {Parameter._meta.db_table} WHERE key = %s)::float8),
           0, tx.id, NULL, NULL, NULL
      FROM tx
 RETURNING id, release_after"""  # noqa: S608


def escrow_account_seen(account: LedgerAccount) -> None:
    """Remember the escrow account of its asset (the general path found or created it)."""
    _escrow_accounts[account.asset] = account


def hold_in_one_statement(
    *,
    reference: str,
    creator: User,
    source_account: LedgerAccount,
    amount: int,
    payer: User | None,
    release_after: datetime | None,
    memo: str,
    at: datetime | None,
    window_key: str,
) -> Escrow | None:
    """The hold as `escrow_hold` would write it, in one statement; None when it wrote nothing (the
    caller then takes the general path). The caller has checked `amount`."""
    escrow_account = _escrow_accounts.get(source_account.asset)
    if escrow_account is None or len(reference) > _REFERENCE_LENGTH:
        return None
    connection = db()
    now = timezone.now()
    held_at = at or now
    companion = Companion(
        sql=_ESCROW_INSERT,
        params=[
            _STAMP.get_db_prep_value(now, connection),
            _STAMP.get_db_prep_value(now, connection),
            reference,
            source_account.asset,
            amount,
            payer.pk if payer is not None else None,
            creator.pk,
            source_account.pk,
            str(EscrowState.HELD),
            _STAMP.get_db_prep_value(release_after, connection),
            _STAMP.get_db_prep_value(held_at, connection),
            window_key,
        ],
    )
    written = transaction_post_in_one_statement(
        kind=TransactionKind.ESCROW_HOLD,
        legs=[Leg(source_account, -amount), Leg(escrow_account, amount)],
        idempotency_key=f"escrow:{reference}:hold",
        companion=companion,
        memo=memo,
        reference=reference,
        party=creator,
        posted_at=at,
    )
    if written is None:
        return None
    posted, (escrow_id, stored_release_after) = written
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
        hold_transaction=posted.transaction,
    )
    escrow._state.adding = False
    escrow._state.db = connection.alias
    return escrow
