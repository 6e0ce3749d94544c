"""AGR payouts end to end on the in-process EVM (eth-tester + py-evm running AGR.vy): a creator's
payout request becomes one ChainPayout of the net, which `chain_payouts_process` signs, broadcasts
and confirms; the recipient's on-chain AGR balance rises by exactly the net, and the payout is then
marked paid. A transfer that reverts fails the payout and returns the whole amount, fee included.
Balances on the shared chain are measured as differences (see conftest)."""

from __future__ import annotations

import pytest

from tests.accounts.factories import UserFactory, staff_with
from tests.tokenomics.chain.conftest import Chain
from tests.tokenomics.payout_factories import balance_of, funded_payable, payout_wallet
from tokenomics.chain_client import address_of
from tokenomics.models import LedgerTransaction, Payout
from tokenomics.models.ledger import AccountKind
from tokenomics.models.rails import ChainPayout
from tokenomics.money import agr
from tokenomics.services.chain_payouts import chain_payouts_process
from tokenomics.services.payouts import (
    payout_approve,
    payout_request,
    payouts_run_scheduled,
    payouts_sync_chain,
)
from tokenomics.services.staking import kyc_verify
from tokenomics.tasks.payouts import sync_payouts

pytestmark = pytest.mark.django_db

CREATOR = AccountKind.CREATOR_PAYABLE


def onchain(chain: Chain, address: str) -> int:
    return chain.client.erc20_balance(token=chain.token, address=address)


def test_instant_agr_payout_reaches_the_linked_wallet_net_of_the_fee(chain: Chain, new_key) -> None:
    creator = UserFactory()
    key = new_key(agr_amount=0)
    recipient = address_of(key)
    payout_wallet(user=creator, address=recipient)
    funded_payable(user=creator, amount=agr(1_000), asset="AGR")
    hot_before = onchain(chain, chain.deposit)

    payout = payout_request(user=creator, asset="AGR", amount=agr(400))
    assert payout.to_address == recipient
    assert payout.fee == agr(6)  # 150 bps
    assert payout.net == agr(394)
    assert onchain(chain, recipient) == 0  # nothing is sent inside the request

    run = chain_payouts_process()
    assert (run.signed, run.broadcast, run.confirmed, run.failed) == (1, 1, 1, 0)
    assert onchain(chain, recipient) == agr(394)
    assert onchain(chain, chain.deposit) == hot_before - agr(394)

    assert sync_payouts.delay().get() == {"paid": 1, "failed": 0}
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    assert payout.chain_payout.status == ChainPayout.Status.CONFIRMED
    assert payout.chain_payout.tx_hash
    assert balance_of(creator, CREATOR, "AGR") == agr(600)
    # Processing again sends nothing more.
    chain_payouts_process()
    assert onchain(chain, recipient) == agr(394)


def test_scheduled_agr_payout_sends_the_whole_balance_without_fee(chain: Chain, new_key) -> None:
    provider = UserFactory()
    key = new_key(agr_amount=0)
    payout_wallet(user=provider, address=address_of(key))
    funded_payable(user=provider, amount=agr(250), asset="AGR", kind=AccountKind.PROVIDER_PAYABLE)
    run = payouts_run_scheduled()
    assert run.created == 1
    chain_payouts_process()
    payouts_sync_chain()
    payout = Payout.objects.get(user=provider)
    assert (payout.status, payout.fee, payout.instant) == (Payout.Status.PAID, 0, False)
    assert onchain(chain, address_of(key)) == agr(250)
    assert payouts_run_scheduled().created == 0  # once a period


def test_a_reverted_transfer_fails_the_payout_and_returns_everything(chain: Chain, new_key) -> None:
    # More than the hot wallet holds: mined with status 0. Worth far above the KYC threshold, so it
    # waits for staff first and gets its transfer only when approved.
    whale = UserFactory()
    recipient = address_of(new_key(agr_amount=0))
    payout_wallet(user=whale, address=recipient)
    amount = 2 * onchain(chain, chain.deposit)
    funded_payable(user=whale, amount=amount, asset="AGR")
    revenue_before = balance_of(None, AccountKind.PLATFORM_REVENUE, "AGR")
    kyc_verify(user=whale, staff_user=UserFactory(is_staff=True))
    payout = payout_request(user=whale, asset="AGR", amount=amount, to_address=recipient)
    assert payout.status == Payout.Status.NEEDS_REVIEW
    assert chain_payouts_process().signed == 0  # nothing to send before review
    payout_approve(payout_id=payout.pk, staff=staff_with("tokenomics.settle_payout"))
    assert balance_of(None, AccountKind.PLATFORM_REVENUE, "AGR") == revenue_before + payout.fee

    assert chain_payouts_process().failed == 1
    assert payouts_sync_chain().failed == 1
    payout.refresh_from_db()
    assert payout.status == Payout.Status.FAILED
    assert "failed on chain" in payout.failure_reason
    assert payout.reversal_transaction == LedgerTransaction.objects.get(reverses=payout.ledger_transaction)
    assert balance_of(whale, CREATOR, "AGR") == amount
    assert balance_of(None, AccountKind.PLATFORM_REVENUE, "AGR") == revenue_before
    assert onchain(chain, recipient) == 0
