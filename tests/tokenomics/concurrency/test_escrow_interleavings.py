"""Chosen interleavings of escrow calls on PostgreSQL, forced every run instead of hit by chance.

One side holds its transaction open at a chosen point (a row lock taken, or a thread paused between
two statements of a service), the other side is started and observed waiting on the lock in
`pg_stat_activity`, then the first side goes on. Each test states the outcome the services'
contracts promise for that interleaving (L6: an escrow resolves once, and the batch job
`escrows_release_due` releases only what is held, unfrozen and due; ledger.py/locks.py: postings
take their row locks in primary-key order "so that two postings never deadlock").
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

import tokenomics.services.split_legs as split_legs
from tests.accounts.factories import UserFactory
from tests.tokenomics.concurrency.threads import (
    Outcome,
    PauseOnce,
    capture,
    in_own_connection,
    wait_until_blocked,
)
from tests.tokenomics.factories import funded_wallet
from tokenomics.models import Escrow, LedgerAccount, LedgerTransaction
from tokenomics.models.escrow import EscrowState
from tokenomics.models.ledger import AccountKind
from tokenomics.selectors.ledger import ledger_verify
from tokenomics.services.escrow import (
    escrow_hold,
    escrow_refund,
    escrow_release,
    escrow_set_frozen,
    escrows_release_due,
    sale_clawback,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

FAR_FUTURE = timezone.now() + timedelta(days=3650)
TIMEOUT = 30


def _held_escrow(reference: str) -> Escrow:
    buyer, creator = UserFactory(), UserFactory()
    wallet = funded_wallet(user=buyer, amount=10_000)
    return escrow_hold(reference=reference, creator=creator, source_account=wallet, amount=2_000, payer=buyer)


def _release_due_while_locked(lock_holder: Callable[[], Any]) -> Outcome:
    """Run escrows_release_due while this thread's open transaction (`lock_holder` ran in it) holds
    the escrow's row lock; the batch has listed the escrow as due and waits for the lock."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        with transaction.atomic():
            lock_holder()
            batch = pool.submit(
                in_own_connection(lambda: capture(lambda: escrows_release_due(now=FAR_FUTURE)))
            )
            wait_until_blocked(batch)
        return batch.result(timeout=TIMEOUT)


def test_release_due_skips_an_escrow_refunded_while_it_waited() -> None:
    escrow = _held_escrow("interleave:refund")

    batch = _release_due_while_locked(lambda: escrow_refund(escrow_id=escrow.pk))

    # The batch job must not fail (and stop releasing the rest) because a buyer's refund won.
    assert batch.ok, f"escrows_release_due raised {batch.error!r} for an escrow refunded while it waited"
    assert batch.value == 0
    escrow.refresh_from_db()
    assert escrow.state == EscrowState.REFUNDED
    assert ledger_verify().ok


def test_release_due_leaves_an_escrow_frozen_while_it_waited() -> None:
    escrow = _held_escrow("interleave:freeze")

    batch = _release_due_while_locked(lambda: escrow_set_frozen(escrow_id=escrow.pk, frozen=True))

    # A dispute opened (frozen) before the release took the lock keeps the money in escrow.
    escrow.refresh_from_db()
    assert (escrow.state, escrow.frozen) == (EscrowState.HELD, True), (
        f"escrows_release_due released a frozen escrow (returned {batch})"
    )
    assert batch.ok
    assert batch.value == 0


def test_release_due_counts_only_what_it_released() -> None:
    escrow = _held_escrow("interleave:release")

    batch = _release_due_while_locked(lambda: escrow_release(escrow_id=escrow.pk))

    # "returns how many it released": the escrow was released by the other caller, not by the batch.
    assert batch.ok, batch
    assert batch.value == 0, f"escrows_release_due counted {batch.value} escrow(s) another caller released"
    assert LedgerTransaction.objects.filter(reference="interleave:release", kind="sale").count() == 1


@pytest.fixture
def pause(monkeypatch: pytest.MonkeyPatch) -> PauseOnce:
    """Pauses an armed thread where it reads the creator's sale rates: in a partial refund, between
    the refund and the release of the rest. When the two postings locked separately, the refund had been
    posted there (escrow-account and payer rows locked) and the release's accounts were not locked."""
    pause = PauseOnce()
    original = split_legs.sale_rates_of

    def rates_then_pause(totals: Any) -> Any:
        pause.checkpoint()
        return original(totals)

    monkeypatch.setattr(split_legs, "sale_rates_of", rates_then_pause)
    return pause


