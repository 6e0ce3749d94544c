"""`manage.py ledger_check`: totals on a healthy ledger, and every kind of corruption reported with exit 1.

Corruption is written with raw SQL. Account rows are mutable, so a wrong cached balance can be
written on both databases and is restored at the end of the test. Unbalanced or short transactions
and mismatched entry assets can only be committed on SQLite (PostgreSQL's deferred triggers refuse
them; that refusal is checked here too, forced with SET CONSTRAINTS ALL IMMEDIATE). The autouse
ledger check runs after the test body and before the rollback, so each test repairs what it broke.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tests.tokenomics.factories import funded_wallet
from tokenomics.models import LedgerAccount, LedgerEntry, LedgerTransaction
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.money import agr
from tokenomics.services.escrow import escrow_hold, escrow_release
from tokenomics.services.ledger_accounts import system_account_get_or_create

pytestmark = pytest.mark.django_db

SQLITE = connection.vendor == "sqlite"


def run_check() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("ledger_check", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing_check() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("ledger_check", stdout=out, stderr=err)
    assert excinfo.value.returncode == 1
    assert "violations" in str(excinfo.value)
    assert "Ledger OK" not in out.getvalue()
    return out.getvalue(), err.getvalue()


def _db_int(value: int) -> object:
    return str(value) if SQLITE else value


def set_cached_balance(account: LedgerAccount, value: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tokenomics_ledgeraccount SET balance = %s WHERE id = %s", [_db_int(value), account.pk]
        )


@contextmanager
def cached_balance(account: LedgerAccount, value: int) -> Iterator[None]:
    """Write a wrong cached balance for the block, then put the right one back."""
    right = LedgerAccount.objects.get(pk=account.pk).balance
    set_cached_balance(account, value)
    try:
        yield
    finally:
        set_cached_balance(account, right)


@contextmanager
def raw_transaction(entries: Sequence[tuple[LedgerAccount, str, int]]) -> Iterator[int]:
    """SQLite only: commit a transaction row and its entries (account, asset, amount) behind the
    service's back, and delete them again afterwards (SQLite has no immutability triggers)."""
    assert SQLITE
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tokenomics_ledgertransaction "
            "(kind, memo, idempotency_key, fingerprint, reference, posted_at) "
            "VALUES (%s, 'raw', %s, '', '', %s) RETURNING id",
            [TransactionKind.TRANSFER, f"raw-{len(entries)}-{timezone.now().timestamp()}", timezone.now()],
        )
        tx_id = cursor.fetchone()[0]
        for account, asset, amount in entries:
            cursor.execute(
                "INSERT INTO tokenomics_ledgerentry (transaction_id, account_id, asset, amount) "
                "VALUES (%s, %s, %s, %s)",
                [tx_id, account.pk, asset, str(amount)],
            )
    try:
        yield tx_id
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM tokenomics_ledgerentry WHERE transaction_id = %s", [tx_id])
            cursor.execute("DELETE FROM tokenomics_ledgertransaction WHERE id = %s", [tx_id])


def assert_postgresql_refuses(entries: Sequence[tuple[LedgerAccount, str, int]]) -> None:
    """PostgreSQL: the same rows cannot even be committed; the deferred triggers, forced to run now,
    refuse them and the savepoint rolls them back."""
    assert not SQLITE
    before = (LedgerTransaction.objects.count(), LedgerEntry.objects.count())

    def write_and_check_now() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            _write(cursor)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    def _write(cursor) -> None:
        cursor.execute(
            "INSERT INTO tokenomics_ledgertransaction "
            "(kind, memo, idempotency_key, fingerprint, reference, posted_at) "
            "VALUES (%s, 'raw', 'raw-pg', '', '', %s) RETURNING id",
            [TransactionKind.TRANSFER, timezone.now()],
        )
        tx_id = cursor.fetchone()[0]
        for account, asset, amount in entries:
            cursor.execute(
                "INSERT INTO tokenomics_ledgerentry (transaction_id, account_id, asset, amount) "
                "VALUES (%s, %s, %s, %s)",
                [tx_id, account.pk, asset, amount],
            )

    with pytest.raises(IntegrityError):
        write_and_check_now()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    assert (LedgerTransaction.objects.count(), LedgerEntry.objects.count()) == before


# --------------------------------------------------------------------------- healthy ledger


