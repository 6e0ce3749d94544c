"""Paying with AGR (C2): every forged or unfit transaction is refused with the check it failed and
no ledger change; the valid one is credited, and an overpayment stays in the buyer's AGR wallet.

Every case is a real transaction on the in-process EVM with the real compiled token, except two
that no honest node produces here — a log with `removed: true` (eth-tester never reorgs) and a
receipt whose logs claim another transaction. Those take the node's real receipt for a valid
payment and alter that one field at the narrowest boundary, `ChainClient._fetch_receipt` (the raw
JSON-RPC answer), so parsing and every check downstream are the real ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from tests.accounts.factories import UserFactory
from tests.tokenomics.chain.conftest import Chain, LedgerState, ledger_state, link, pay, require_confirmations
from tokenomics.chain_client import ChainClient, address_of, erc20_transfer_calldata
from tokenomics.contracts import agr_artefact
from tokenomics.models import Payment
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.models.rails import ChainTransfer, PaymentStatus
from tokenomics.money import agr
from tokenomics.selectors.ledger import system_balance
from tokenomics.services import payments
from tokenomics.services.chain_rail import (
    PaymentNotVerified,
    Reason,
    agr_payment_instructions,
    agr_payment_start,
    agr_payment_verify,
)
from tokenomics.services.escrow import escrow_hold
from tokenomics.services.ledger_accounts import user_account_get_or_create
from tokenomics.services.payments import payment_mark

pytestmark = pytest.mark.django_db

DUE = agr(25)
PURPOSE = "test_order"


@pytest.fixture
def buyer(db):
    return UserFactory()


@pytest.fixture
def buyer_key(buyer, new_key) -> str:
    key = new_key()
    link(buyer, key)
    return key


@pytest.fixture
def payment(buyer) -> Payment:
    return agr_payment_start(user=buyer, purpose=PURPOSE, amount=DUE)


def wallet_balance(user) -> int:
    return user_account_get_or_create(user=user, kind=AccountKind.WALLET, asset="AGR").balance


def assert_refused(payment: Payment, tx_hash: str, reason: Reason, status: int = 400) -> PaymentNotVerified:
    before: LedgerState = ledger_state()
    with pytest.raises(PaymentNotVerified) as caught:
        agr_payment_verify(payment_id=payment.pk, tx_hash=tx_hash)
    error = caught.value
    assert error.code == "payment_not_verified"
    assert error.detail["reason"] == reason.value
    assert error.status_code == status
    assert ledger_state() == before, "a refused transaction changed the ledger"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.AWAITING
    assert payment.received_amount == 0
    return error


def receipt_altered(monkeypatch: pytest.MonkeyPatch, alter: Callable[[dict[str, Any]], None]) -> None:
    real = ChainClient._fetch_receipt

    def fetch(self: ChainClient, tx_hash: str) -> Mapping[str, Any] | None:
        raw = real(self, tx_hash)
        if raw is None:
            return None
        answer = dict(raw)
        answer["logs"] = [dict(log) for log in raw["logs"]]
        alter(answer)
        return answer

    monkeypatch.setattr(ChainClient, "_fetch_receipt", fetch)


# ----------------------------------------------------------------------------- accepted


def test_start_fills_chain_token_deposit_and_instructions(chain: Chain, payment: Payment) -> None:
    assert payment.rail == "agr"
    assert payment.asset == "AGR"
    assert (payment.chain_id, payment.token_address, payment.deposit_address) == (
        1337,
        chain.token,
        chain.deposit,
    )
    instructions = agr_payment_instructions(payment=payment)
    assert instructions.amount == DUE
    assert instructions.reference == payment.reference
    assert instructions.transfer_data == erc20_transfer_calldata(to=chain.deposit, amount=DUE)
    assert instructions.transfer_data.startswith("0xa9059cbb")


def test_the_browser_wallet_call_from_the_instructions_pays(chain: Chain, buyer, buyer_key, payment) -> None:
    # What an EIP-1193 wallet sends: eth_sendTransaction {to: token, data: transfer_data}.
    instructions = agr_payment_instructions(payment=payment)
    tx = chain.client.transact(
        private_key=buyer_key, to=instructions.token_address, data=instructions.transfer_data
    )
    chain.client.receipt_wait(tx)
    result = agr_payment_verify(payment_id=payment.pk, tx_hash=tx)
    assert result.payment.status == PaymentStatus.SUCCEEDED
    assert result.credited == DUE


def test_valid_payment_is_credited_once_with_its_unique_row(chain: Chain, buyer, buyer_key, payment) -> None:
    tx = pay(chain, buyer_key, DUE)
    result = agr_payment_verify(payment_id=payment.pk, tx_hash=tx.upper().replace("0X", "0x"))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.received_amount == DUE
    assert payment.paid_at is not None
    assert result.credited == DUE
    [row] = ChainTransfer.objects.all()
    assert (row.chain_id, row.tx_hash, row.payment_id) == (1337, tx, payment.pk)
    assert (row.from_address, row.to_address, row.token_address, row.amount) == (
        address_of(buyer_key),
        chain.deposit,
        chain.token,
        DUE,
    )
    assert row.ledger_transaction.idempotency_key == f"chain:1337:{tx}:{row.log_index}"
    assert row.ledger_transaction.kind == TransactionKind.DEPOSIT
    assert wallet_balance(buyer) == DUE
    assert system_balance(kind=AccountKind.EXTERNAL_CHAIN, asset="AGR") == -DUE


def test_overpayment_is_credited_and_the_extra_stays_in_the_wallet(
    chain: Chain, buyer, buyer_key, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A purpose handler like an order's: once paid, the due amount moves on into escrow.
    creator = UserFactory()

    def hold_due(paid: Payment) -> None:
        escrow_hold(
            reference=paid.reference,
            creator=creator,
            source_account=user_account_get_or_create(user=paid.user, kind=AccountKind.WALLET, asset="AGR"),
            amount=paid.amount,
            payer=paid.user,
        )

    monkeypatch.setitem(payments._handlers, "test_order_held", hold_due)
    payment = agr_payment_start(user=buyer, purpose="test_order_held", amount=DUE)
    extra = agr(7) + 3
    tx = pay(chain, buyer_key, DUE + extra)
    result = agr_payment_verify(payment_id=payment.pk, tx_hash=tx)
    assert result.payment.status == PaymentStatus.SUCCEEDED
    assert result.payment.received_amount == DUE + extra
    assert wallet_balance(buyer) == extra
    assert system_balance(kind=AccountKind.ESCROW, asset="AGR") == DUE


# ----------------------------------------------------------------------------- refused (C2)


def test_lookalike_token_contract_is_refused(chain: Chain, buyer, buyer_key, payment) -> None:
    # A second deployment of the very same ERC-20: same name, symbol and Transfer event.
    fake = chain.client.contract_deploy(private_key=buyer_key, bytecode=agr_artefact().bytecode)
    tx = pay(chain, buyer_key, DUE, token=fake)
    error = assert_refused(payment, tx, Reason.WRONG_TOKEN)
    assert error.detail["tokens"] == [fake]


def test_transfer_to_another_recipient_is_refused(chain: Chain, buyer, buyer_key, payment, new_key) -> None:
    elsewhere = address_of(new_key(agr_amount=0))
    tx = pay(chain, buyer_key, DUE, to=elsewhere)
    assert_refused(payment, tx, Reason.WRONG_RECIPIENT)


def test_one_base_unit_short_is_refused(chain: Chain, buyer, buyer_key, payment) -> None:
    tx = pay(chain, buyer_key, DUE - 1)
    error = assert_refused(payment, tx, Reason.AMOUNT_SHORT)
    assert error.detail["due"] == str(DUE)
    assert error.detail["transferred"] == str(DUE - 1)


def test_reverted_transaction_is_refused(chain: Chain, buyer, new_key, payment) -> None:
    key = new_key(agr_amount=DUE - 1)
    link(buyer, key)
    # More than the balance, with a fixed gas limit so that the node mines it anyway (status 0).
    tx = chain.client.erc20_transfer(
        private_key=key, token=chain.token, to=chain.deposit, amount=DUE, gas=100_000
    )
    assert chain.client.receipt_wait(tx).status == 0
    assert_refused(payment, tx, Reason.TX_REVERTED)


def test_transaction_on_another_chain_than_the_payment_is_refused(
    chain: Chain, buyer, buyer_key, settings
) -> None:
    # The payment expects chain 5; the transfer is a perfectly good one on the node's chain 1337.
    settings.WEB3_CHAIN_ID = 5
    settings.WEB3_DEPOSIT_ADDRESS = chain.deposit
    payment = agr_payment_start(user=buyer, purpose=PURPOSE, amount=DUE)
    settings.WEB3_CHAIN_ID = 1337
    assert payment.chain_id == 5
    tx = pay(chain, buyer_key, DUE)
    error = assert_refused(payment, tx, Reason.WRONG_CHAIN)
    assert (error.detail["expected_chain_id"], error.detail["chain_id"]) == (5, 1337)


def test_removed_log_is_refused(
    chain: Chain, buyer, buyer_key, payment, monkeypatch: pytest.MonkeyPatch
) -> None:
    tx = pay(chain, buyer_key, DUE)

    def removed(receipt: dict[str, Any]) -> None:
        for log in receipt["logs"]:
            log["removed"] = True

    receipt_altered(monkeypatch, removed)
    assert_refused(payment, tx, Reason.LOG_REMOVED, status=409)
    monkeypatch.undo()  # the same receipt, not removed, is accepted: only the flag was refused
    assert agr_payment_verify(payment_id=payment.pk, tx_hash=tx).payment.status == PaymentStatus.SUCCEEDED


def test_sender_not_linked_to_the_buyer_is_refused(chain: Chain, buyer, new_key, payment) -> None:
    stranger = new_key()
    link(UserFactory(), stranger)  # linked, but to someone else
    tx = pay(chain, stranger, DUE)
    error = assert_refused(payment, tx, Reason.SENDER_NOT_LINKED)
    assert error.detail["senders"] == [address_of(stranger)]
    unlinked = new_key()
    assert_refused(payment, pay(chain, unlinked, DUE), Reason.SENDER_NOT_LINKED)


def test_too_few_confirmations_is_refused_until_deep_enough(
    chain: Chain, buyer, buyer_key, payment, settings
) -> None:
    require_confirmations(3)
    tx = pay(chain, buyer_key, DUE)
    error = assert_refused(payment, tx, Reason.TOO_FEW_CONFIRMATIONS, status=409)
    assert (error.detail["confirmations"], error.detail["required"]) == (1, 3)
    chain.client.mine(1)
    error = assert_refused(payment, tx, Reason.TOO_FEW_CONFIRMATIONS, status=409)
    assert error.detail["confirmations"] == 2
    chain.client.mine(1)
    assert agr_payment_verify(payment_id=payment.pk, tx_hash=tx).payment.status == PaymentStatus.SUCCEEDED


def test_unknown_transaction_is_refused(chain: Chain, payment) -> None:
    assert_refused(payment, "0x" + "ab" * 32, Reason.TX_NOT_FOUND, status=409)


def test_malformed_hash_is_refused(chain: Chain, payment) -> None:
    for bad in ("", "0x1234", "0x" + "zz" * 32, "0x" + "ab" * 33):
        assert_refused(payment, bad, Reason.INVALID_TX_HASH)


def test_transaction_without_an_agr_transfer_is_refused(chain: Chain, buyer, buyer_key, payment) -> None:
    # approve() emits Approval, never Transfer: nothing arrived.
    tx = chain.client.contract_transact(
        private_key=buyer_key,
        address=chain.token,
        abi=agr_artefact().abi,
        function="approve",
        args=(chain.deposit, DUE),
    )
    chain.client.receipt_wait(tx)
    assert_refused(payment, tx, Reason.WRONG_TOKEN)


def test_logs_claiming_another_transaction_are_refused(
    chain: Chain, buyer, buyer_key, payment, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = pay(chain, buyer_key, 1)
    tx = pay(chain, buyer_key, DUE)

    def foreign(receipt: dict[str, Any]) -> None:
        receipt["logs"][0]["transactionHash"] = other

    receipt_altered(monkeypatch, foreign)
    assert_refused(payment, tx, Reason.TX_MISMATCH)


def test_duplicated_log_in_a_receipt_is_refused(
    chain: Chain, buyer, buyer_key, payment, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Half the due amount, with its log repeated under the same index, must not count twice.
    tx = pay(chain, buyer_key, DUE // 2)
    receipt_altered(monkeypatch, lambda receipt: receipt["logs"].append(dict(receipt["logs"][0])))
    assert_refused(payment, tx, Reason.TX_MISMATCH)


def test_canceled_payment_is_not_credited(chain: Chain, buyer, buyer_key, payment) -> None:
    tx = pay(chain, buyer_key, DUE)
    payment_mark(payment_id=payment.pk, status=PaymentStatus.CANCELED)
    before = ledger_state()
    with pytest.raises(PaymentNotVerified) as caught:
        agr_payment_verify(payment_id=payment.pk, tx_hash=tx)
    assert caught.value.detail["reason"] == Reason.PAYMENT_CLOSED
    assert caught.value.status_code == 409
    assert ledger_state() == before


def test_card_payment_cannot_be_paid_on_chain(chain: Chain, buyer, buyer_key) -> None:
    card = payments.payment_create(user=buyer, purpose=PURPOSE, rail="card", amount=500)
    tx = pay(chain, buyer_key, DUE)
    before = ledger_state()
    with pytest.raises(PaymentNotVerified) as caught:
        agr_payment_verify(payment_id=card.pk, tx_hash=tx)
    assert caught.value.detail["reason"] == Reason.WRONG_RAIL
    assert ledger_state() == before
