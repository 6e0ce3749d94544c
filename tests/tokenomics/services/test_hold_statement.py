"""An escrow hold from a user's wallet is one PostgreSQL statement (`hold_statement`), and writes
exactly what the general path (`transaction_post`, then the escrow row) writes; whenever the
statement writes nothing, the general path answers as it always has."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from tests.accounts.factories import UserFactory
from tests.tokenomics.concurrency.threads import race
from tests.tokenomics.factories import funded_wallet
from tokenomics.errors import IdempotencyConflict, InsufficientFunds
from tokenomics.models import Escrow, LedgerAccount, LedgerEntry, LedgerTransaction
from tokenomics.models.ledger import AccountKind
from tokenomics.selectors.ledger import account_balance
from tokenomics.selectors.parameters import parameter_get
from tokenomics.services import hold_statement
from tokenomics.services.escrow import escrow_hold, escrow_release
from tokenomics.services.ledger_accounts import system_account_get_or_create

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def cold(monkeypatch: pytest.MonkeyPatch) -> dict[str, LedgerAccount]:
    """The process has seen no escrow account yet: the first hold takes the general path."""
    seen: dict[str, LedgerAccount] = {}
    monkeypatch.setattr(hold_statement, "_escrow_accounts", seen)
    return seen


def _hold(wallet: LedgerAccount, creator: User, reference: str, amount: int = 1_000, **extra: Any) -> Escrow:
    return escrow_hold(
        reference=reference,
        creator=creator,
        source_account=wallet,
        amount=amount,
        payer=wallet.owner,
        **extra,
    )


def _written(escrow: Escrow) -> dict[str, Any]:
    """What a hold wrote, less what differs between two holds (ids, the reference, timestamps)."""
    row = Escrow.objects.get(pk=escrow.pk)
    tx = LedgerTransaction.objects.get(pk=row.hold_transaction_id)
    entries = list(
        LedgerEntry.objects.filter(transaction=tx).order_by("pk").values_list("account_id", "asset", "amount")
    )
    return {
        "escrow": (
            row.asset,
            row.amount,
            row.payer_id,
            row.creator_id,
            row.source_account_id,
            row.state,
            row.frozen,
            row.refunded_amount,
            row.release_transaction_id,
            row.resolved_at,
            round((row.release_after - tx.posted_at).total_seconds()),
        ),
        "transaction": (tx.kind, tx.memo.replace(escrow.reference, "REF"), tx.party_id, tx.reverses_id),
        "entries": entries,
    }


@pytest.mark.django_db
def test_a_warm_hold_is_one_statement_and_writes_what_the_general_path_writes(
    cold: dict[str, LedgerAccount],
) -> None:
    buyer, creator = UserFactory(), UserFactory()
    wallet = funded_wallet(user=buyer, amount=10_000)

    with CaptureQueriesContext(connection) as general:
        first = _hold(wallet, creator, "order:general")
    assert len(general) > 1
    escrow_account = system_account_get_or_create(kind=AccountKind.ESCROW, asset="USD")
    assert list(cold) == ["USD"]
    assert cold["USD"].pk == escrow_account.pk

    with CaptureQueriesContext(connection) as fast:
        second = _hold(wallet, creator, "order:fast")
    assert len(fast) == 1, fast
    assert _written(second) == _written(first)
    assert second.release_after == Escrow.objects.get(pk=second.pk).release_after
    assert second.hold_transaction_id == Escrow.objects.get(pk=second.pk).hold_transaction_id
    wallet.refresh_from_db()
    assert wallet.balance == 8_000 == account_balance(account=wallet)


@pytest.mark.django_db
def test_the_statement_fingerprint_is_the_general_paths(cold: dict[str, LedgerAccount]) -> None:
    """A replay through the general path compares fingerprints: a hold the statement wrote is
    recognised as the same posting, not refused as a conflict."""
    buyer, creator = UserFactory(), UserFactory()
    wallet = funded_wallet(user=buyer, amount=10_000)
    _hold(wallet, creator, "order:warm-up")
    fast = _hold(wallet, creator, "order:1")
    cold.clear()  # the next call takes the general path, and finds the first posting there
    with CaptureQueriesContext(connection) as sent:
        again = _hold(wallet, creator, "order:1")
    assert len(sent) > 1
    assert again.pk == fast.pk
    with pytest.raises(IdempotencyConflict):
        _hold(wallet, creator, "order:1", amount=999)
    wallet.refresh_from_db()
    assert wallet.balance == 8_000


@pytest.mark.django_db
def test_when_the_statement_writes_nothing_the_general_path_answers() -> None:
    buyer, creator = UserFactory(), UserFactory()
    wallet = funded_wallet(user=buyer, amount=2_500)
    _hold(wallet, creator, "order:warm-up")  # 1,500 left, and the escrow account known
    before = (LedgerTransaction.objects.count(), LedgerEntry.objects.count(), Escrow.objects.count())

    with pytest.raises(InsufficientFunds) as refused:
        _hold(wallet, creator, "order:too-much", amount=1_501)
    assert refused.value.detail["available"] == "1500"
    assert (LedgerTransaction.objects.count(), LedgerEntry.objects.count(), Escrow.objects.count()) == before

    replay = _hold(wallet, creator, "order:warm-up")
    assert replay.reference == "order:warm-up"
    assert Escrow.objects.count() == before[2]
    with pytest.raises(IdempotencyConflict):
        _hold(wallet, creator, "order:warm-up", amount=7)

    # A stale escrow account (a rolled-back database), or another platform account under its id, is
    # refused by the statement itself, and the general path finds the real one.
    treasury = system_account_get_or_create(kind=AccountKind.TREASURY, asset="USD")
    for stale_id in (10**12, treasury.pk):
        hold_statement._escrow_accounts["USD"] = LedgerAccount(
            pk=stale_id, kind=AccountKind.ESCROW, asset="USD"
        )
        held = _hold(wallet, creator, f"order:after-stale-{stale_id}", amount=250)
        assert held.hold_transaction.entries.filter(account__kind=AccountKind.ESCROW).exists()
    assert not treasury.entries.exists()
    wallet.refresh_from_db()
    assert wallet.balance == 1_000 == account_balance(account=wallet)


@pytest.mark.django_db
def test_given_dates_and_windows_are_kept() -> None:
    buyer, creator = UserFactory(), UserFactory()
    wallet = funded_wallet(user=buyer, amount=10_000)
    _hold(wallet, creator, "order:warm-up")
    earlier = timezone.now() - timedelta(days=3)
    period_end = timezone.now() + timedelta(days=30)
    with CaptureQueriesContext(connection) as sent:
        dated = _hold(wallet, creator, "order:dated", at=earlier)
        subscription = _hold(wallet, creator, "order:period", release_after=period_end)
    assert len(sent) == 2
    dated_tx = LedgerTransaction.objects.get(pk=Escrow.objects.get(pk=dated.pk).hold_transaction_id)
    assert dated_tx.posted_at == earlier
    window = Escrow.objects.get(pk=dated.pk).release_after - earlier
    assert window == timedelta(seconds=parameter_get("escrow.refund_window_seconds"))
    assert Escrow.objects.get(pk=subscription.pk).release_after == period_end
    escrow_release(escrow_id=dated.pk)  # a row the statement wrote resolves like any other


@pytest.mark.django_db(transaction=True)
def test_concurrent_holds_from_one_wallet_never_overdraw_it() -> None:
    buyer, creator = UserFactory(), UserFactory()
    wallet = funded_wallet(user=buyer, amount=10 * 100 + 50)
    escrow_hold(reference="race:warm-up", creator=creator, source_account=wallet, amount=50)
    outcomes = [
        outcome.named("held", refused=InsufficientFunds)
        for outcome in race(
            16,
            lambda n: escrow_hold(reference=f"race:{n}", creator=creator, source_account=wallet, amount=100),
        )
    ]
    assert sorted(outcomes) == ["held"] * 10 + ["refused"] * 6
    wallet.refresh_from_db()
    assert wallet.balance == 0 == account_balance(account=wallet)
    assert Escrow.objects.filter(reference__startswith="race:").count() == 11
