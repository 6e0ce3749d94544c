"""`transaction_post` writes the common case in one PostgreSQL statement (`posting_statement`); what
it cannot check in SQL, and whatever it does not write, goes through the general path. The rules
themselves (balances, replays, conflicts, refusals) are tested in test_ledger_posting.py, which
now runs through this statement wherever it applies."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.accounts.factories import UserFactory
from tests.tokenomics.concurrency.threads import race
from tests.tokenomics.factories import funded_wallet
from tokenomics.errors import InsufficientFunds
from tokenomics.models import LedgerEntry, LedgerTransaction
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.selectors.ledger import account_balance
from tokenomics.services.ledger import Leg, transaction_post, transaction_reverse
from tokenomics.services.ledger_accounts import system_account_get_or_create, user_account_get_or_create

pytestmark = [pytest.mark.postgres]


@pytest.mark.django_db
def test_a_transfer_is_one_statement_that_writes_entries_and_balances() -> None:
    payer = funded_wallet(user=UserFactory(), amount=1_000)
    payee = user_account_get_or_create(user=UserFactory(), kind=AccountKind.WALLET, asset="USD")
    with CaptureQueriesContext(connection) as sent:
        posted = transaction_post(
            kind=TransactionKind.TRANSFER, legs=[Leg(payer, -300), Leg(payee, 300)], idempotency_key="t-1"
        )
    assert len(sent) == 1
    assert posted.created
    stored = LedgerTransaction.objects.get(pk=posted.transaction.pk)
    assert (stored.kind, stored.idempotency_key, stored.fingerprint) == (
        "transfer",
        "t-1",
        posted.transaction.fingerprint,
    )
    assert sorted(
        LedgerEntry.objects.filter(transaction=stored).values_list("account_id", "amount")
    ) == sorted([(payer.pk, -300), (payee.pk, 300)])
    for account, expected in ((payer, 700), (payee, 300)):
        account.refresh_from_db()
        assert account.balance == expected == account_balance(account=account)


@pytest.mark.django_db
def test_a_checked_platform_debit_and_a_reversal_take_the_general_path() -> None:
    """The treasury's balance is Σ of its entries, summed under its lock; a reversal is checked to
    happen once. Neither is what the statement checks, so neither is sent to it."""
    stripe = system_account_get_or_create(kind=AccountKind.EXTERNAL_STRIPE, asset="USD")
    treasury = system_account_get_or_create(kind=AccountKind.TREASURY, asset="USD")
    transaction_post(
        kind=TransactionKind.TRANSFER, legs=[Leg(stripe, -500), Leg(treasury, 500)], idempotency_key="fund"
    )
    wallet = user_account_get_or_create(user=UserFactory(), kind=AccountKind.WALLET, asset="USD")
    with CaptureQueriesContext(connection) as debit:
        spend = transaction_post(
            kind=TransactionKind.TRANSFER,
            legs=[Leg(treasury, -200), Leg(wallet, 200)],
            idempotency_key="spend",
        )
    assert len(debit) > 1
    with pytest.raises(InsufficientFunds):
        transaction_post(
            kind=TransactionKind.TRANSFER,
            legs=[Leg(treasury, -301), Leg(wallet, 301)],
            idempotency_key="over",
        )
    assert account_balance(account=treasury) == 300
    with CaptureQueriesContext(connection) as reversal:
        transaction_reverse(original=spend.transaction)
    assert len(reversal) > 1
    assert account_balance(account=treasury) == 500
    wallet.refresh_from_db()
    assert wallet.balance == 0 == account_balance(account=wallet)


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_posting_is_one_round_trip_and_concurrent_payers_never_overdraw() -> None:
    payer = funded_wallet(user=UserFactory(), amount=10 * 100 + 40)
    payees = [
        user_account_get_or_create(user=UserFactory(), kind=AccountKind.WALLET, asset="USD")
        for _ in range(16)
    ]
    assert connection.get_autocommit()
    with CaptureQueriesContext(connection) as sent:
        transaction_post(
            kind=TransactionKind.TRANSFER, legs=[Leg(payer, -40), Leg(payees[0], 40)], idempotency_key="alone"
        )
    assert len(sent) == 1  # the statement is its own transaction (ledger_costs.py counts the round trips)

    outcomes = [
        outcome.named("paid", refused=InsufficientFunds)
        for outcome in race(
            len(payees),
            lambda n: transaction_post(
                kind=TransactionKind.TRANSFER,
                legs=[Leg(payer, -100), Leg(payees[n], 100)],
                idempotency_key=f"race-{n}",
            ),
        )
    ]
    assert sorted(outcomes) == ["paid"] * 10 + ["refused"] * 6
    payer.refresh_from_db()
    assert payer.balance == 0 == account_balance(account=payer)
    assert sum(account_balance(account=payee) for payee in payees) == 10 * 100 + 40
