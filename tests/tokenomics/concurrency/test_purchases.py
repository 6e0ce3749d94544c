"""L3, L4 and L6 (RELIABILITY-ANCHORS.md §1) with real threads on PostgreSQL.

Every worker thread has its own database connection (closed when it ends) and the workers start on a
barrier, so the row locks, unique indexes and deferred triggers of the ledger are what keeps the
money right, as in production. `transaction=True`: each service call commits for real.

- L3: 50 workers x 20 purchases from 10 shared, partly funded wallets, with random refunds and
  releases of the workers' own holds: no overspend, no lost or phantom purchase, exactly the
  purchases the money allowed.
- L4: the same posting replayed concurrently moves money once; the same key with other legs is an
  IdempotencyConflict for all but one caller; concurrent escrow_hold replays hold once.
- L6: 100 races of release vs. full refund vs. escrows_release_due on one escrow each: every escrow
  resolves exactly once and every loser gets the documented answer.
"""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

import pytest
from django.db.models import Q
from django.utils import timezone

from core.fields import WideSum
from tests.accounts.factories import UserFactory
from tests.tokenomics.concurrency.threads import Outcome, capture, race, run_together
from tests.tokenomics.factories import funded_wallet
from tokenomics.errors import IdempotencyConflict, InsufficientFunds, InvalidState
from tokenomics.models import Escrow, LedgerAccount, LedgerEntry, LedgerTransaction
from tokenomics.models.escrow import EscrowState
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.selectors.ledger import account_balance, ledger_verify
from tokenomics.services.escrow import escrow_hold, escrow_refund, escrow_release, escrows_release_due
from tokenomics.services.ledger import Leg, transaction_post
from tokenomics.services.ledger_accounts import system_account_get_or_create, user_account_get_or_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

FAR_FUTURE = timezone.now() + timedelta(days=3650)


def _escrow_account(asset: str = "USD") -> LedgerAccount:
    return system_account_get_or_create(kind=AccountKind.ESCROW, asset=asset)


def _entry_sum(**filters: object) -> int:
    return LedgerEntry.objects.filter(**filters).aggregate(total=WideSum("amount"))["total"]


def _assert_ledger_ok() -> None:
    report = ledger_verify()
    assert report.ok, report
    overdrawn = LedgerAccount.objects.filter(overdraft_allowed=False, balance__lt=0)
    assert not overdrawn.exists(), list(overdrawn.values("pk", "kind", "balance"))


# --------------------------------------------------------------------------- L3

WORKERS = 50
PURCHASES = 20  # per worker: 1,000 in all
PHASE_ONE = 15  # purchases per worker racing refunds; then 5 more per worker with releases only
BUYERS = 10
FUNDED_PURCHASES = 60  # per buyer, of the 100 attempted on each: ~60% funded
RESOLVE_RATE = 0.2  # after a success, resolve one of the worker's own held escrows


@dataclass
class Attempt:
    worker: int
    reference: str
    buyer: int
    amount: int
    outcome: Outcome


@dataclass
class Resolution:
    reference: str
    action: str  # "refund", "partial" or "release"
    amount: int  # what went back to the buyer
    outcome: Outcome


