"""Row locks for money, always taken in primary-key order so that two postings never deadlock."""

from __future__ import annotations

from collections.abc import Iterable

from tokenomics.models import Escrow, LedgerAccount


def accounts_lock(account_ids: Iterable[int]) -> dict[int, LedgerAccount]:
    """Lock the accounts (FOR UPDATE, ascending pk) and return them fresh from the database.

    On SQLite FOR UPDATE is a no-op; the IMMEDIATE transaction mode serialises writers instead.
    """
    ids = sorted(set(account_ids))
    locked = LedgerAccount.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    return {account.pk: account for account in locked}


def escrow_lock(escrow_id: int) -> Escrow:
    return Escrow.objects.select_for_update().get(pk=escrow_id)