def _partial_refund_racing(pause: PauseOnce, escrow: Escrow, competitor: Callable[[], Any]) -> list[Outcome]:
    """A partial refund of `escrow`, paused part way (see `pause`), while `competitor` runs until it
    waits for a lock or ends; then the refund goes on. Returns both outcomes."""

    def partial_refund() -> Outcome:
        pause.arm()
        return capture(lambda: escrow_refund(escrow_id=escrow.pk, amount=escrow.amount // 4))

    with ThreadPoolExecutor(max_workers=2) as pool:
        refund = pool.submit(in_own_connection(partial_refund))
        pause.wait_reached()
        other = pool.submit(in_own_connection(lambda: capture(competitor)))
        try:
            wait_until_blocked(other)
        finally:
            pause.resume()
        return [refund.result(timeout=TIMEOUT), other.result(timeout=TIMEOUT)]


def test_partial_refund_and_a_clawback_from_the_same_wallet_do_not_deadlock(pause: PauseOnce) -> None:
    creator, first_buyer = UserFactory(), UserFactory()
    first = escrow_hold(
        reference="interleave:first-sale",
        creator=creator,
        source_account=funded_wallet(user=first_buyer, amount=5_000),
        amount=1_000,
    )
    escrow_release(escrow_id=first.pk)  # the creator's payable exists from the first sale on
    buyer = UserFactory()  # a later customer: their wallet sorts after the creator's payable
    wallet = funded_wallet(user=buyer, amount=10_000)
    released = escrow_hold(
        reference="interleave:disputed", creator=creator, source_account=wallet, amount=2_000
    )
    escrow_release(escrow_id=released.pk)
    held = escrow_hold(reference="interleave:refunded", creator=creator, source_account=wallet, amount=4_000)
    payable = LedgerAccount.objects.get(owner=creator, kind=AccountKind.CREATOR_PAYABLE)
    assert payable.pk < wallet.pk  # the ordinary case, and the one that matters below

    # Locking each posting's accounts separately, the refund would hold (escrow account, wallet) and
    # then need the payable, while the clawback holds the payable (lower pk, so first) and needs the
    # wallet: a deadlock. Locking both postings' accounts up front, in pk order, cannot deadlock.
    refund, clawback = _partial_refund_racing(
        pause, held, lambda: sale_clawback(escrow_id=released.pk, amount=500, reason="upheld dispute")
    )

    assert refund.ok, f"partial refund: {refund}; clawback: {clawback}"
    assert clawback.ok, f"partial refund: {refund}; clawback: {clawback}"
    held.refresh_from_db()
    assert held.state == EscrowState.PARTIALLY_REFUNDED
    assert ledger_verify().ok


def test_partial_refund_and_a_new_creators_first_release_do_not_deadlock(pause: PauseOnce) -> None:
    # An earlier sale by someone else: the escrow and split accounts exist, the new creator's
    # payable does not until their first release.
    first = _held_escrow("interleave:earlier-sale")
    escrow_release(escrow_id=first.pk)
    creator, buyer = UserFactory(), UserFactory()
    wallet = funded_wallet(user=buyer, amount=10_000)
    one = escrow_hold(reference="interleave:new-1", creator=creator, source_account=wallet, amount=2_000)
    two = escrow_hold(reference="interleave:new-2", creator=creator, source_account=wallet, amount=4_000)
    assert not LedgerAccount.objects.filter(owner=creator, kind=AccountKind.CREATOR_PAYABLE).exists()

    # The case that deadlocked: the refund of `two` holds the escrow account; the release of `one`
    # creates the payable (not yet committed) and waits for the escrow account; then the refund's
    # release tries to create the payable too and waits for the release.
    refund, release = _partial_refund_racing(pause, two, lambda: escrow_release(escrow_id=one.pk))

    assert refund.ok, f"partial refund: {refund}; release: {release}"
    assert release.ok, f"partial refund: {refund}; release: {release}"
    assert LedgerAccount.objects.filter(owner=creator, kind=AccountKind.CREATOR_PAYABLE).count() == 1
    assert ledger_verify().ok
