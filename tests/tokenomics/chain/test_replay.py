"""C1: one Transfer log credits at most once — replayed to the same payment, to another payment,
at random, or by concurrent callers on PostgreSQL (real threads, each with its own connection).

The unique (chain_id, tx_hash, log_index) row and the ledger credit commit in one transaction, so
whichever caller commits first is the only one whose credit exists.
"""

from __future__ import annotations

import random

import pytest

from tests.accounts.factories import UserFactory
from tests.tokenomics.chain.conftest import Chain, ledger_state, link, pay
from tests.tokenomics.concurrency.threads import capture, race
from tokenomics.models import LedgerTransaction, Payment
from tokenomics.models.ledger import AccountKind
from tokenomics.models.rails import ChainTransfer, PaymentStatus
from tokenomics.money import agr
from tokenomics.selectors.ledger import ledger_verify
from tokenomics.services.chain_rail import PaymentNotVerified, Reason, agr_payment_start, agr_payment_verify
from tokenomics.services.ledger_accounts import user_account_get_or_create

DUE = agr(12)


def chain_credits() -> int:
    return LedgerTransaction.objects.filter(idempotency_key__startswith="chain:").count()


def wallet_balance(user) -> int:
    return user_account_get_or_create(user=user, kind=AccountKind.WALLET, asset="AGR").balance


@pytest.mark.django_db
def test_same_log_twice_for_the_same_payment_credits_once(chain: Chain, new_key) -> None:
    buyer = UserFactory()
    key = new_key()
    link(buyer, key)
    payment = agr_payment_start(user=buyer, purpose="test_order", amount=DUE)
    tx = pay(chain, key, DUE)
    first = agr_payment_verify(payment_id=payment.pk, tx_hash=tx)
    before = ledger_state()
    again = agr_payment_verify(payment_id=payment.pk, tx_hash=tx)
    assert (first.credited, again.credited) == (DUE, 0)
    assert [row.pk for row in again.transfers] == [row.pk for row in first.transfers]
    assert ledger_state() == before
    assert wallet_balance(buyer) == DUE
    assert chain_credits() == 1


@pytest.mark.django_db
def test_same_log_for_two_payments_credits_the_first_only(chain: Chain, new_key) -> None:
    buyer = UserFactory()
    key = new_key()
    link(buyer, key)
    first = agr_payment_start(user=buyer, purpose="test_order", amount=DUE)
    second = agr_payment_start(user=buyer, purpose="test_order", amount=DUE)
    tx = pay(chain, key, DUE)
    agr_payment_verify(payment_id=first.pk, tx_hash=tx)
    before = ledger_state()
    with pytest.raises(PaymentNotVerified) as caught:
        agr_payment_verify(payment_id=second.pk, tx_hash=tx)
    assert caught.value.detail["reason"] == Reason.ALREADY_CREDITED
    assert caught.value.status_code == 409
    assert ledger_state() == before
    second.refresh_from_db()
    assert (second.status, second.received_amount) == (PaymentStatus.AWAITING, 0)
    assert chain_credits() == 1


@pytest.mark.django_db
def test_randomized_replays_credit_each_log_exactly_once(chain: Chain, new_key) -> None:
    rng = random.Random(1337)
    buyer = UserFactory()
    key = new_key()
    link(buyer, key)
    payments = [agr_payment_start(user=buyer, purpose="test_order", amount=DUE) for _ in range(4)]
    txs = [pay(chain, key, DUE) for _ in range(3)]
    owner: dict[str, int] = {}
    for _ in range(200):
        tx, payment = rng.choice(txs), rng.choice(payments)
        outcome = capture(lambda: agr_payment_verify(payment_id=payment.pk, tx_hash=tx))  # noqa: B023
        if outcome.ok:
            assert owner.setdefault(tx, payment.pk) == payment.pk
        else:
            assert isinstance(outcome.error, PaymentNotVerified)
            assert outcome.error.detail["reason"] == Reason.ALREADY_CREDITED
            assert owner[tx] != payment.pk
    assert chain_credits() == len(owner) == ChainTransfer.objects.count()
    assert wallet_balance(buyer) == DUE * len(owner)
    paid = Payment.objects.filter(status=PaymentStatus.SUCCEEDED).count()
    assert paid == len(set(owner.values()))


