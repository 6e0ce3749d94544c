"""Outbound AGR payouts (C5): the debit happens once per reference, the signed transaction is
stored before any broadcast, a crash between signing and broadcasting (or between broadcasting and
recording it) is finished by a retry that re-sends the same bytes, and nothing is ever sent twice.

Crashes are injected at the client boundary: `ChainClient.send_raw_transaction` raising before it
reaches the node (the worker died after the signing transaction committed) or right after the node
accepted the transaction (it died before recording the broadcast).
"""

from __future__ import annotations

import pytest

from tests.accounts.factories import UserFactory
from tests.tokenomics.chain.conftest import Chain, require_confirmations
from tests.tokenomics.factories import funded_wallet
from tokenomics.chain_client import ChainClient, address_of
from tokenomics.errors import IdempotencyConflict, InsufficientFunds, InvalidState
from tokenomics.models import LedgerTransaction
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.models.rails import ChainPayout, HotWallet
from tokenomics.money import agr
from tokenomics.selectors.ledger import system_balance
from tokenomics.services.chain_payouts import (
    chain_payout_broadcast,
    chain_payout_confirm,
    chain_payout_create,
    chain_payout_send,
    chain_payout_sign,
    chain_payouts_process,
)
from tokenomics.services.chain_rail import ChainAddressInvalid, ChainNotConfigured
from tokenomics.services.ledger_accounts import user_account_get_or_create
from tokenomics.tasks.chain import chain_payout_send_task, chain_process_payouts

AMOUNT = agr(40)
Status = ChainPayout.Status


class WorkerKilled(BaseException):
    """Stands for the process dying: not an Exception, so nothing on the way catches it."""


@pytest.fixture
def creator(db):
    user = UserFactory()
    funded_wallet(user=user, amount=agr(1_000), asset="AGR")
    return user


@pytest.fixture
def recipient(new_key) -> str:
    return address_of(new_key(agr_amount=0))


def balance(chain: Chain, address: str) -> int:
    return chain.client.erc20_balance(token=chain.token, address=address)


def account(user, kind=AccountKind.WALLET) -> int:
    return user_account_get_or_create(user=user, kind=kind, asset="AGR").balance


# ----------------------------------------------------------------------------- create


@pytest.mark.django_db
def test_create_debits_the_account_into_the_chain_once_per_reference(
    chain: Chain, creator, recipient
) -> None:
    external = system_balance(kind=AccountKind.EXTERNAL_CHAIN, asset="AGR")
    payout = chain_payout_create(user=creator, to_address=recipient.lower(), amount=AMOUNT, reference="p-1")
    assert payout.status == Status.PENDING
    assert payout.to_address == recipient
    assert payout.ledger_transaction.kind == TransactionKind.PAYOUT
    assert account(creator) == agr(1_000) - AMOUNT
    assert system_balance(kind=AccountKind.EXTERNAL_CHAIN, asset="AGR") == external + AMOUNT

    again = chain_payout_create(user=creator, to_address=recipient, amount=AMOUNT, reference="p-1")
    assert again.pk == payout.pk
    assert account(creator) == agr(1_000) - AMOUNT
    with pytest.raises(IdempotencyConflict):
        chain_payout_create(user=creator, to_address=recipient, amount=AMOUNT + 1, reference="p-1")


@pytest.mark.django_db
def test_create_refuses_what_the_account_cannot_pay_or_a_bad_address(
    chain: Chain, creator, recipient
) -> None:
    with pytest.raises(InsufficientFunds):
        chain_payout_create(user=creator, to_address=recipient, amount=agr(1_001), reference="p-big")
    with pytest.raises(InsufficientFunds):  # the creator payable is empty
        chain_payout_create(
            user=creator,
            to_address=recipient,
            amount=1,
            reference="p-payable",
            account_kind=AccountKind.CREATOR_PAYABLE,
        )
    with pytest.raises(ChainAddressInvalid):
        chain_payout_create(user=creator, to_address="0x1234", amount=1, reference="p-addr")
    assert not ChainPayout.objects.exists()
    assert account(creator) == agr(1_000)


# ----------------------------------------------------------------------------- sign, broadcast, crash