def test_empty_ledger_is_ok() -> None:
    out, err = run_check()
    assert "0 transactions, 0 entries" in out
    assert "USD: trial balance 0 (must be 0)" in out
    assert "AGR: trial balance 0 (must be 0)" in out
    assert "Ledger OK" in out
    assert err == ""


def test_healthy_ledger_prints_totals_and_succeeds(user, other_user) -> None:
    wallet = funded_wallet(user=user, amount=12_345)
    funded_wallet(user=user, amount=agr(2) + 5, asset="AGR")
    escrow = escrow_hold(
        reference="order:ok", creator=other_user, source_account=wallet, amount=10_000, payer=user
    )
    escrow_release(escrow_id=escrow.pk)
    transactions = LedgerTransaction.objects.count()
    entries = LedgerEntry.objects.count()
    accounts = LedgerAccount.objects.count()

    out, err = run_check()

    assert f"{transactions} transactions, {entries} entries, {accounts} accounts" in out
    # USD volume: top-up 123.45 + hold 100.00 + release 100.00 (every positive entry).
    assert "USD: trial balance 0 (must be 0); volume $323.45; held by users $103.45" in out
    # Held by users: the buyer's 23.45 left in the wallet plus the creator's 80.00 payable.
    assert "AGR: trial balance 0 (must be 0); volume 2.000000000000000005 AGR; " in out
    assert "held by users 2.000000000000000005 AGR" in out
    assert "Ledger OK: every invariant holds." in out
    assert err == ""


# --------------------------------------------------------------------------- cached balances (both databases)


def test_cached_balance_mismatch_is_reported_with_the_account(user) -> None:
    wallet = funded_wallet(user=user, amount=1_000)

    with cached_balance(wallet, 1_001):
        out, err = run_failing_check()

    assert "1 accounts whose cached balance differs from their entries" in err
    assert f"{wallet.pk} (cached 1001, entries 1000)" in err
    assert "checked in" in out
    # Restored: the check passes again.
    assert "Ledger OK" in run_check()[0]


def test_huge_cached_balance_mismatch_is_reported_exactly(user) -> None:
    wallet = funded_wallet(user=user, amount=agr(10**9), asset="AGR")

    with cached_balance(wallet, agr(10**9) + 1):
        _, err = run_failing_check()

    assert f"{wallet.pk} (cached {agr(10**9) + 1}, entries {agr(10**9)})" in err


def test_a_cached_balance_written_on_a_platform_account_is_reported(user) -> None:
    # Platform accounts keep no cached balance (their balance is Σ entries), so the column must stay
    # 0: anything written there, even the right sum, was written behind the posting service's back.
    funded_wallet(user=user, amount=500)
    stripe = system_account_get_or_create(kind=AccountKind.EXTERNAL_STRIPE, asset="USD")

    with cached_balance(stripe, -500):
        _, err = run_failing_check()

    assert f"{stripe.pk} (cached -500, entries -500)" in err


def test_an_account_with_a_balance_but_no_entries_is_reported(user) -> None:
    treasury = system_account_get_or_create(kind=AccountKind.TREASURY, asset="USD")

    with cached_balance(treasury, 77):
        _, err = run_failing_check()

    assert f"{treasury.pk} (cached 77, entries 0)" in err


def test_many_mismatches_are_listed_with_a_count(user) -> None:
    from tests.accounts.factories import UserFactory

    wallets = [funded_wallet(user=UserFactory(), amount=10) for _ in range(22)]
    try:
        for wallet in wallets:
            set_cached_balance(wallet, 11)
        _, err = run_failing_check()
    finally:
        for wallet in wallets:
            set_cached_balance(wallet, 10)

    assert "22 accounts whose cached balance differs from their entries" in err
    assert "… and 2 more" in err


# --------------------------------------------------------------------------- negative user balances


