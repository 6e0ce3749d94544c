"""The AGR rail against a real in-process EVM (eth-tester + py-evm) running the compiled AGR.vy.

One chain per test process (`WEB3_PROVIDER_URL="tester"`, chain id 1337, ganache's deterministic
accounts funded with ETH): the token is deployed once per session and every test sends real
transactions to it. The chain outlives each test's database, so tests use fresh buyer keys and
measure balances as differences, never as absolute values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import override_settings
from eth_account import Account

from accounts.models import User, Wallet
from tests.tokenomics.conftest import database_fixture
from tokenomics.chain_client import ChainClient, address_of, chain_client_get
from tokenomics.contracts import agr_artefact
from tokenomics.models import Parameter
from tokenomics.money import agr
from tokenomics.selectors.parameters import parameter_cache_key

DEV_CHAIN_ID = 1337
HOT_WALLET_AGR = agr(50_000_000)
BUYER_AGR = agr(100_000)
BUYER_WEI = 10**18


@dataclass(frozen=True)
class Chain:
    client: ChainClient
    token: str
    deposit: str  # the hot wallet's address (WEB3_DEPOSIT_ADDRESS left empty)
    deployer_key: str
    hot_key: str


def tester_settings(token: str) -> dict[str, object]:
    return {
        "WEB3_PROVIDER_URL": "tester",
        "WEB3_CHAIN_ID": DEV_CHAIN_ID,
        "WEB3_TOKEN_ADDRESS": token,
        "WEB3_DEPOSIT_ADDRESS": "",
        "WEB3_HOT_WALLET_KEY": django_settings.DEV_HOT_WALLET_KEY,
        "WEB3_DEPLOYER_KEY": django_settings.DEV_DEPLOYER_KEY,
    }


@pytest.fixture(scope="session")
def chain() -> Chain:
    # The override only lasts the deployment; the process-wide "tester" chain stays behind, and each
    # test points the settings at it (below), so nothing leaks into tests outside this folder.
    deployer = django_settings.DEV_DEPLOYER_KEY
    hot = django_settings.DEV_HOT_WALLET_KEY
    with override_settings(**tester_settings("")):
        client = chain_client_get()
        token = client.contract_deploy(private_key=deployer, bytecode=agr_artefact().bytecode)
        client.receipt_wait(
            client.erc20_transfer(
                private_key=deployer, token=token, to=address_of(hot), amount=HOT_WALLET_AGR
            )
        )
    return Chain(client=client, token=token, deposit=address_of(hot), deployer_key=deployer, hot_key=hot)


CONFIRMATIONS = "payments.agr_confirmations"


def require_confirmations(blocks: int) -> None:
    """Set the registry's AGR confirmation count for this test: the tester chain mines a block only
    per transaction, where a live chain keeps growing (the demo's ganache mines one a second)."""
    Parameter.objects.filter(key=CONFIRMATIONS).update(value=blocks)
    cache.delete(parameter_cache_key(CONFIRMATIONS))


def use_tester_chain(settings: object, token: str) -> None:
    """Point the AGR rail at the in-process chain, one confirmation deep (the database must be on)."""
    for name, value in tester_settings(token).items():
        setattr(settings, name, value)
    require_confirmations(1)


@pytest.fixture(autouse=True)
def _chain_settings(chain: Chain, settings: object, request: pytest.FixtureRequest) -> None:
    for name, value in tester_settings(chain.token).items():
        setattr(settings, name, value)
    fixture = database_fixture(request)
    if fixture is not None:
        request.getfixturevalue(fixture)
        require_confirmations(1)


@pytest.fixture
def new_key(chain: Chain) -> Callable[..., str]:
    """A fresh private key holding ETH for gas and `agr_amount` AGR base units."""

    def make(agr_amount: int = BUYER_AGR) -> str:
        key = "0x" + bytes(Account.create().key).hex()
        address = address_of(key)
        chain.client.receipt_wait(
            chain.client.eth_transfer(private_key=chain.deployer_key, to=address, wei=BUYER_WEI)
        )
        if agr_amount:
            chain.client.receipt_wait(
                chain.client.erc20_transfer(
                    private_key=chain.deployer_key, token=chain.token, to=address, amount=agr_amount
                )
            )
        return key

    return make


def link(user: User, key: str) -> Wallet:
    """Link the key's address to the user, as a SIWE link would (the row is what verification reads)."""
    return Wallet.objects.create(user=user, address=address_of(key), chain_id=DEV_CHAIN_ID)


def pay(chain: Chain, key: str, amount: int, *, to: str | None = None, token: str | None = None) -> str:
    """Send `amount` AGR base units from `key` (to the deposit address unless `to`); wait until mined."""
    tx = chain.client.erc20_transfer(
        private_key=key, token=token or chain.token, to=to or chain.deposit, amount=amount
    )
    chain.client.receipt_wait(tx)
    return tx


@dataclass(frozen=True)
class LedgerState:
    transactions: int
    entries: int
    chain_transfers: int
    payments: tuple[tuple[int, int, str], ...]  # (pk, received_amount, status)


def ledger_state() -> LedgerState:
    from tokenomics.models import LedgerEntry, LedgerTransaction, Payment
    from tokenomics.models.rails import ChainTransfer

    return LedgerState(
        transactions=LedgerTransaction.objects.count(),
        entries=LedgerEntry.objects.count(),
        chain_transfers=ChainTransfer.objects.count(),
        payments=tuple(Payment.objects.order_by("pk").values_list("pk", "received_amount", "status")),
    )