@pytest.mark.django_db
def test_sign_stores_the_transaction_before_anything_is_sent(chain: Chain, creator, recipient) -> None:
    payout = chain_payout_create(user=creator, to_address=recipient, amount=AMOUNT, reference="p-sign")
    signed = chain_payout_sign(payout_id=payout.pk)
    assert signed.status == Status.SIGNED
    assert signed.signed_tx.startswith("0x02")  # EIP-1559
    assert signed.tx_hash
    assert signed.nonce is not None
    assert not chain.client.transaction_known(signed.tx_hash)
    assert balance(chain, recipient) == 0
    # Signing again changes nothing: same bytes, same nonce.
    assert chain_payout_sign(payout_id=payout.pk).signed_tx == signed.signed_tx
    assert HotWallet.objects.get().next_nonce == signed.nonce + 1


@pytest.mark.django_db
def test_crash_between_sign_and_broadcast_is_finished_by_a_retry_sending_the_same_bytes(
    chain: Chain, creator, recipient, monkeypatch: pytest.MonkeyPatch
) -> None:
    payout = chain_payout_create(user=creator, to_address=recipient, amount=AMOUNT, reference="p-crash-1")
    hot = chain.deposit
    hot_nonce_before = chain.client.nonce(hot)

    def killed(self: ChainClient, raw: str) -> str:
        raise WorkerKilled

    with monkeypatch.context() as patch:
        patch.setattr(ChainClient, "send_raw_transaction", killed)
        with pytest.raises(WorkerKilled):
            chain_payout_send(payout_id=payout.pk)
    stored = ChainPayout.objects.get(pk=payout.pk)
    assert stored.status == Status.SIGNED
    assert not chain.client.transaction_known(stored.tx_hash)
    assert balance(chain, recipient) == 0

    sent: list[str] = []
    real_send = ChainClient.send_raw_transaction

    def recording(self: ChainClient, raw: str) -> str:
        sent.append(raw)
        return real_send(self, raw)

    monkeypatch.setattr(ChainClient, "send_raw_transaction", recording)
    retried = chain_payout_send(payout_id=payout.pk)
    assert retried.status == Status.BROADCAST
    assert sent == [stored.signed_tx]  # the stored bytes, unchanged
    assert retried.tx_hash == stored.tx_hash
    assert balance(chain, recipient) == AMOUNT
    assert chain.client.nonce(hot) == hot_nonce_before + 1

    # Another broadcast attempt (a duplicate task, a rerun) sends the same bytes: nothing new.
    chain_payout_broadcast(payout_id=payout.pk)
    assert balance(chain, recipient) == AMOUNT
    assert chain.client.nonce(hot) == hot_nonce_before + 1
    assert chain_payout_confirm(payout_id=payout.pk).status == Status.CONFIRMED
    assert chain_payout_broadcast(payout_id=payout.pk).status == Status.CONFIRMED  # not re-sent
    assert balance(chain, recipient) == AMOUNT
    assert account(creator) == agr(1_000) - AMOUNT


@pytest.mark.django_db
def test_crash_after_broadcast_before_recording_it_does_not_send_twice(
    chain: Chain, creator, recipient, monkeypatch: pytest.MonkeyPatch
) -> None:
    payout = chain_payout_create(user=creator, to_address=recipient, amount=AMOUNT, reference="p-crash-2")
    real_send = ChainClient.send_raw_transaction

    def sent_then_killed(self: ChainClient, raw: str) -> str:
        real_send(self, raw)
        raise WorkerKilled

    with monkeypatch.context() as patch:
        patch.setattr(ChainClient, "send_raw_transaction", sent_then_killed)
        with pytest.raises(WorkerKilled):
            chain_payout_send(payout_id=payout.pk)
    assert ChainPayout.objects.get(pk=payout.pk).status == Status.SIGNED
    assert balance(chain, recipient) == AMOUNT

    # The retry re-sends the same bytes; the node already has them, which counts as sent.
    retried = chain_payout_send(payout_id=payout.pk)
    assert retried.status == Status.BROADCAST
    assert balance(chain, recipient) == AMOUNT
    assert chain_payouts_process().confirmed == 1
    assert balance(chain, recipient) == AMOUNT


@pytest.mark.django_db
def test_broadcast_before_signing_is_refused(chain: Chain, creator, recipient) -> None:
    payout = chain_payout_create(user=creator, to_address=recipient, amount=AMOUNT, reference="p-early")
    with pytest.raises(InvalidState):
        chain_payout_broadcast(payout_id=payout.pk)