def test_a_negative_user_balance_is_reported_or_refused(user) -> None:
    wallet = funded_wallet(user=user, amount=100)
    stripe = system_account_get_or_create(kind=AccountKind.EXTERNAL_STRIPE, asset="USD")

    if not SQLITE:
        # PostgreSQL: the CHECK constraint refuses a negative cached balance, and the deferred
        # triggers are not what stops a balanced spend past zero, so only the CHECK is tested here.
        with pytest.raises(IntegrityError), transaction.atomic():
            set_cached_balance(wallet, -1)
        assert LedgerAccount.objects.get(pk=wallet.pk).balance == 100
        assert "Ledger OK" in run_check()[0]
        return

    # SQLite enforces the same CHECK ...
    with pytest.raises(IntegrityError), transaction.atomic():
        set_cached_balance(wallet, -1)
    # ... so a spend of 150 is committed raw, with the cached balances left alone: the entries
    # now sum to -50 on the wallet.
    with raw_transaction([(wallet, "USD", -150), (stripe, "USD", 150)]):
        _, err = run_failing_check()

    assert f"1 accounts below zero that may not be: {wallet.pk}" in err
    assert f"{wallet.pk} (cached 100, entries -50)" in err


def test_a_negative_cached_balance_is_reported(user) -> None:
    wallet = funded_wallet(user=user, amount=100)
    if not SQLITE:
        # PostgreSQL has no way around its CHECK constraint, even for the ORM.
        with pytest.raises(IntegrityError), transaction.atomic():
            LedgerAccount.objects.filter(pk=wallet.pk).update(balance=-1)
        assert "Ledger OK" in run_check()[0]
        return

    # SQLite can be told to skip CHECK constraints: the state a bug or a hand edit could leave.
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA ignore_check_constraints = ON")
    try:
        with cached_balance(wallet, -1):
            assert LedgerAccount.objects.get(pk=wallet.pk).balance == -1
            _, err = run_failing_check()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA ignore_check_constraints = OFF")

    assert f"1 accounts below zero that may not be: {wallet.pk}" in err
    assert f"{wallet.pk} (cached -1, entries 100)" in err


# --------------------------------------------------------------------------- malformed transactions


def test_an_unbalanced_transaction_is_reported(user) -> None:
    wallet = funded_wallet(user=user, amount=1_000)
    stripe = system_account_get_or_create(kind=AccountKind.EXTERNAL_STRIPE, asset="USD")
    entries = [(wallet, "USD", -300), (stripe, "USD", 299)]

    if not SQLITE:
        assert_postgresql_refuses(entries)
        assert "Ledger OK" in run_check()[0]
        return

    with raw_transaction(entries) as tx_id, cached_balance(wallet, 700), cached_balance(stripe, -701):
        _, err = run_failing_check()

    assert "1 assets whose entries do not sum to zero: USD" in err
    assert f"1 unbalanced transactions: {tx_id}" in err
    assert "accounts whose cached balance differs" not in err  # the balances were kept right
    assert "Ledger OK" in run_check()[0]


def test_a_transaction_balanced_overall_but_not_per_asset_is_reported(user) -> None:
    wallet = funded_wallet(user=user, amount=1_000)
    chain = system_account_get_or_create(kind=AccountKind.EXTERNAL_CHAIN, asset="AGR")
    entries = [(wallet, "USD", -100), (chain, "AGR", 100)]

    if not SQLITE:
        assert_postgresql_refuses(entries)
        return

    with raw_transaction(entries) as tx_id, cached_balance(wallet, 900), cached_balance(chain, 100):
        _, err = run_failing_check()

    assert "2 assets whose entries do not sum to zero: USD, AGR" in err
    assert f"1 unbalanced transactions: {tx_id}" in err


def test_transactions_with_fewer_than_two_entries_are_reported(user) -> None:
    funded_wallet(user=user, amount=1_000)

    if not SQLITE:
        assert_postgresql_refuses([])
        return

    with raw_transaction([]) as empty_id:
        _, err = run_failing_check()

    assert f"1 transactions with fewer than two entries: {empty_id}" in err
    assert "unbalanced" not in err


def test_an_entry_in_another_asset_than_its_account_is_reported(user) -> None:
    wallet = funded_wallet(user=user, amount=1_000)  # a USD wallet
    chain = system_account_get_or_create(kind=AccountKind.EXTERNAL_CHAIN, asset="AGR")
    entries = [(wallet, "AGR", 5), (chain, "AGR", -5)]

    if not SQLITE:
        assert_postgresql_refuses(entries)
        return

    with raw_transaction(entries), cached_balance(wallet, 1_005), cached_balance(chain, -5):
        _, err = run_failing_check()
        mismatched = LedgerEntry.objects.get(account=wallet, asset="AGR").pk

    assert f"1 entries in another asset than their account: {mismatched}" in err
