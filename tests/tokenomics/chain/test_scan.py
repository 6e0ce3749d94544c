"""The periodic scan of Transfer logs to the deposit address: a log that pays an awaiting payment
of its sender's owner is credited; any other is recorded unmatched (no credit) and can be claimed
later by verifying its hash; nothing above the last confirmed block is touched; rescans are no-ops.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.accounts.factories import UserFactory
from tests.tokenomics.chain.conftest import Chain, ledger_state, link, pay, require_confirmations
from tokenomics.models.ledger import AccountKind
from tokenomics.models.rails import ChainScanCursor, ChainTransfer, PaymentStatus
from tokenomics.money import agr
from tokenomics.services.chain_rail import agr_payment_start, agr_payment_verify
from tokenomics.services.chain_scan import transfers_scan, transfers_scan_recent
from tokenomics.services.ledger_accounts import user_account_get_or_create
from tokenomics.tasks.chain import chain_scan_transfers

pytestmark = pytest.mark.django_db

DUE = agr(9)


def block_of(chain: Chain, tx: str) -> int:
    receipt = chain.client.receipt(tx)
    assert receipt is not None
    return receipt.block_number


def test_scan_credits_the_payment_its_sender_owes_and_records_the_rest(chain: Chain, new_key) -> None:
    buyer, stranger = UserFactory(), new_key()
    key = new_key()
    link(buyer, key)
    older = agr_payment_start(user=buyer, purpose="test_order", amount=agr(50))
    exact = agr_payment_start(user=buyer, purpose="test_order", amount=DUE)
    paid = pay(chain, key, DUE)
    unlinked = pay(chain, stranger, DUE)
    start = block_of(chain, paid)

    result = transfers_scan(from_block=start, to_block=chain.client.block_number())
    assert (result.seen, result.credited, result.unmatched, result.known) == (2, 1, 1, 0)
    exact.refresh_from_db()
    older.refresh_from_db()
    assert exact.status == PaymentStatus.SUCCEEDED  # the exact amount wins over the older, larger one
    assert older.status == PaymentStatus.AWAITING
    credited = ChainTransfer.objects.get(tx_hash=paid)
    assert credited.payment_id == exact.pk
    assert credited.ledger_transaction_id is not None
    recorded = ChainTransfer.objects.get(tx_hash=unlinked)
    assert recorded.payment_id is None
    assert recorded.ledger_transaction_id is None

    before = ledger_state()
    again = transfers_scan(from_block=start, to_block=chain.client.block_number())
    assert (again.credited, again.unmatched, again.known) == (0, 0, 2)
    assert ledger_state() == before


def test_an_unmatched_transfer_is_claimed_by_verifying_its_hash(chain: Chain, new_key) -> None:
    buyer = UserFactory()
    key = new_key()
    tx = pay(chain, key, DUE)  # sent before the wallet was linked and before the payment existed
    result = transfers_scan(from_block=block_of(chain, tx), to_block=block_of(chain, tx))
    assert result.unmatched == 1

    link(buyer, key)
    payment = agr_payment_start(user=buyer, purpose="test_order", amount=DUE)
    verified = agr_payment_verify(payment_id=payment.pk, tx_hash=tx)
    assert verified.credited == DUE
    row = ChainTransfer.objects.get(tx_hash=tx)
    assert row.payment_id == payment.pk
    assert row.ledger_transaction_id is not None
    assert user_account_get_or_create(user=buyer, kind=AccountKind.WALLET, asset="AGR").balance == DUE


def test_scan_stops_at_the_last_confirmed_block(chain: Chain, new_key, settings) -> None:
    require_confirmations(3)
    buyer = UserFactory()
    key = new_key()
    link(buyer, key)
    payment = agr_payment_start(user=buyer, purpose="test_order", amount=DUE)
    tx = pay(chain, key, DUE)
    block = block_of(chain, tx)
    result = transfers_scan(from_block=block, to_block=block + 100)
    assert result.to_block == block - 2
    assert result.seen == 0
    assert not ChainTransfer.objects.exists()
    chain.client.mine(2)
    result = transfers_scan(from_block=block, to_block=block + 100)
    assert (result.to_block, result.credited) == (block, 1)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


def test_recent_scan_keeps_a_cursor_and_the_task_runs_it(chain: Chain, new_key) -> None:
    buyer = UserFactory()
    key = new_key()
    link(buyer, key)
    payment = agr_payment_start(user=buyer, purpose="test_order", amount=DUE)
    pay(chain, key, DUE)
    first = transfers_scan_recent()  # no cursor: looks back WEB3_SCAN_LOOKBACK_BLOCKS
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert first.from_block == 0
    chain.client.mine(1)
    summary = chain_scan_transfers.delay().get()
    assert summary["to_block"] == chain.client.block_number()
    assert summary["credited"] == 0


def test_the_scan_cursor_is_a_database_row_that_survives_a_cache_flush_and_only_moves_forward(
    chain: Chain, new_key
) -> None:
    # Issue 16 item 4: stateless processes share the cursor through the database, not the cache.
    first = transfers_scan_recent()
    cursor = ChainScanCursor.objects.get()
    assert cursor.last_block == first.to_block
    cache.clear()
    chain.client.mine(2)
    second = transfers_scan_recent()
    assert second.from_block == first.to_block + 1  # resumed from the row, not the lookback
    assert ChainScanCursor.objects.get().last_block == second.to_block
    transfers_scan(from_block=0, to_block=first.to_block)  # an explicit rescan of old blocks
    assert ChainScanCursor.objects.get().last_block == second.to_block
