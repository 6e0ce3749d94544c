"""The AGR token: the committed artefact is what AGR.vy compiles to, and it behaves as an ERC-20."""

from __future__ import annotations

import json

from tests.tokenomics.chain.conftest import Chain
from tokenomics.chain_client import TRANSFER_TOPIC, address_of
from tokenomics.contracts import AGR_ARTEFACT, agr_artefact, agr_compile, source_sha256
from tokenomics.money import agr

SUPPLY = agr(1_000_000_000)


def test_committed_artefact_is_what_the_source_compiles_to() -> None:
    import vyper  # a pinned development dependency: without it this proof must fail, not skip

    committed = json.loads(AGR_ARTEFACT.read_text())
    fresh = agr_compile()
    assert committed["vyper_version"] == vyper.__version__ == fresh["vyper_version"]
    assert committed["source_sha256"] == source_sha256() == fresh["source_sha256"]
    assert committed["abi"] == fresh["abi"]
    assert committed["bytecode"] == fresh["bytecode"]
    assert committed == fresh


def test_abi_is_the_erc20_interface() -> None:
    entries = {(e["type"], e.get("name")) for e in agr_artefact().abi}
    for function in ("transfer", "transferFrom", "approve", "allowance", "balanceOf", "totalSupply"):
        assert ("function", function) in entries
    for function in ("name", "symbol", "decimals"):
        assert ("function", function) in entries
    assert {("event", "Transfer"), ("event", "Approval")} <= entries
    # No mint, burn, owner or pause: the supply is fixed at deployment.
    assert not {name for kind, name in entries if kind == "function"} - {
        "transfer",
        "transferFrom",
        "approve",
        "allowance",
        "balanceOf",
        "totalSupply",
        "name",
        "symbol",
        "decimals",
    }


def test_deployment_mints_the_fixed_supply_to_the_deployer(chain: Chain, new_key) -> None:
    owner_key = new_key(agr_amount=0)
    token = chain.client.contract_deploy(private_key=owner_key, bytecode=agr_artefact().bytecode)
    abi = agr_artefact().abi
    call = lambda fn, *args: chain.client.contract_call(address=token, abi=abi, function=fn, args=args)  # noqa: E731
    assert call("name") == "Agora Token"
    assert call("symbol") == "AGR"
    assert call("decimals") == 18
    assert call("totalSupply") == SUPPLY
    assert call("balanceOf", address_of(owner_key)) == SUPPLY


def test_transfer_moves_balance_and_logs_transfer(chain: Chain, new_key) -> None:
    sender_key, receiver_key = new_key(agr_amount=agr(10)), new_key(agr_amount=0)
    sender, receiver = address_of(sender_key), address_of(receiver_key)
    tx = chain.client.erc20_transfer(private_key=sender_key, token=chain.token, to=receiver, amount=agr(3))
    receipt = chain.client.receipt_wait(tx)
    assert receipt.status == 1
    [log] = receipt.transfers
    assert (log.token, log.sender, log.recipient, log.amount) == (chain.token, sender, receiver, agr(3))
    assert chain.client.erc20_balance(token=chain.token, address=sender) == agr(7)
    assert chain.client.erc20_balance(token=chain.token, address=receiver) == agr(3)
    assert TRANSFER_TOPIC == "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"


def test_approve_allowance_and_transfer_from(chain: Chain, new_key) -> None:
    abi = agr_artefact().abi
    owner_key, spender_key, receiver_key = (
        new_key(agr_amount=agr(10)),
        new_key(agr_amount=0),
        new_key(agr_amount=0),
    )
    owner, spender, receiver = address_of(owner_key), address_of(spender_key), address_of(receiver_key)
    client = chain.client
    approve = client.contract_transact(
        private_key=owner_key, address=chain.token, abi=abi, function="approve", args=(spender, agr(4))
    )
    assert client.receipt_wait(approve).status == 1
    assert client.contract_call(
        address=chain.token, abi=abi, function="allowance", args=(owner, spender)
    ) == agr(4)

    pulled = client.contract_transact(
        private_key=spender_key,
        address=chain.token,
        abi=abi,
        function="transferFrom",
        args=(owner, receiver, agr(3)),
    )
    receipt = client.receipt_wait(pulled)
    assert receipt.status == 1
    # The Transfer log names the owner whose tokens moved, not the spender who sent the transaction.
    assert [(t.sender, t.recipient, t.amount) for t in receipt.transfers] == [(owner, receiver, agr(3))]
    assert client.contract_call(
        address=chain.token, abi=abi, function="allowance", args=(owner, spender)
    ) == agr(1)

    too_much = client.contract_transact(
        private_key=spender_key,
        address=chain.token,
        abi=abi,
        function="transferFrom",
        args=(owner, receiver, agr(2)),
        gas=100_000,
    )
    assert client.receipt_wait(too_much).status == 0
    assert client.erc20_balance(token=chain.token, address=owner) == agr(7)


def test_transfers_beyond_balance_or_to_the_zero_address_revert(chain: Chain, new_key) -> None:
    key = new_key(agr_amount=agr(1))
    over = chain.client.erc20_transfer(
        private_key=key, token=chain.token, to=chain.deposit, amount=agr(1) + 1, gas=100_000
    )
    zero = chain.client.erc20_transfer(
        private_key=key, token=chain.token, to="0x" + "00" * 20, amount=1, gas=100_000
    )
    for tx in (over, zero):
        receipt = chain.client.receipt_wait(tx)
        assert receipt.status == 0
        assert receipt.transfers == ()
    assert chain.client.erc20_balance(token=chain.token, address=address_of(key)) == agr(1)