def test_l3_fifty_workers_buy_from_shared_wallets_without_overspending() -> None:
    creators = [UserFactory() for _ in range(3)]
    buyers = [UserFactory() for _ in range(BUYERS)]
    # Equal purchases per buyer, different across buyers; funding leaves a remainder below a price.
    price = {index: 1_000 + 37 * index for index in range(BUYERS)}
    funding = {index: FUNDED_PURCHASES * price[index] + price[index] // 2 for index in range(BUYERS)}
    wallets = [funded_wallet(user=buyers[i], amount=funding[i]) for i in range(BUYERS)]
    escrow_account = _escrow_account()
    # The accounts a sale pays into exist, as after a marketplace's first sales (racing their
    # creation is a separate case: see test_escrow_interleavings.py).
    for creator in creators:
        user_account_get_or_create(user=creator, kind=AccountKind.CREATOR_PAYABLE, asset="USD")
    for kind in (
        AccountKind.BUYBACK_RESERVE,
        AccountKind.TREASURY,
        AccountKind.VALIDATOR_POOL,
        AccountKind.PLATFORM_REVENUE,
    ):
        system_account_get_or_create(kind=kind, asset="USD")

    attempts: list[Attempt] = []
    resolutions: list[Resolution] = []
    record = threading.Lock()

    def work(worker: int, barrier: threading.Barrier) -> None:
        rng = random.Random(worker)
        mine: list[Escrow] = []  # this worker's holds still held
        for n in range(PURCHASES):
            if n == PHASE_ONE:
                # Every refund has landed before the last purchases, which drain every wallet: so
                # the purchases that succeed are exactly what funding plus refunds allowed.
                barrier.wait()
            buyer = (worker + n) % BUYERS
            reference = f"l3:{worker}:{n}"
            outcome = capture(
                partial(
                    escrow_hold,
                    reference=reference,
                    creator=creators[(worker + n) % len(creators)],
                    source_account=wallets[buyer],
                    amount=price[buyer],
                    payer=buyers[buyer],
                )
            )
            with record:
                attempts.append(Attempt(worker, reference, buyer, price[buyer], outcome))
            if not outcome.ok:
                continue
            mine.append(outcome.value)
            if rng.random() >= RESOLVE_RATE:
                continue
            escrow = mine.pop(rng.randrange(len(mine)))
            roll = rng.random()
            if n >= PHASE_ONE or roll < 0.4:
                action, amount = "release", 0
                call = partial(escrow_release, escrow_id=escrow.pk)
            elif roll < 0.8:
                action, amount = "refund", escrow.amount
                call = partial(escrow_refund, escrow_id=escrow.pk)
            else:
                action, amount = "partial", rng.randint(1, escrow.amount - 1)
                call = partial(escrow_refund, escrow_id=escrow.pk, amount=amount)
            resolved = capture(call)
            with record:
                resolutions.append(Resolution(escrow.reference, action, amount, resolved))

    run_together(WORKERS, work)

    # No call failed in an undocumented way: a purchase either held or was refused for funds, and
    # a resolution of a worker's own held escrow always succeeds.
    unexpected = [
        (a.reference, repr(a.outcome.error))
        for a in attempts
        if a.outcome.error is not None and not isinstance(a.outcome.error, InsufficientFunds)
    ]
    unexpected += [(r.reference, repr(r.outcome.error)) for r in resolutions if not r.outcome.ok]
    assert not unexpected, unexpected
    assert len(attempts) == WORKERS * PURCHASES

    _assert_ledger_ok()

    succeeded = [a for a in attempts if a.outcome.ok]
    refused = [a for a in attempts if not a.outcome.ok]
    # Every refusal was right when it was made: the balance read under the row lock was short.
    wrongly_refused = [
        (a.reference, a.outcome.error.detail)
        for a in refused
        if int(a.outcome.error.detail["available"]) >= a.amount
    ]
    assert not wrongly_refused, wrongly_refused

    # 0 lost, 0 phantom: every success has exactly one hold posting and one escrow, every refusal none.
    holds = Counter(
        LedgerTransaction.objects.filter(kind=TransactionKind.ESCROW_HOLD, reference__startswith="l3:")
        .values_list("reference", flat=True)
        .iterator()
    )
    escrows = {e.reference: e for e in Escrow.objects.filter(reference__startswith="l3:")}
    assert {ref for ref, n in holds.items() if n != 1} == set()
    assert set(holds) == {a.reference for a in succeeded}
    assert set(escrows) == {a.reference for a in succeeded}
    assert all(escrows[a.reference].amount == a.amount for a in succeeded)
    assert not LedgerTransaction.objects.filter(reference__in=[a.reference for a in refused]).exists()

    # Every resolution is what the escrow says, with one posting per resolution kind at most.
    for resolution in resolutions:
        escrow = escrows[resolution.reference]
        expected = {
            "release": EscrowState.RELEASED,
            "refund": EscrowState.REFUNDED,
            "partial": EscrowState.PARTIALLY_REFUNDED,
        }[resolution.action]
        assert escrow.state == expected, (resolution, escrow)
        assert escrow.refunded_amount == resolution.amount, (resolution, escrow)
    resolved_kinds = Counter(
        LedgerTransaction.objects.filter(
            reference__startswith="l3:", kind__in=[TransactionKind.SALE, TransactionKind.REFUND]
        ).values_list("reference", "kind")
    )
    assert max(resolved_kinds.values(), default=1) == 1, resolved_kinds.most_common(3)
    assert len(resolutions) == len({r.reference for r in resolutions})

    # Held + released + refunded is exactly what the buyers were debited, to the unit.
    debited = -_entry_sum(account__in=wallets, transaction__kind=TransactionKind.ESCROW_HOLD)
    held_now = account_balance(account=escrow_account)
    released = -_entry_sum(account=escrow_account, transaction__kind=TransactionKind.SALE)
    refunded = -_entry_sum(account=escrow_account, transaction__kind=TransactionKind.REFUND)
    assert debited == sum(a.amount for a in succeeded)
    assert held_now + released + refunded == debited
    assert held_now == sum(e.amount for e in escrows.values() if e.state == EscrowState.HELD)
    assert (
        refunded
        == sum(r.amount for r in resolutions)
        == _entry_sum(account__in=wallets, transaction__kind=TransactionKind.REFUND)
    )

    # Successes are exactly what the money allowed: with one price per buyer, and every wallet
    # drained by the last purchases, successes = (funding + refunds) // price and the rest is left.
    refunded_to: dict[int, int] = defaultdict(int)
    buyer_of = {a.reference: a.buyer for a in attempts}
    for resolution in resolutions:
        refunded_to[buyer_of[resolution.reference]] += resolution.amount
    successes = Counter(a.buyer for a in succeeded)
    balances = dict(LedgerAccount.objects.filter(pk__in=[w.pk for w in wallets]).values_list("pk", "balance"))
    figures = []
    for buyer in range(BUYERS):
        available = funding[buyer] + refunded_to[buyer]
        figures.append((buyer, successes[buyer], available // price[buyer], balances[wallets[buyer].pk]))
        assert successes[buyer] == available // price[buyer], figures[-1]
        assert balances[wallets[buyer].pk] == available % price[buyer], figures[-1]
    # The run covered what it claims to: refusals, and every kind of resolution.
    assert len(refused) >= WORKERS * PURCHASES // 4
    assert {r.action for r in resolutions} == {"release", "refund", "partial"}


# --------------------------------------------------------------------------- L4


def test_l4_one_posting_replayed_by_twenty_threads_moves_money_once() -> None:
    payer, payee = UserFactory(), UserFactory()
    source = funded_wallet(user=payer, amount=10_000)
    target = user_account_get_or_create(user=payee, kind=AccountKind.WALLET, asset="USD")

    outcomes = race(
        20,
        lambda _: transaction_post(
            kind=TransactionKind.TRANSFER,
            legs=[Leg(source, -2_500), Leg(target, 2_500)],
            idempotency_key="l4:same-posting",
        ),
    )

    assert [o.error for o in outcomes if not o.ok] == []
    assert len({o.value.transaction.pk for o in outcomes}) == 1
    assert sum(o.value.created for o in outcomes) == 1
    posted = LedgerTransaction.objects.filter(idempotency_key="l4:same-posting")
    assert posted.count() == 1
    assert LedgerEntry.objects.filter(transaction__in=posted).count() == 2
    source.refresh_from_db()
    target.refresh_from_db()
    assert (source.balance, target.balance) == (7_500, 2_500)
    _assert_ledger_ok()


def test_l4_one_key_with_other_legs_succeeds_once_and_conflicts_for_the_rest() -> None:
    users = [UserFactory() for _ in range(22)]
    wallets = [funded_wallet(user=user, amount=5_000) for user in users[:11]]
    payees = [
        user_account_get_or_create(user=user, kind=AccountKind.WALLET, asset="USD") for user in users[11:]
    ]
    entries_before = LedgerEntry.objects.count()

    def post(index: int) -> object:
        # Even threads: one shared pair of accounts, other amounts; odd: a pair of their own.
        pair = 0 if index % 2 == 0 else 1 + index // 2
        return transaction_post(
            kind=TransactionKind.TRANSFER,
            legs=[Leg(wallets[pair], -(100 + index)), Leg(payees[pair], 100 + index)],
            idempotency_key="l4:one-key",
        )

    outcomes = race(20, post)

    winners = [index for index, o in enumerate(outcomes) if o.ok]
    assert len(winners) == 1, outcomes
    errors = [o.error for o in outcomes if not o.ok]
    assert all(isinstance(error, IdempotencyConflict) for error in errors), errors
    assert LedgerTransaction.objects.filter(idempotency_key="l4:one-key").count() == 1
    assert LedgerEntry.objects.count() == entries_before + 2
    (winner,) = winners
    pair = 0 if winner % 2 == 0 else 1 + winner // 2
    for index, (wallet, payee) in enumerate(zip(wallets, payees, strict=True)):
        wallet.refresh_from_db()
        payee.refresh_from_db()
        moved = 100 + winner if index == pair else 0
        assert (wallet.balance, payee.balance) == (5_000 - moved, moved)
    _assert_ledger_ok()


def test_l4_escrow_hold_replayed_by_ten_threads_holds_once() -> None:
    buyer, creator = UserFactory(), UserFactory()
    wallet = funded_wallet(user=buyer, amount=10_000)

    outcomes = race(
        10,
        lambda _: escrow_hold(
            reference="l4:order", creator=creator, source_account=wallet, amount=4_000, payer=buyer
        ),
    )

    assert [o.error for o in outcomes if not o.ok] == []
    assert len({o.value.pk for o in outcomes}) == 1
    assert Escrow.objects.filter(reference="l4:order").count() == 1
    assert LedgerTransaction.objects.filter(reference="l4:order").count() == 1
    wallet.refresh_from_db()
    assert wallet.balance == 6_000
    assert account_balance(account=_escrow_account()) == 4_000
    _assert_ledger_ok()


def test_l4_escrow_hold_replays_with_other_amounts_or_payers_conflict() -> None:
    creator = UserFactory()
    buyers = [UserFactory() for _ in range(10)]
    wallets = [funded_wallet(user=buyer, amount=10_000) for buyer in buyers]

    def hold(index: int) -> Escrow:
        # Threads 0-4 pay from one wallet with five amounts, threads 5-9 each from their own.
        wallet = wallets[0] if index < 5 else wallets[index]
        return escrow_hold(
            reference="l4:contested", creator=creator, source_account=wallet, amount=1_000 + index
        )

    outcomes = race(10, hold)

    winners = [index for index, o in enumerate(outcomes) if o.ok]
    assert len(winners) == 1, outcomes
    assert all(isinstance(o.error, IdempotencyConflict) for o in outcomes if not o.ok), outcomes
    escrow = Escrow.objects.get(reference="l4:contested")
    assert escrow.amount == 1_000 + winners[0]
    assert LedgerTransaction.objects.filter(reference="l4:contested").count() == 1
    assert account_balance(account=_escrow_account()) == escrow.amount
    assert sum(w.balance for w in LedgerAccount.objects.filter(pk__in=[w.pk for w in wallets])) == (
        10 * 10_000 - escrow.amount
    )
    _assert_ledger_ok()


# --------------------------------------------------------------------------- L6

RACES = 100


def test_l6_release_refund_and_release_due_race_and_the_escrow_resolves_once() -> None:
    buyer, creator = UserFactory(), UserFactory()
    wallet = funded_wallet(user=buyer, amount=RACES * 1_000)
    escrow_ids: list[int] = []
    results: dict[str, list[Outcome]] = {"release": [], "refund": [], "due": []}
    calls = {
        "release": lambda escrow_id: escrow_release(escrow_id=escrow_id),
        "refund": lambda escrow_id: escrow_refund(escrow_id=escrow_id),
        "due": lambda escrow_id: escrows_release_due(now=FAR_FUTURE),
    }
    roles = list(calls)

    def work(index: int, barrier: threading.Barrier) -> None:
        # Thread 0 makes the next escrow between rounds, so that in each round exactly one escrow
        # is held and due: the one the three contenders race for.
        for n in range(RACES):
            if index == 0:
                escrow = escrow_hold(
                    reference=f"l6:{n}", creator=creator, source_account=wallet, amount=500 + n, payer=buyer
                )
                escrow_ids.append(escrow.pk)
            barrier.wait()  # the escrow exists
            if index:
                role = roles[(index - 1 + n) % 3]  # rotate which thread plays which role
                results[role].append(capture(partial(calls[role], escrow_ids[n])))
            barrier.wait()  # every contender is done

    run_together(4, work)

    escrows = {e.pk: e for e in Escrow.objects.filter(pk__in=escrow_ids)}
    resolutions = Counter(
        LedgerTransaction.objects.filter(
            reference__startswith="l6:", kind__in=[TransactionKind.SALE, TransactionKind.REFUND]
        ).values_list("reference", flat=True)
    )
    final = Counter(e.state for e in escrows.values())
    problems: list[str] = []
    for n, escrow_id in enumerate(escrow_ids):
        escrow = escrows[escrow_id]
        release, refund, due = (results[role][n] for role in roles)
        if escrow.state not in (EscrowState.RELEASED, EscrowState.REFUNDED):
            problems.append(f"race {n}: escrow ended {escrow.state}")
        if resolutions[escrow.reference] != 1:
            problems.append(f"race {n}: {resolutions[escrow.reference]} resolution postings")
        if escrow.state == EscrowState.RELEASED:
            # The loser's refund is refused; a release after a release returns the escrow.
            if not isinstance(refund.error, InvalidState):
                problems.append(f"race {n}: refund after release gave {refund}")
            if not (release.ok and release.value.state == EscrowState.RELEASED):
                problems.append(f"race {n}: release after release gave {release}")
            if not (due.ok and due.value in (0, 1)):
                problems.append(f"race {n}: escrows_release_due gave {due}")
        else:
            # A release after a refund is refused; the batch job skips what is no longer held.
            if not (refund.ok and refund.value.state == EscrowState.REFUNDED):
                problems.append(f"race {n}: winning refund gave {refund}")
            if not isinstance(release.error, InvalidState):
                problems.append(f"race {n}: release after refund gave {release}")
            if not (due.ok and due.value == 0):
                problems.append(f"race {n}: escrows_release_due after a refund gave {due!r}")
    summary = {
        "final states": dict(final),
        "escrows_release_due outcomes": Counter(
            repr(o.value) if o.ok else type(o.error).__name__ for o in results["due"]
        ),
    }
    assert not problems, f"{len(problems)} problems in {RACES} races {summary}:\n" + "\n".join(problems[:30])

    # The money followed the escrows exactly: nothing held, refunds back in the wallet.
    _assert_ledger_ok()
    assert account_balance(account=_escrow_account()) == 0
    released = sum(e.amount for e in escrows.values() if e.state == EscrowState.RELEASED)
    wallet.refresh_from_db()
    assert wallet.balance == RACES * 1_000 - released
    others = ~Q(kind__in=[TransactionKind.ESCROW_HOLD, TransactionKind.SALE, TransactionKind.REFUND])
    assert not LedgerTransaction.objects.filter(others, reference__startswith="l6:").exists()
