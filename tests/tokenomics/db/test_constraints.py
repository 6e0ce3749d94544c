"""Table constraints that hold on both databases (SQLite enforces CHECK and UNIQUE too)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tests.tokenomics.factories import funded_wallet
from tokenomics.models import Escrow, LedgerAccount, LedgerEntry, LedgerTransaction
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.selectors.ledger import account_balance
from tokenomics.services.escrow import escrow_hold
from tokenomics.services.ledger_accounts import system_account_get_or_create

pytestmark = pytest.mark.django_db


def _db_int(value: int) -> object:
    # SQLite keeps these columns as text (an int past 2**63 cannot even be bound); PostgreSQL numeric.
    return str(value) if connection.vendor == "sqlite" else value


def _raw(sql: str, params: list[object]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.parametrize("new_balance", [-1, -(2**63), -(10**77)], ids=["-1", "-2**63", "-10**77"])
def test_a_wallet_balance_cannot_be_written_below_zero(user, new_balance: int) -> None:
    wallet = funded_wallet(user=user, amount=500)

    with pytest.raises(IntegrityError):
        _raw(
            "UPDATE tokenomics_ledgeraccount SET balance = %s WHERE id = %s",
            [_db_int(new_balance), wallet.pk],
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.filter(pk=wallet.pk).update(balance=new_balance)

    assert LedgerAccount.objects.get(pk=wallet.pk).balance == 500


def test_a_non_overdraft_system_account_cannot_be_written_below_zero() -> None:
    treasury = system_account_get_or_create(kind=AccountKind.TREASURY, asset="USD")
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.filter(pk=treasury.pk).update(balance=-1)
    assert account_balance(account=treasury) == 0


def test_a_user_owned_account_cannot_allow_overdraft(user) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.create(owner=user, kind=AccountKind.WALLET, asset="USD", overdraft_allowed=True)
    assert not LedgerAccount.objects.filter(owner=user).exists()


def test_a_system_kind_cannot_have_an_owner(user) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.create(owner=user, kind=AccountKind.ESCROW, asset="USD")


def test_one_account_per_owner_kind_and_asset(user) -> None:
    LedgerAccount.objects.create(owner=user, kind=AccountKind.WALLET, asset="USD")
    system_account_get_or_create(kind=AccountKind.TREASURY, asset="USD")
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.create(owner=user, kind=AccountKind.WALLET, asset="USD")
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.create(owner=None, kind=AccountKind.TREASURY, asset="USD")
    assert LedgerAccount.objects.filter(kind=AccountKind.TREASURY).count() == 1


def test_an_unknown_asset_is_refused(user) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.create(owner=user, kind=AccountKind.WALLET, asset="EUR")


def test_a_zero_entry_is_refused_by_its_check(user) -> None:
    funded_wallet(user=user, amount=10)
    tx = LedgerTransaction.objects.get()
    account = LedgerAccount.objects.filter(kind=AccountKind.WALLET).get()
    before = LedgerEntry.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(transaction=tx, account=account, asset="USD", amount=0)
    assert LedgerEntry.objects.count() == before


def test_an_idempotency_key_is_unique(user) -> None:
    funded_wallet(user=user, amount=10)
    tx = LedgerTransaction.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerTransaction.objects.create(
            kind=TransactionKind.DEPOSIT, idempotency_key=tx.idempotency_key, fingerprint="x"
        )


def test_escrow_state_must_match_its_transactions(user, other_user) -> None:
    wallet = funded_wallet(user=user, amount=1_000)
    escrow = escrow_hold(
        reference="order:c1", creator=other_user, source_account=wallet, amount=1_000, payer=user
    )

    # RELEASED without a release transaction, or HELD with a resolution time, are refused.
    with pytest.raises(IntegrityError), transaction.atomic():
        Escrow.objects.filter(pk=escrow.pk).update(state=Escrow.State.RELEASED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Escrow.objects.filter(pk=escrow.pk).update(resolved_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        Escrow.objects.filter(pk=escrow.pk).update(amount=0)

    escrow.refresh_from_db()
    assert (escrow.state, escrow.resolved_at, escrow.amount) == (Escrow.State.HELD, None, 1_000)