WORKERS = 12


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_for_one_and_for_two_payments_credit_once(chain: Chain, new_key) -> None:
    buyer = UserFactory()
    key = new_key()
    link(buyer, key)
    payments = [agr_payment_start(user=buyer, purpose="test_order", amount=DUE) for _ in range(2)]
    tx = pay(chain, key, DUE)

    # Half the threads claim the log for one payment, half for the other, all at the same moment.
    outcomes = race(WORKERS, lambda i: agr_payment_verify(payment_id=payments[i % 2].pk, tx_hash=tx))

    winners = {o.value.payment.pk for o in outcomes if o.ok}
    assert len(winners) == 1, outcomes
    [winner] = winners
    for outcome in outcomes:
        if outcome.ok:
            assert outcome.value.payment.pk == winner
        else:
            assert isinstance(outcome.error, PaymentNotVerified), outcome.error
            assert outcome.error.detail["reason"] == Reason.ALREADY_CREDITED
    assert sum(o.value.credited for o in outcomes if o.ok) == DUE
    assert chain_credits() == 1
    assert ChainTransfer.objects.get().payment_id == winner
    assert wallet_balance(buyer) == DUE
    statuses = dict(Payment.objects.values_list("pk", "status"))
    assert sorted(statuses.values()) == sorted([PaymentStatus.SUCCEEDED, PaymentStatus.AWAITING])
    assert ledger_verify().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("same_payment", [True, False], ids=["same-payment", "other-payment"])
def test_replay_waiting_on_an_uncommitted_first_credit_sees_it(
    chain: Chain, new_key, monkeypatch: pytest.MonkeyPatch, same_payment: bool
) -> None:
    """A deterministic interleaving: the first caller has inserted the log's row and is about to
    credit, uncommitted; the replay must wait (payment row lock, or the unique index for another
    payment), then see the committed first credit: a no-op, or already_credited."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.tokenomics.concurrency.threads import PauseOnce, capture, in_own_connection, wait_until_blocked
    from tokenomics.services import chain_rail

    buyer = UserFactory()
    key = new_key()
    link(buyer, key)
    first = agr_payment_start(user=buyer, purpose="test_order", amount=DUE)
    second = first if same_payment else agr_payment_start(user=buyer, purpose="test_order", amount=DUE)
    tx = pay(chain, key, DUE)

    pause = PauseOnce()
    real_credit = chain_rail.payment_credit

    def credit_after_pause(**kwargs):
        pause.checkpoint()
        return real_credit(**kwargs)

    monkeypatch.setattr(chain_rail, "payment_credit", credit_after_pause)

    @in_own_connection
    def verify(payment_id: int, arm: bool):
        if arm:
            pause.arm()
        return capture(lambda: agr_payment_verify(payment_id=payment_id, tx_hash=tx))

    with ThreadPoolExecutor(max_workers=2) as pool:
        leader = pool.submit(verify, first.pk, True)
        pause.wait_reached()
        follower = pool.submit(verify, second.pk, False)
        wait_until_blocked(follower)
        pause.resume()
        led, followed = leader.result(), follower.result()

    assert led.ok
    assert led.value.credited == DUE
    if same_payment:
        assert followed.ok
        assert followed.value.credited == 0
    else:
        assert isinstance(followed.error, PaymentNotVerified)
        assert followed.error.detail["reason"] == Reason.ALREADY_CREDITED
    assert chain_credits() == 1
    assert wallet_balance(buyer) == DUE
