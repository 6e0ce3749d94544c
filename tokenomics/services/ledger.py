"""The posting service: the one writer of ledger transactions, entries and cached balances."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from tokenomics.errors import IdempotencyConflict, InsufficientFunds, UnbalancedTransaction
from tokenomics.locks import accounts_lock
from tokenomics.models import Asset, LedgerAccount, LedgerEntry, LedgerTransaction
from tokenomics.models.ledger import (
    OVERDRAFT_ACCOUNT_KINDS,
    USER_ACCOUNT_KINDS,
    AccountKind,
    TransactionKind,
)

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


def user_account_get_or_create(*, user: User, kind: AccountKind | str, asset: Asset | str) -> LedgerAccount:
    """The user's account of this kind and asset, created empty on first use. No money moves."""
    if kind not in USER_ACCOUNT_KINDS:
        raise ValueError(f"{kind} is not a user account kind")
    account, _ = LedgerAccount.objects.get_or_create(owner=user, kind=kind, asset=asset)
    return account


def system_account_get_or_create(*, kind: AccountKind | str, asset: Asset | str) -> LedgerAccount:
    """The platform's account of this kind and asset, created empty on first use. No money moves."""
    if kind in USER_ACCOUNT_KINDS:
        raise ValueError(f"{kind} is a user account kind")
    account, _ = LedgerAccount.objects.get_or_create(
        owner=None, kind=kind, asset=asset, defaults={"overdraft_allowed": kind in OVERDRAFT_ACCOUNT_KINDS}
    )
    return account


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


def _fingerprint(kind: str, reference: str, legs: Sequence[Leg]) -> str:
    body = [kind, reference, sorted((leg.account.pk, str(leg.amount)) for leg in legs)]
    return hashlib.sha256(json.dumps(body, separators=(",", ":")).encode()).hexdigest()


def _replay(existing: LedgerTransaction, fingerprint: str, idempotency_key: str) -> Posted:
    if existing.fingerprint != fingerprint:
        raise IdempotencyConflict(detail={"idempotency_key": idempotency_key})
    return Posted(transaction=existing, created=False)


def transaction_post(
    *,
    kind: TransactionKind | str,
    legs: Sequence[Leg],
    idempotency_key: str,
    memo: str = "",
    reference: str = "",
    party: User | None = None,
    reverses: LedgerTransaction | None = None,
) -> Posted:
    """Post a balanced transaction exactly once per idempotency key.

    Locks the touched accounts in pk order, refuses to take a non-overdraft account below zero
    (`InsufficientFunds`), returns the first posting for a repeated key with the same entries and
    raises `IdempotencyConflict` for the same key with different ones; `UnbalancedTransaction`
    for entries that do not sum to zero per asset. Nests inside a caller's transaction.
    """
    _validate(legs, idempotency_key)
    fingerprint = _fingerprint(str(kind), reference, legs)
    deltas: dict[int, int] = defaultdict(int)
    for leg in legs:
        deltas[leg.account.pk] += leg.amount

    with transaction.atomic():
        # Lock first, then look for the key: a concurrent replay touches the same accounts, so it
        # waits here and then sees the committed first posting (READ COMMITTED re-reads).
        locked = accounts_lock(deltas)
        for leg in legs:
            # The balance check above used the caller's copy of the account; the asset written
            # must be the row's own.
            row = locked.get(leg.account.pk)
            if row is None or row.asset != leg.account.asset:
                raise UnbalancedTransaction(
                    "An entry's asset must be its account's.", detail={"account": leg.account.pk}
                )
        existing = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return _replay(existing, fingerprint, idempotency_key)

        for account_id, delta in deltas.items():
            account = locked[account_id]
            new_balance = account.balance + delta
            if new_balance < 0 and not account.overdraft_allowed:
                raise InsufficientFunds(
                    detail={
                        "asset": account.asset,
                        "account": account.kind,
                        "available": str(account.balance),
                        "required": str(-delta),
                    }
                )
            account.balance = new_balance

        try:
            # A savepoint, so that losing the race for the key (same key, other accounts) leaves
            # the outer transaction usable for reading the winner.
            with transaction.atomic():
                posted = LedgerTransaction.objects.create(
                    kind=kind,
                    memo=memo[:255],
                    idempotency_key=idempotency_key,
                    fingerprint=fingerprint,
                    reference=reference,
                    party=party,
                    reverses=reverses,
                )
        except IntegrityError:
            existing = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).first()
            if existing is None:
                raise  # another constraint failed (e.g. a second reversal of one transaction)
            return _replay(existing, fingerprint, idempotency_key)

        LedgerEntry.objects.bulk_create(
            LedgerEntry(
                transaction=posted, account_id=leg.account.pk, asset=leg.account.asset, amount=leg.amount
            )
            for leg in legs
        )
        now = timezone.now()
        for account in locked.values():
            account.updated_at = now
        LedgerAccount.objects.bulk_update(list(locked.values()), ["balance", "updated_at"])
    return Posted(transaction=posted, created=True)


def transaction_reverse(
    *, original: LedgerTransaction, memo: str = "", idempotency_key: str | None = None
) -> Posted:
    """Undo a posted transaction with its exact negation (posted rows are never edited).

    A transaction is reversed at most once; raises `InsufficientFunds` if the money has since
    been spent from a non-overdraft account.
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
