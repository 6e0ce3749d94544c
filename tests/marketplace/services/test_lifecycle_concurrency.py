"""The order lifecycle under real concurrency on PostgreSQL (issue 16: L3/L4 for orders).

Worker threads, each on its own connection, buy licenses from prepaid balance for shared buyers
(two workers per buyer, so the same buyer's checkouts of one license race), then refund, dispute or
release them at random while the due-release batch runs in its own thread; staff resolve the
disputes at the end. Afterwards: 0 negative balances, every order with exactly the postings its
status says (none lost, none doubled), at most one valid license per buyer and version, every order
agreeing with its escrow, wallets exact to the unit, and ledger_check exact.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import timedelta
from functools import partial

import pytest
from django.core.management import call_command
from django.utils import timezone

from marketplace.errors import InvalidState, RefundWindowClosed
from marketplace.models import Dispute, DisputeStatus, License, Order, OrderStatus
from marketplace.selectors.orders import order_escrow_agrees
from marketplace.services.orders import order_create, order_release
from marketplace.services.refunds import dispute_resolve, order_dispute_open, order_refund
from tests.accounts.factories import UserFactory, staff_with
from tests.marketplace.commerce import on_sale
from tests.tokenomics.concurrency.threads import Outcome, capture, race, run_together
from tests.tokenomics.factories import funded_wallet
from tokenomics.errors import InsufficientFunds
from tokenomics.errors import InvalidState as LedgerInvalidState
from tokenomics.models import LedgerAccount, LedgerTransaction
from tokenomics.models.ledger import TransactionKind
from tokenomics.selectors.ledger import ledger_verify
from tokenomics.services.escrow import escrows_release_due
from tokenomics.services.payments import payment_credit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BUYERS = 25
WORKERS = 2 * BUYERS  # two workers per buyer: the same buyer's checkouts race
PURCHASES = 20  # attempts per worker: 50 workers x 20 = 1,000 checkouts
LISTINGS = 10
PRICE = 2_000
FAR_FUTURE = timezone.now() + timedelta(days=3650)
# Refused for a documented reason: already owned, or no longer held (released or refunded meanwhile).
DOCUMENTED = (InvalidState, RefundWindowClosed, LedgerInvalidState)


def test_many_buyers_buying_refunding_and_disputing_at_once_keep_orders_and_ledger_exact() -> None:
    plans = [on_sale(price_cents=PRICE) for _ in range(LISTINGS)]
    buyers = [UserFactory() for _ in range(BUYERS)]
    funding = PRICE * PURCHASES * 2  # never short: the races are about state, not funds
    wallets = [funded_wallet(user=buyer, amount=funding) for buyer in buyers]
    outcomes: list[tuple[str, Outcome]] = []
    record = threading.Lock()
    stop = threading.Event()

    def log(action: str, outcome: Outcome) -> Outcome:
        with record:
            outcomes.append((action, outcome))
        return outcome

    def work(index: int, barrier: threading.Barrier) -> None:
        if index == WORKERS:  # the due-release batch, as the beat runs it, until the buyers finish
            while not stop.is_set():
                log("due", capture(lambda: escrows_release_due(now=FAR_FUTURE)))
                time.sleep(0.05)
            return
        rng = random.Random(index)
        buyer = buyers[index % BUYERS]
        for n in range(PURCHASES):
            plan = plans[(index // BUYERS + n) % LISTINGS]
            bought = log("buy", capture(partial(order_create, buyer=buyer, plan_id=plan.pk, rail="balance")))
            if not bought.ok:
                continue
            order = bought.value.order
            roll = rng.random()
            if roll < 0.3:
                log("refund", capture(partial(order_refund, buyer=buyer, order_id=order.pk)))
            elif roll < 0.45:
                log(
                    "dispute",
                    capture(
                        partial(
                            order_dispute_open,
                            buyer=buyer,
                            order_id=order.pk,
                            reason="Broken",
                            evidence="It crashes.",
                        )
                    ),
                )
            elif roll < 0.7:
                log("release", capture(partial(order_release, order_id=order.pk)))

    def run(index: int, barrier: threading.Barrier) -> None:
        try:
            work(index, barrier)
        finally:
            if index < WORKERS:
                with record:
                    finished.append(index)
                    if len(finished) == WORKERS:
                        stop.set()

    finished: list[int] = []
    run_together(WORKERS + 1, run)

    # Staff resolve every open dispute, several at once.
    staff = staff_with("marketplace.resolve_dispute")
    disputes = list(Dispute.objects.filter(status=DisputeStatus.OPEN).values_list("pk", "order__total"))
    choices = [DisputeStatus.RELEASED, DisputeStatus.REFUNDED, DisputeStatus.PARTIAL_REFUND]

    def resolve(index: int, barrier: threading.Barrier) -> None:
        for n, (dispute_id, total) in enumerate(disputes):
            if n % 4 != index:
                continue
            outcome = choices[n % 3]
            amount = int(total) // 3 if outcome == DisputeStatus.PARTIAL_REFUND else None
            log(
                "resolve",
                capture(
                    partial(
                        dispute_resolve,
                        staff_user=staff,
                        dispute_id=dispute_id,
                        outcome=outcome,
                        refund_amount=amount,
                    )
                ),
            )

    run_together(4, resolve)

    # Every call succeeded or was refused for a documented reason.
    unexpected = [
        (a, repr(o.error))
        for a, o in outcomes
        if o.error is not None and a != "resolve" and not isinstance(o.error, DOCUMENTED)
    ]
    assert not unexpected, unexpected[:5]
    short = [o for a, o in outcomes if a == "resolve" and not o.ok]
    assert all(isinstance(o.error, InsufficientFunds) for o in short), short
    kinds = Counter(a for a, o in outcomes if o.ok)
    assert min(kinds[a] for a in ("buy", "refund", "dispute", "release", "resolve")) > 0, kinds
    # Some checkouts of one license by the same buyer raced and were refused as already owned.
    assert any(a == "buy" and isinstance(o.error, InvalidState) for a, o in outcomes)

    # 0 negative balances, the whole ledger balanced.
    report = ledger_verify()
    assert report.ok, report
    assert not LedgerAccount.objects.filter(overdraft_allowed=False, balance__lt=0).exists()
    call_command("ledger_check")  # exits non-zero on any discrepancy

    orders = list(Order.objects.select_related("escrow"))
    assert len(orders) == kinds["buy"]
    postings = Counter(
        LedgerTransaction.objects.filter(reference__startswith="order:").values_list("reference", "kind")
    )
    for order in orders:
        ref = order.reference
        holds, sales, refunds, clawbacks = (
            postings[(ref, kind)]
            for kind in (
                TransactionKind.ESCROW_HOLD,
                TransactionKind.SALE,
                TransactionKind.REFUND,
                TransactionKind.SALE_CLAWBACK,
            )
        )
        assert order_escrow_agrees(order), (ref, order.status, order.escrow.state, order.escrow.frozen)
        # Paid from the balance into escrow once; resolved at most once each way.
        assert holds == 1, (ref, holds)
        assert max(sales, refunds, clawbacks) <= 1, (ref, sales, refunds, clawbacks)
        returned = refunds + clawbacks  # money back to the buyer: from escrow, or clawed back
        status = OrderStatus(order.status)
        if status == OrderStatus.IN_ESCROW:
            assert (sales, returned) == (0, 0), ref
        elif status == OrderStatus.RELEASED:
            assert (sales, returned) == (1, 1 if order.refunded_amount else 0), ref
        elif status == OrderStatus.REFUNDED:
            assert (returned, order.refunded_amount) == (1, order.total), ref
        else:  # still disputed: staff could not claw back (the creator's payable was short)
            assert (status, returned) == (OrderStatus.DISPUTED, 0), ref

    # At most one valid license per buyer and version, and each valid one belongs to a live order.
    valid = Counter(License.objects.filter(revoked_at__isnull=True).values_list("buyer_id", "version_id"))
    assert max(valid.values()) == 1
    assert not License.objects.filter(revoked_at__isnull=True, order__status=OrderStatus.REFUNDED).exists()

    # Wallets exact: funding, less what every order took, plus what came back.
    for buyer, wallet in zip(buyers, wallets, strict=True):
        mine = [o for o in orders if o.buyer_id == buyer.pk]
        expected = funding - sum(int(o.total) for o in mine) + sum(int(o.refunded_amount) for o in mine)
        assert LedgerAccount.objects.get(pk=wallet.pk).balance == expected, buyer.pk


def test_twenty_payments_of_one_license_arriving_at_once_fulfil_exactly_one() -> None:
    # The card rail's arrivals, credited concurrently as twenty webhooks would be (payment_credit
    # is what the webhook handler and the AGR verification call).
    buyer = UserFactory()
    plan = on_sale(price_cents=PRICE)
    funded_wallet(user=buyer, amount=1)  # the buyer's wallet exists, as after a first top-up
    orders = [order_create(buyer=buyer, plan_id=plan.pk, rail="card").order for _ in range(20)]

    arrived = race(
        20,
        lambda n: payment_credit(
            payment_id=orders[n].payment_id, amount=PRICE, idempotency_key=f"race:{orders[n].reference}"
        ),
    )

    assert [o.error for o in arrived if not o.ok] == [], "\n".join(
        sorted({str(o.error) for o in arrived if not o.ok})
    )
    statuses = Counter(Order.objects.filter(buyer=buyer).values_list("status", flat=True))
    assert statuses == {OrderStatus.IN_ESCROW: 1, OrderStatus.REFUNDED: 19}
    assert License.objects.filter(buyer=buyer, revoked_at__isnull=True).count() == 1
    assert all(order_escrow_agrees(order) for order in Order.objects.filter(buyer=buyer))
    assert ledger_verify().ok