@pytest.mark.django_db
def test_nonces_increase_per_hot_wallet_across_payouts(chain: Chain, creator, recipient) -> None:
    start = chain.client.nonce(chain.deposit)
    payouts = [
        chain_payout_create(user=creator, to_address=recipient, amount=agr(i + 1), reference=f"p-n{i}")
        for i in range(4)
    ]
    signed = [chain_payout_sign(payout_id=p.pk) for p in payouts]
    assert [p.nonce for p in signed] == [start, start + 1, start + 2, start + 3]
    assert len({p.tx_hash for p in signed}) == 4
    hot = HotWallet.objects.get()
    assert (hot.chain_id, hot.address, hot.next_nonce) == (1337, chain.deposit, start + 4)
    # The periodic task broadcasts in nonce order and confirms.
    run = chain_process_payouts.delay().get()
    assert (run["broadcast"], run["confirmed"]) == (4, 4)
    assert balance(chain, recipient) == agr(1 + 2 + 3 + 4)
    assert chain.client.nonce(chain.deposit) == start + 4


@pytest.mark.django_db
def test_the_send_task_signs_and_broadcasts(chain: Chain, creator, recipient) -> None:
    payout = chain_payout_create(user=creator, to_address=recipient, amount=AMOUNT, reference="p-task")
    assert chain_payout_send_task.delay(payout.pk).get() == Status.BROADCAST
    assert balance(chain, recipient) == AMOUNT


@pytest.mark.django_db
def test_a_payout_reverted_on_chain_fails_and_returns_the_debit(chain: Chain, recipient) -> None:
    # More than the hot wallet holds: the transfer is mined with status 0 (fixed gas limit).
    whale = UserFactory()
    too_much = balance(chain, chain.deposit) + 1
    funded_wallet(user=whale, amount=too_much, asset="AGR")
    payout = chain_payout_create(user=whale, to_address=recipient, amount=too_much, reference="p-revert")
    assert account(whale) == 0
    chain_payout_send(payout_id=payout.pk)
    failed = chain_payout_confirm(payout_id=payout.pk)
    assert failed.status == Status.FAILED
    assert account(whale) == too_much
    assert LedgerTransaction.objects.filter(reverses=payout.ledger_transaction).exists()
    assert balance(chain, recipient) == 0


@pytest.mark.django_db
def test_confirmation_waits_for_enough_blocks(chain: Chain, creator, recipient, settings) -> None:
    require_confirmations(2)
    payout = chain_payout_create(user=creator, to_address=recipient, amount=AMOUNT, reference="p-deep")
    chain_payout_send(payout_id=payout.pk)
    assert chain_payout_confirm(payout_id=payout.pk).status == Status.BROADCAST
    chain.client.mine(1)
    assert chain_payout_confirm(payout_id=payout.pk).status == Status.CONFIRMED


@pytest.mark.django_db
def test_development_hot_wallet_key_is_refused_off_the_development_chain(
    chain: Chain, creator, recipient, settings
) -> None:
    payout = chain_payout_create(user=creator, to_address=recipient, amount=AMOUNT, reference="p-guard")
    settings.WEB3_CHAIN_ID = 1
    with pytest.raises(ChainNotConfigured):
        chain_payout_sign(payout_id=payout.pk)
    assert ChainPayout.objects.get(pk=payout.pk).status == Status.PENDING


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_signing_takes_distinct_consecutive_nonces(chain: Chain, recipient) -> None:
    from tests.tokenomics.concurrency.threads import race

    user = UserFactory()
    funded_wallet(user=user, amount=agr(100), asset="AGR")
    payouts = [
        chain_payout_create(user=user, to_address=recipient, amount=agr(1), reference=f"p-c{i}")
        for i in range(8)
    ]
    start = chain.client.nonce(chain.deposit)
    outcomes = race(len(payouts) * 2, lambda i: chain_payout_sign(payout_id=payouts[i % len(payouts)].pk))
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    nonces = sorted(ChainPayout.objects.values_list("nonce", flat=True))
    assert nonces == list(range(start, start + len(payouts)))
    assert HotWallet.objects.get().next_nonce == start + len(payouts)
    assert chain_payouts_process().confirmed == len(payouts)
    assert balance(chain, recipient) == agr(len(payouts))
