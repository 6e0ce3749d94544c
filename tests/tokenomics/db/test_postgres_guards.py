"""PostgreSQL's own ledger guards (migration 0002), tested by going around the posting service.

L1: a deferred constraint trigger rejects at COMMIT every transaction whose entries do not sum to
zero per asset, that has fewer than two entries, or whose entry asset is not its account's —
however the rows were written. ≥1,000 Hypothesis-generated raw inserts, each really committed.
L5: posted entries, transactions and parameter history refuse UPDATE and DELETE, through the ORM
and raw SQL.

The triggers fire only on COMMIT, so these tests run outside the per-test transaction
(`transaction=True`), like hordak's `TransactionTestCase` tests.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tokenomics.factories import funded_wallet
from tokenomics.models import LedgerAccount, LedgerEntry, LedgerTransaction, Parameter, ParameterChange
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.services.ledger import Leg, transaction_post
from tokenomics.services.ledger_accounts import system_account_get_or_create, user_account_get_or_create
from tokenomics.services.parameters import parameter_set

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

_keys = itertools.count()


def _insert_transaction(cursor, *, kind: str = TransactionKind.TRANSFER) -> int:
    cursor.execute(
        "INSERT INTO tokenomics_ledgertransaction "
        "(kind, memo, idempotency_key, fingerprint, reference, posted_at) "
        "VALUES (%s, '', %s, '', '', %s) RETURNING id",
        [kind, f"raw-{next(_keys)}", timezone.now()],
    )
    return cursor.fetchone()[0]


def _insert_entries(cursor, tx_id: int, entries: Sequence[tuple[int, str, int]]) -> None:
    """entries: (account id, asset, amount)."""
    if entries:
        cursor.executemany(
            "INSERT INTO tokenomics_ledgerentry (transaction_id, account_id, asset, amount) "
            "VALUES (%s, %s, %s, %s)",
            [(tx_id, account_id, asset, amount) for account_id, asset, amount in entries],
        )


def _commit_raw(entries: Sequence[tuple[int, str, int]]) -> int:
    with transaction.atomic(), connection.cursor() as cursor:
        tx_id = _insert_transaction(cursor)
        _insert_entries(cursor, tx_id, entries)
    return tx_id


def _counts() -> tuple[int, int]:
    return LedgerTransaction.objects.count(), LedgerEntry.objects.count()


@pytest.fixture
def accounts(user) -> dict[str, LedgerAccount]:
    return {
        "stripe": system_account_get_or_create(kind=AccountKind.EXTERNAL_STRIPE, asset="USD"),
        "usd_promotions": system_account_get_or_create(kind=AccountKind.PROMOTIONS, asset="USD"),
        "chain": system_account_get_or_create(kind=AccountKind.EXTERNAL_CHAIN, asset="AGR"),
        "agr_promotions": system_account_get_or_create(kind=AccountKind.PROMOTIONS, asset="AGR"),
        "wallet": user_account_get_or_create(user=user, kind=AccountKind.WALLET, asset="USD"),
        "agr_wallet": user_account_get_or_create(user=user, kind=AccountKind.WALLET, asset="AGR"),
    }


# --------------------------------------------------------------------------- L1 through raw SQL


def test_balanced_raw_insert_commits(accounts) -> None:
    stripe, wallet = accounts["stripe"], accounts["wallet"]
    before = _counts()

    with transaction.atomic(), connection.cursor() as cursor:
        tx_id = _insert_transaction(cursor, kind=TransactionKind.DEPOSIT)
        _insert_entries(cursor, tx_id, [(stripe.pk, "USD", -300), (wallet.pk, "USD", 300)])
        # Keep the wallet's cached balance right too, so the ledger still verifies after the test
        # (the platform's accounts keep none: their balance is Σ entries).
        cursor.execute(
            "UPDATE tokenomics_ledgeraccount SET balance = balance + 300 WHERE id = %s", [wallet.pk]
        )

    assert _counts() == (before[0] + 1, before[1] + 2)
    assert sorted(LedgerEntry.objects.filter(transaction_id=tx_id).values_list("amount", flat=True)) == [
        -300,
        300,
    ]


def test_service_postings_commit(accounts) -> None:
    posted = transaction_post(
        kind=TransactionKind.DEPOSIT,
        legs=[Leg(accounts["chain"], -(10**30)), Leg(accounts["agr_wallet"], 10**30)],
        idempotency_key="committed-through-the-service",
    )
    assert LedgerTransaction.objects.filter(pk=posted.transaction.pk).exists()


def test_unbalanced_raw_insert_is_rejected_at_commit(accounts) -> None:
    stripe, wallet = accounts["stripe"], accounts["wallet"]
    before = _counts()
    reached_commit = False

    def write() -> None:
        nonlocal reached_commit
        with transaction.atomic(), connection.cursor() as cursor:
            tx_id = _insert_transaction(cursor)
            _insert_entries(cursor, tx_id, [(stripe.pk, "USD", -300), (wallet.pk, "USD", 299)])
            # Nothing complains before COMMIT: the trigger is deferred.
            reached_commit = True

    with pytest.raises(IntegrityError, match="does not balance"):
        write()

    assert reached_commit
    assert _counts() == before


def test_transaction_without_entries_is_rejected(accounts) -> None:
    before = _counts()
    with pytest.raises(IntegrityError, match="at least two are needed"):
        _commit_raw([])
    assert _counts() == before


def test_transaction_with_one_entry_is_rejected(accounts) -> None:
    before = _counts()
    with pytest.raises(IntegrityError):
        _commit_raw([(accounts["stripe"].pk, "USD", 1)])
    assert _counts() == before


def test_entry_in_another_asset_than_its_account_is_rejected(accounts) -> None:
    # Balanced per entry asset (AGR), but the first entry sits on the USD wallet.
    before = _counts()
    with pytest.raises(IntegrityError, match="its account is not"):
        _commit_raw([(accounts["wallet"].pk, "AGR", 5), (accounts["chain"].pk, "AGR", -5)])
    assert _counts() == before


def test_cross_asset_cancellation_is_rejected(accounts) -> None:
    before = _counts()
    with pytest.raises(IntegrityError, match="does not balance"):
        _commit_raw([(accounts["stripe"].pk, "USD", -100), (accounts["agr_wallet"].pk, "AGR", 100)])
    assert _counts() == before


def test_entries_appended_later_to_a_committed_transaction_are_rejected(accounts) -> None:
    posted = transaction_post(
        kind=TransactionKind.DEPOSIT,
        legs=[Leg(accounts["stripe"], -10), Leg(accounts["wallet"], 10)],
        idempotency_key="append-target",
    ).transaction
    before = _counts()

    with (
        pytest.raises(IntegrityError, match="does not balance"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        _insert_entries(cursor, posted.pk, [(accounts["usd_promotions"].pk, "USD", -7)])

    assert _counts() == before


def test_zero_amount_entry_is_rejected_by_its_check(accounts) -> None:
    before = _counts()
    with pytest.raises(IntegrityError):
        _commit_raw(
            [
                (accounts["stripe"].pk, "USD", -5),
                (accounts["wallet"].pk, "USD", 5),
                (accounts["chain"].pk, "AGR", 0),
            ]
        )
    assert _counts() == before


RAW_ACCOUNTS = ["stripe", "usd_promotions", "wallet", "chain", "agr_promotions", "agr_wallet"]
ASSET_OF = {
    "stripe": "USD",
    "usd_promotions": "USD",
    "wallet": "USD",
    "chain": "AGR",
    "agr_promotions": "AGR",
    "agr_wallet": "AGR",
}


@st.composite
def unbalanced_entries(draw: st.DrawFn) -> list[tuple[str, int]]:
    """(account name, amount) entries, nonzero, whose per-asset sums are not all zero."""
    names = st.sampled_from(RAW_ACCOUNTS)
    amount = st.integers(min_value=-(10**30), max_value=10**30).filter(bool)
    entries = draw(st.lists(st.tuples(names, amount), min_size=0, max_size=6))
    mode = draw(st.sampled_from(["random", "one_off", "cross"]))
    if mode != "random":
        sums: dict[str, int] = defaultdict(int)
        for name, value in entries:
            sums[ASSET_OF[name]] += value
        for asset, total in sums.items():
            if total:
                closing = draw(st.sampled_from([n for n in RAW_ACCOUNTS if ASSET_OF[n] == asset]))
                entries.append((closing, -total))
        off = draw(st.integers(min_value=1, max_value=10**30)) * draw(st.sampled_from([1, -1]))
        usd = draw(st.sampled_from([n for n in RAW_ACCOUNTS if ASSET_OF[n] == "USD"]))
        agr_name = draw(st.sampled_from([n for n in RAW_ACCOUNTS if ASSET_OF[n] == "AGR"]))
        if mode == "one_off":
            entries.append((draw(st.sampled_from([usd, agr_name])), off))
        else:
            entries.extend([(usd, off), (agr_name, -off)])
    return draw(st.permutations(entries))


def _balanced(entries: list[tuple[str, int]]) -> bool:
    sums: dict[str, int] = defaultdict(int)
    for name, value in entries:
        sums[ASSET_OF[name]] += value
    return len(entries) >= 2 and not any(sums.values())


def test_l1_a_thousand_generated_unbalanced_raw_inserts_are_all_rejected_at_commit(accounts) -> None:
    ids = {name: account.pk for name, account in accounts.items()}
    before = _counts()
    rejected: list[int] = []

    @settings(
        max_examples=1000,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(entries=unbalanced_entries())
    def commit(entries: list[tuple[str, int]]) -> None:
        assert not _balanced(entries)
        with pytest.raises(IntegrityError, match=r"does not balance|at least two are needed"):
            _commit_raw([(ids[name], ASSET_OF[name], value) for name, value in entries])
        rejected.append(1)

    commit()

    assert len(rejected) >= 1000
    assert _counts() == before


# --------------------------------------------------------------------------- L5: immutability


@pytest.fixture
def posted(user) -> LedgerTransaction:
    funded_wallet(user=user, amount=5_000)
    return LedgerTransaction.objects.get(kind=TransactionKind.DEPOSIT)


def _row(model: type, pk: int) -> dict[str, object]:
    return model.objects.filter(pk=pk).values().get()


def _refused(action) -> DatabaseError:
    with pytest.raises(DatabaseError) as excinfo, transaction.atomic():
        action()
    return excinfo.value


def _assert_trigger(error: DatabaseError) -> None:
    assert "immutable" in str(error)
    assert getattr(error.__cause__, "sqlstate", None) == "55000"


def test_entries_refuse_update_and_delete(posted) -> None:
    entry = posted.entries.order_by("pk").first()
    before = _row(LedgerEntry, entry.pk)

    def save() -> None:
        entry.amount = entry.amount + 1
        entry.save()

    def raw_update() -> None:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE tokenomics_ledgerentry SET amount = amount * 2 WHERE id = %s", [entry.pk])

    def raw_delete() -> None:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM tokenomics_ledgerentry WHERE id = %s", [entry.pk])

    for action in [
        lambda: LedgerEntry.objects.filter(pk=entry.pk).update(amount=1),
        lambda: LedgerEntry.objects.filter(pk=entry.pk).delete(),
        save,
        lambda: LedgerEntry.objects.get(pk=entry.pk).delete(),
        raw_update,
        raw_delete,
    ]:
        _assert_trigger(_refused(action))
        assert _row(LedgerEntry, entry.pk) == before
    assert posted.entries.count() == 2


def test_transactions_refuse_update_and_delete(posted) -> None:
    before = _row(LedgerTransaction, posted.pk)

    def save() -> None:
        tx = LedgerTransaction.objects.get(pk=posted.pk)
        tx.memo = "edited"
        tx.save()

    def raw(sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, [posted.pk])

    for action in [
        lambda: LedgerTransaction.objects.filter(pk=posted.pk).update(memo="edited"),
        lambda: LedgerTransaction.objects.filter(pk=posted.pk).update(idempotency_key="stolen"),
        save,
        lambda: raw("UPDATE tokenomics_ledgertransaction SET reference = 'x' WHERE id = %s"),
        lambda: raw("DELETE FROM tokenomics_ledgertransaction WHERE id = %s"),
    ]:
        _assert_trigger(_refused(action))
        assert _row(LedgerTransaction, posted.pk) == before

    # The ORM's delete stops even earlier, at the PROTECT foreign key from the entries.
    _refused(lambda: LedgerTransaction.objects.get(pk=posted.pk).delete())
    assert _row(LedgerTransaction, posted.pk) == before


def test_transaction_delete_is_refused_by_the_trigger_even_without_entries_in_the_way(posted) -> None:
    # Defer the entries' foreign keys: only the trigger can refuse a DELETE of the transaction row now.
    def delete_with_fk_deferred() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            cursor.execute("DELETE FROM tokenomics_ledgertransaction WHERE id = %s", [posted.pk])

    _assert_trigger(_refused(delete_with_fk_deferred))
    assert LedgerTransaction.objects.filter(pk=posted.pk).exists()


def test_parameter_history_refuses_update_and_delete(user) -> None:
    parameter_set(key="payout.minimum_cents", value=1_100, changed_by=user, reason="test")
    change = ParameterChange.objects.filter(parameter__key="payout.minimum_cents").order_by("-id").first()
    initial = ParameterChange.objects.filter(parameter__key="payout.minimum_cents").order_by("id").first()
    before = {pk: _row(ParameterChange, pk) for pk in (change.pk, initial.pk)}

    def save() -> None:
        row = ParameterChange.objects.get(pk=change.pk)
        row.new_value = 9_999
        row.save()

    def raw(sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, [change.pk])

    for action in [
        lambda: ParameterChange.objects.filter(pk=change.pk).update(reason="rewritten"),
        lambda: ParameterChange.objects.filter(pk=initial.pk).update(new_value=1),
        lambda: ParameterChange.objects.filter(pk=change.pk).delete(),
        lambda: ParameterChange.objects.get(pk=initial.pk).delete(),
        save,
        lambda: raw("UPDATE tokenomics_parameterchange SET changed_by_id = NULL WHERE id = %s"),
        lambda: raw("DELETE FROM tokenomics_parameterchange WHERE id = %s"),
    ]:
        _assert_trigger(_refused(action))
        assert {pk: _row(ParameterChange, pk) for pk in before} == before
    # The parameter row itself is mutable (governance changes it), only its history is not.
    assert Parameter.objects.get(key="payout.minimum_cents").value == 1_100


def test_account_rows_stay_mutable_for_cached_balances(posted) -> None:
    account = LedgerAccount.objects.filter(kind=AccountKind.WALLET).get()
    LedgerAccount.objects.filter(pk=account.pk).update(updated_at=timezone.now())
    assert LedgerAccount.objects.get(pk=account.pk).balance == 5_000


# --------------------------------------------------------------------------- CHECK: not overdrawn


def test_not_overdrawn_check_rejects_a_raw_update_below_zero(user) -> None:
    wallet = funded_wallet(user=user, amount=500)

    with (
        pytest.raises(IntegrityError, match="ledger_account_not_overdrawn"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE tokenomics_ledgeraccount SET balance = balance - 501 WHERE id = %s", [wallet.pk]
        )
    with pytest.raises(IntegrityError, match="ledger_account_not_overdrawn"), transaction.atomic():
        LedgerAccount.objects.filter(pk=wallet.pk).update(balance=-(10**70))

    assert LedgerAccount.objects.get(pk=wallet.pk).balance == 500


def test_an_account_with_entries_cannot_change_its_asset(accounts, other_user) -> None:
    """Migration 0002 promises that no entry is ever in another asset than its account, "however
    the rows were written". The check runs when an entry is inserted; rewriting the account's
    asset afterwards (account rows are otherwise mutable, for cached balances) must be refused too,
    or the per-asset invariant silently breaks."""
    # An account with no AGR sibling, so no unique constraint stands in the way of the switch.
    wallet = user_account_get_or_create(user=other_user, kind=AccountKind.CREATOR_PAYABLE, asset="USD")
    transaction_post(
        kind=TransactionKind.DEPOSIT,
        legs=[Leg(accounts["stripe"], -100), Leg(wallet, 100)],
        idempotency_key="asset-switch",
    )
    try:
        with pytest.raises(DatabaseError), transaction.atomic():
            LedgerAccount.objects.filter(pk=wallet.pk).update(asset="AGR")
    finally:
        # Put it back if it went through, so the ledger check after the test sees this failure only.
        if LedgerAccount.objects.filter(pk=wallet.pk, asset="AGR").exists():
            LedgerAccount.objects.filter(pk=wallet.pk).update(asset="USD")
    assert LedgerAccount.objects.get(pk=wallet.pk).asset == "USD"
