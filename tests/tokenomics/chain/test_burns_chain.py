"""Burns end to end on the in-process EVM: what the ledger's burn account received (the network fee
of an AGR sale, a slash) is sent in one batched transfer to the burn address, signed before it is
broadcast and confirmed with its transaction hash; a rerun sends nothing twice, a reverted batch is
sent again. Balances on the shared chain are measured as differences (see conftest)."""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.accounts.factories import UserFactory
from tests.tokenomics.chain.conftest import Chain
from tests.tokenomics.factories import funded_wallet
from tokenomics.errors import AmountInvalid
from tokenomics.models import ChainBurn, LedgerAccount
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.money import agr
from tokenomics.selectors.ledger import account_balance
from tokenomics.services.burns import burn_post, chain_burn_batch, chain_burns_process
from tokenomics.services.escrow import escrow_hold, escrow_release
from tokenomics.tasks.epochs import chain_process_burns

pytestmark = pytest.mark.django_db


def onchain(chain: Chain, address: str) -> int:
    return chain.client.erc20_balance(token=chain.token, address=address)


def ledger_burned() -> int:
    account = LedgerAccount.objects.filter(kind=AccountKind.BURN, asset="AGR").first()
    return account_balance(account=account) if account else 0


def test_the_network_fee_of_an_agr_sale_is_burned_on_chain_once(chain: Chain) -> None:
    buyer, creator = UserFactory(), UserFactory()
    wallet = funded_wallet(user=buyer, amount=agr(1_000), asset="AGR")
    escrow = escrow_hold(
        reference="burn-test-sale", creator=creator, source_account=wallet, amount=agr(1_000)
    )
    escrow_release(escrow_id=escrow.pk)
    fee = ledger_burned()
    assert fee == agr(20)  # 2% network fee of an AGR sale, burned in the ledger
    dead_before = onchain(chain, settings.WEB3_BURN_ADDRESS)
    hot_before = onchain(chain, chain.deposit)

    run = chain_burns_process()

    assert (run.batched, run.confirmed, run.failed) == (fee, 1, 0)
    burn = ChainBurn.objects.get()
    assert burn.status == ChainBurn.Status.CONFIRMED
    assert burn.amount == burn.ledger_burned == fee
    assert burn.tx_hash
    assert chain.client.receipt(burn.tx_hash).status == 1
    assert onchain(chain, settings.WEB3_BURN_ADDRESS) == dead_before + fee
    assert onchain(chain, chain.deposit) == hot_before - fee

    assert chain_process_burns.delay().get() == {"batched": "0", "confirmed": 0, "failed": 0}
    assert ChainBurn.objects.count() == 1
    assert onchain(chain, settings.WEB3_BURN_ADDRESS) == dead_before + fee


def test_a_new_burn_is_sent_in_the_next_batch_alone(chain: Chain) -> None:
    holder = UserFactory()
    wallet = funded_wallet(user=holder, amount=agr(50), asset="AGR")
    burn_post(source=wallet, amount=agr(7), idempotency_key="burn-test:slash:1", memo="Slashed stake")
    chain_burns_process()
    dead_before = onchain(chain, settings.WEB3_BURN_ADDRESS)
    burn_post(source=wallet, amount=agr(3), idempotency_key="burn-test:slash:2", memo="Slashed stake")

    run = chain_burns_process()

    assert run.batched == agr(3)
    latest = ChainBurn.objects.order_by("-pk").first()
    assert latest is not None
    assert (latest.amount, latest.ledger_burned) == (agr(3), agr(10))
    assert onchain(chain, settings.WEB3_BURN_ADDRESS) == dead_before + agr(3)
    assert LedgerAccount.objects.get(pk=wallet.pk).balance == agr(40)
    assert latest.hot_wallet is not None


def test_a_reverted_batch_is_failed_and_its_amount_batched_again(chain: Chain) -> None:
    whale = UserFactory()
    too_much = 2 * onchain(chain, chain.deposit)  # more than the hot wallet holds: it reverts
    wallet = funded_wallet(user=whale, amount=too_much, asset="AGR")
    tx = burn_post(source=wallet, amount=too_much, idempotency_key="burn-test:whale", memo="Burn")
    assert tx.kind == TransactionKind.BURN

    assert chain_burns_process().failed == 1
    failed = ChainBurn.objects.get()
    assert failed.status == ChainBurn.Status.FAILED
    assert chain.client.receipt(failed.tx_hash).status == 0

    again = chain_burn_batch()
    assert again is not None
    assert again.amount == too_much
    assert again.pk != failed.pk
    assert chain_burn_batch() is None  # one open batch at a time


def test_only_agr_is_burned(chain: Chain) -> None:
    usd = funded_wallet(user=UserFactory(), amount=500, asset="USD")
    with pytest.raises(AmountInvalid, match="Only AGR"):
        burn_post(source=usd, amount=100, idempotency_key="burn-test:usd", memo="no")
