"""Escrow: hold a payment, then resolve it exactly once by release, refund, or partial refund.

Every resolution locks the escrow row and checks it is still HELD, so a release racing a refund
(a buyer's click against the window-closing task) resolves once; the postings' idempotency keys
derive from the escrow reference, so a retried call moves nothing twice.

These are primitives: they nest inside the caller's transaction (an order service that holds a
payment and records the order together), so the top-level caller owns the durable transaction.

A higher app that owns escrows (the storefront's orders, reference "order:<pk>") registers an
owner for its reference prefix, as it registers a payment purpose handler: before the escrow row is
locked, the owner locks its own row (the lock order everywhere is the owner's row, then the escrow),
and after a release or refund, in the same transaction, the owner is told the escrow's new state,
so the owner never lags its escrow whoever resolved it (a buyer, staff, or the due-release batch).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from tokenomics.errors import AmountInvalid, InvalidState
from tokenomics.locks import accounts_lock, escrow_lock
from tokenomics.models import CreatorSales, Escrow, LedgerAccount, LedgerTransaction, Parameter
from tokenomics.models.escrow import EscrowState
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.rows import db, prepared_cursor, row_insert, row_update, rows_select
from tokenomics.selectors.parameters import parameter_get
from tokenomics.services.creator_sales import creator_sales_add, creator_sales_count, creator_sales_lock
from tokenomics.services.hold_statement import escrow_account_seen, hold_in_one_statement
from tokenomics.services.ledger import Leg, transaction_post, transaction_post_in_one_statement
from tokenomics.services.ledger_accounts import system_account_get_or_create, user_account_of
from tokenomics.services.posting_statement import Companion
from tokenomics.services.split_legs import release_accounts, release_legs


@dataclass(frozen=True)
class EscrowOwner:
    lock: Callable[[int], None]  # lock the owner's row of the escrow with this pk (before the escrow)
    resolved: Callable[[Escrow], None]  # the escrow was released or (partly) refunded just now


_owners: dict[str, EscrowOwner] = {}


def escrow_owner_register(
    prefix: str, *, lock: Callable[[int], None], resolved: Callable[[Escrow], None]
) -> None:
    """Tell the app owning escrows whose reference starts with "<prefix>:" about every resolution
    (see the module docstring). Registered from an AppConfig.ready(); an owner that refuses (raises)
    rolls the resolution back."""
    _owners[prefix] = EscrowOwner(lock=lock, resolved=resolved)


def _owner_of(reference: str) -> EscrowOwner | None:
    prefix, sep, _ = reference.partition(":")
    return _owners.get(prefix) if sep else None


def _owner_lock_then_escrow(escrow_id: int) -> tuple[Escrow, EscrowOwner | None]:
    """Lock the escrow's owner row (if an owner registered its prefix), then the escrow.

    On PostgreSQL an escrow whose reference no owner registered is locked by the first statement
    (its condition leaves an owned escrow unlocked, to be locked after its owner's row)."""
    if db().vendor == "postgresql":
        unowned = rows_select(
            Escrow,
            "id = %s AND split_part(reference, ':', 1) <> ALL(%s::text[])",
            [escrow_id, sorted(_owners)],
            lock=True,
        )
        if unowned:
            return unowned[0], None
    with prepared_cursor() as cursor:
        cursor.execute(f"SELECT reference FROM {Escrow._meta.db_table} WHERE id = %s", [escrow_id])  # noqa: S608
        row = cursor.fetchone()
    if row is None:
        raise Escrow.DoesNotExist(f"no escrow {escrow_id}")
    owner = _owner_of(row[0])
    if owner is not None:
        owner.lock(escrow_id)
    return escrow_lock(escrow_id), owner


_REFUND_WINDOW = "escrow.refund_window_seconds"
# Only the parameter table's name is interpolated (hence the noqa).
_RELEASE_AFTER_SQL = (
    "%s::timestamptz + interval '1 second' * "  # noqa: S608
    f"(SELECT value FROM {Parameter._meta.db_table} WHERE key = %s)::float8"
)


def escrow_hold(
    *,
    reference: str,
    creator: User,
    source_account: LedgerAccount,
    amount: int,
    payer: User | None = None,
    release_after: datetime | None = None,
    memo: str = "",
    at: datetime | None = None,
) -> Escrow:
    """Move `amount` from `source_account` (the payer's wallet, or a rail's external account) into
    escrow for a sale by `creator`. Idempotent per `reference`. Raises InsufficientFunds,
    IdempotencyConflict (same reference, other amount or source), AmountInvalid.

    `at`: when the payment is held (default now; demo history passes a past moment, never a
    future one): the hold is posted then and the refund window, unless `release_after` is given,
    runs from then."""
    if type(amount) is not int or amount <= 0:
        raise AmountInvalid("An escrow holds a positive whole amount in minor units.")
    window: dict[str, tuple[str, list[Any]]] = {}
    now = at or timezone.now()
    memo = memo or f"Payment held for {reference}"
    if source_account.owner_id is not None:
        escrow = hold_in_one_statement(
            reference=reference,
            creator=creator,
            source_account=source_account,
            amount=amount,
            payer=payer,
            release_after=release_after,
            memo=memo,
            at=at,
            window_key=_REFUND_WINDOW,
        )
        if escrow is not None:
            return escrow
    if release_after is None:
        if db().vendor == "postgresql":
            # The registry's window read by the INSERT itself (exact, and no cache round trip).
            window["release_after"] = (_RELEASE_AFTER_SQL, [now, _REFUND_WINDOW])
        else:
            release_after = now + timedelta(seconds=parameter_get(_REFUND_WINDOW))
    escrow_account = system_account_get_or_create(kind=AccountKind.ESCROW, asset=source_account.asset)
    escrow_account_seen(escrow_account)
    with transaction.atomic():
        posted = transaction_post(
            kind=TransactionKind.ESCROW_HOLD,
            legs=[Leg(source_account, -amount), Leg(escrow_account, amount)],
            idempotency_key=f"escrow:{reference}:hold",
            memo=memo,
            reference=reference,
            party=creator,
            posted_at=at,
        )
        if not posted.created:
            return Escrow.objects.get(hold_transaction=posted.transaction)
        escrow = Escrow(
            reference=reference,
            asset=source_account.asset,
            amount=amount,
            payer=payer,
            creator=creator,
            source_account=source_account,
            release_after=release_after or now,  # `window`, if given, replaces it
            hold_transaction=posted.transaction,
        )
        row_insert(escrow, computed=window)
        return escrow


def _post_release(
    *,
    escrow: Escrow,
    legs: list[Leg],
    totals: CreatorSales,
    counted: bool = False,
    at: datetime | None = None,
) -> LedgerTransaction:
    """Post the release (dated `at`, default now); its gross counts into the creator's totals
    once, if posted now (`counted`: `creator_sales_count` counted it already, taken back if the
    posting was an earlier one)."""
    posted = transaction_post(
        kind=TransactionKind.SALE,
        legs=legs,
        idempotency_key=f"escrow:{escrow.reference}:release",
        memo=f"Sale {escrow.reference} released to the split",
        reference=escrow.reference,
        party_id=escrow.creator_id,
        posted_at=at,
    )
    gross = -sum(leg.amount for leg in legs if leg.account.kind == AccountKind.ESCROW)
    if posted.created and not counted:
        creator_sales_add(totals, asset=escrow.asset, amount=gross)
    elif counted and not posted.created:
        creator_sales_count(escrow.creator_id, asset=escrow.asset, amount=-gross)
    return posted.transaction


_ESCROW_TABLE = Escrow._meta.db_table
_ESCROW_STAMP = Escrow._meta.get_field("resolved_at")
# Only our table name is interpolated (hence the noqa).
_ESCROW_RESOLVED_SQL = (
    f"UPDATE {_ESCROW_TABLE} SET state = %s, release_transaction_id = tx.id, resolved_at = %s, "  # noqa: S608
    f"updated_at = %s FROM tx WHERE {_ESCROW_TABLE}.id = %s RETURNING {_ESCROW_TABLE}.updated_at"
)


def _release_in_one_statement(
    *, escrow: Escrow, legs: list[Leg], resolved_at: datetime, at: datetime | None
) -> Escrow | None:
    """The release's posting and the locked escrow's new state written by one statement (the
    posting service's, with the escrow row as its companion); None when nothing was written. The
    creator's totals were counted already (`creator_sales_count`)."""
    connection = db()
    now = timezone.now()
    written = transaction_post_in_one_statement(
        kind=TransactionKind.SALE,
        legs=legs,
        idempotency_key=f"escrow:{escrow.reference}:release",
        companion=Companion(
            sql=_ESCROW_RESOLVED_SQL,
            params=[
                str(EscrowState.RELEASED),
                _ESCROW_STAMP.get_db_prep_value(resolved_at, connection),
                _ESCROW_STAMP.get_db_prep_value(now, connection),
                escrow.pk,
            ],
        ),
        memo=f"Sale {escrow.reference} released to the split",
        reference=escrow.reference,
        party_id=escrow.creator_id,
        posted_at=at,
    )
    if written is None:
        return None
    posted, (updated_at,) = written
    escrow.release_transaction = posted.transaction
    escrow.state = EscrowState.RELEASED
    escrow.resolved_at = resolved_at
    escrow.updated_at = updated_at
    return escrow


def _post_refund(
    *, escrow: Escrow, amount: int, escrow_account: LedgerAccount, at: datetime | None = None
) -> LedgerTransaction:
    posted = transaction_post(
        kind=TransactionKind.REFUND,
        legs=[Leg(escrow_account, -amount), Leg(escrow.source_account, amount)],
        idempotency_key=f"escrow:{escrow.reference}:refund",
        memo=f"Refund of {escrow.reference}",
        reference=escrow.reference,
        party_id=escrow.creator_id,
        posted_at=at,
    )
    return posted.transaction


def _release(
    *, escrow_id: int, due_at: datetime | None = None, at: datetime | None = None
) -> tuple[Escrow, bool]:
    """Release under the row lock; with `due_at`, only a held, unfrozen escrow due by then (the
    batch listed it without a lock, and a refund or a dispute may have come since). `at`: when
    (default now), the posting's date and the escrow's resolved_at.
    Returns the escrow and whether this call released it."""
    with transaction.atomic():
        escrow, owner = _owner_lock_then_escrow(escrow_id)
        if due_at is not None and (
            escrow.state != EscrowState.HELD or escrow.frozen or escrow.release_after > due_at
        ):
            return escrow, False
        if escrow.state == EscrowState.RELEASED:
            return escrow, False
        if escrow.state != EscrowState.HELD:
            raise InvalidState("This payment was already refunded.", detail={"state": escrow.state})
        totals, values = creator_sales_count(escrow.creator_id, asset=escrow.asset, amount=escrow.amount)
        accounts = release_accounts(escrow.asset, escrow.creator_id)
        legs = release_legs(
            escrow=escrow, amount=escrow.amount, accounts=accounts, totals=totals, rate_values=values
        )
        resolved_at = at or timezone.now()
        released = _release_in_one_statement(escrow=escrow, legs=legs, resolved_at=resolved_at, at=at)
        if released is None:  # not written: the general path finds out why (a replay, a refusal)
            escrow.release_transaction = _post_release(
                escrow=escrow, legs=legs, totals=totals, counted=True, at=at
            )
            escrow.state = EscrowState.RELEASED
            escrow.resolved_at = resolved_at
            row_update(escrow, ["release_transaction", "state", "resolved_at"])
        if owner is not None:
            owner.resolved(escrow)
        return escrow, True


def escrow_release(*, escrow_id: int, at: datetime | None = None) -> Escrow:
    """Release a held payment to the sale split (creator tier as of now), dated `at` (default
    now; demo history passes a past moment). Releasing a released escrow returns it unchanged; a
    refunded one raises InvalidState."""
    escrow, _ = _release(escrow_id=escrow_id, at=at)
    return escrow


def escrow_refund(*, escrow_id: int, amount: int | None = None, at: datetime | None = None) -> Escrow:
    """Refund a held payment to where it came from: all of it, or `amount` with the rest released
    to the split; dated `at` (default now; demo history passes a past moment). Raises InvalidState
    once resolved (a repeat of a full refund returns it), and AmountInvalid for an amount outside
    1..held."""
    with transaction.atomic():
        escrow, owner = _owner_lock_then_escrow(escrow_id)
        refund = escrow.amount if amount is None else amount
        if escrow.state == EscrowState.REFUNDED and refund == escrow.amount:
            return escrow
        if escrow.state != EscrowState.HELD:
            raise InvalidState("This payment is no longer held in escrow.", detail={"state": escrow.state})
        if type(refund) is not int or not 0 < refund <= escrow.amount:
            raise AmountInvalid(
                "A refund is a whole amount between 1 and the amount held.",
                detail={"held": str(escrow.amount)},
            )
        accounts = release_accounts(escrow.asset, escrow.creator_id)
        escrow_account = accounts.platform[AccountKind.ESCROW]
        kept_legs: list[Leg] = []
        totals: CreatorSales | None = None
        if refund < escrow.amount:
            totals = creator_sales_lock(escrow.creator_id)
            kept_legs = release_legs(
                escrow=escrow, amount=escrow.amount - refund, accounts=accounts, totals=totals
            )
            # Two postings in one transaction: lock every account of both up front, in pk order,
            # or each posting's own ordered locking could still deadlock with another transaction.
            accounts_lock([escrow.source_account_id, *(leg.account.pk for leg in kept_legs)])
        escrow.refund_transaction = _post_refund(
            escrow=escrow, amount=refund, escrow_account=escrow_account, at=at
        )
        escrow.refunded_amount = refund
        if kept_legs:
            assert totals is not None
            escrow.release_transaction = _post_release(escrow=escrow, legs=kept_legs, totals=totals, at=at)
            escrow.state = EscrowState.PARTIALLY_REFUNDED
        else:
            escrow.state = EscrowState.REFUNDED
        escrow.resolved_at = at or timezone.now()
        row_update(
            escrow, ["refund_transaction", "release_transaction", "refunded_amount", "state", "resolved_at"]
        )
        if owner is not None:
            owner.resolved(escrow)
        return escrow


def escrow_set_frozen(*, escrow_id: int, frozen: bool) -> Escrow:
    """Keep a held payment from releasing at the end of its window (a refund request or dispute is
    open), or let it again. Raises InvalidState once resolved."""
    with transaction.atomic():
        escrow = escrow_lock(escrow_id)
        if escrow.state != EscrowState.HELD:
            raise InvalidState("This payment is no longer held in escrow.", detail={"state": escrow.state})
        if escrow.frozen != frozen:
            escrow.frozen = frozen
            escrow.save(update_fields=["frozen", "updated_at"])
        return escrow


def escrows_release_due(*, now: datetime | None = None, limit: int = 500, reference_prefix: str = "") -> int:
    """Release every held, unfrozen escrow whose window has closed (only those whose reference
    starts with `reference_prefix`, if given); returns how many this call released itself. Each
    release is its own transaction, so one failure leaves the others done; an escrow refunded,
    frozen or released by someone else since it was listed is skipped and not counted. The one
    beat task that releases escrowed money; owners follow through their registered hook."""
    now = now or timezone.now()
    listed = Escrow.objects.filter(state=EscrowState.HELD, frozen=False, release_after__lte=now)
    if reference_prefix:
        listed = listed.filter(reference__startswith=reference_prefix)
    due = list(listed.order_by("release_after", "pk").values_list("pk", flat=True)[:limit])
    released = 0
    for escrow_id in due:
        _, done = _release(escrow_id=escrow_id, due_at=now)
        released += done
    return released


def sale_clawback(*, escrow_id: int, amount: int, reason: str = "") -> LedgerTransaction:
    """After release, return `amount` to the payer's source from the creator's payable balance
    (an upheld dispute, SPEC §4). One clawback per escrow. Raises InsufficientFunds if the
    creator's payable balance is short, InvalidState before release, AmountInvalid."""
    with transaction.atomic():
        escrow = escrow_lock(escrow_id)
        if escrow.state not in (EscrowState.RELEASED, EscrowState.PARTIALLY_REFUNDED):
            raise InvalidState("Only a released payment can be clawed back.", detail={"state": escrow.state})
        released = escrow.amount - escrow.refunded_amount
        if type(amount) is not int or not 0 < amount <= released:
            raise AmountInvalid(
                "The amount must be between 1 and what was released.", detail={"released": str(released)}
            )
        payable = user_account_of(
            owner_id=escrow.creator_id, kind=AccountKind.CREATOR_PAYABLE, asset=escrow.asset
        )
        totals = creator_sales_lock(escrow.creator_id)
        posted = transaction_post(
            kind=TransactionKind.SALE_CLAWBACK,
            legs=[Leg(payable, -amount), Leg(escrow.source_account, amount)],
            idempotency_key=f"escrow:{escrow.reference}:clawback",
            memo=reason or f"Upheld dispute on {escrow.reference}",
            reference=escrow.reference,
            party_id=escrow.creator_id,
        )
        if posted.created:
            creator_sales_add(totals, asset=escrow.asset, amount=-amount)
        return posted.transaction
