"""The chain client's plain data and failure modes, and where the rail's configuration comes from."""

from __future__ import annotations

import importlib
import json

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.tokenomics.chain.conftest import Chain, pay
from tokenomics.chain_client import (
    TRANSFER_TOPIC,
    ChainUnavailable,
    chain_client_get,
    checksum,
    receipt_from_rpc,
    transfer_log_decode,
    tx_hash_normalize,
)
from tokenomics.money import agr
from tokenomics.services.chain_rail import ChainNotConfigured, agr_rail_config

ADDRESS_A = "0x" + "11" * 20
ADDRESS_B = "0x" + "22" * 20


def topic(address: str) -> str:
    return "0x" + "00" * 12 + address[2:]


def raw_log(**overrides: object) -> dict[str, object]:
    log: dict[str, object] = {
        "address": ADDRESS_A,
        "topics": [TRANSFER_TOPIC, topic(ADDRESS_A), topic(ADDRESS_B)],
        "data": "0x" + f"{12345:064x}",
        "logIndex": "0x3",
        "transactionHash": "0x" + "ab" * 32,
        "blockNumber": "0x10",
    }
    log.update(overrides)
    return log


def test_a_real_receipt_is_plain_data(chain: Chain, new_key) -> None:
    key = new_key()
    tx = pay(chain, key, agr(2))
    receipt = chain.client.receipt(tx)
    assert receipt is not None
    assert (receipt.tx_hash, receipt.status, receipt.to) == (tx, 1, chain.token)
    [log] = receipt.transfers
    assert (log.token, log.recipient, log.amount, log.removed, log.tx_hash) == (
        chain.token,
        chain.deposit,
        agr(2),
        False,
        tx,
    )
    assert log.block_number == receipt.block_number <= chain.client.block_number()
    assert chain.client.receipt("0x" + "cd" * 32) is None


def test_only_the_erc20_transfer_shape_decodes() -> None:
    decoded = transfer_log_decode(raw_log())
    assert decoded is not None
    assert (decoded.sender, decoded.recipient, decoded.amount, decoded.log_index, decoded.block_number) == (
        checksum(ADDRESS_A),
        checksum(ADDRESS_B),
        12345,
        3,
        16,
    )
    erc721 = raw_log(
        topics=[TRANSFER_TOPIC, topic(ADDRESS_A), topic(ADDRESS_B), "0x" + "00" * 31 + "07"], data="0x"
    )
    other_event = raw_log(topics=["0x" + "99" * 32, topic(ADDRESS_A), topic(ADDRESS_B)])
    short_data = raw_log(data="0x01")
    assert transfer_log_decode(erc721) is None
    assert transfer_log_decode(other_event) is None
    assert transfer_log_decode(short_data) is None
    assert transfer_log_decode(raw_log(removed=True)).removed is True  # type: ignore[union-attr]


def test_receipt_parsing_keeps_every_transfer_log() -> None:
    receipt = receipt_from_rpc(
        {
            "transactionHash": "0x" + "ab" * 32,
            "blockNumber": 16,
            "status": 1,
            "from": ADDRESS_A,
            "to": ADDRESS_B,
            "contractAddress": None,
            "logs": [raw_log(), raw_log(logIndex=4, address=ADDRESS_B), raw_log(data="0x")],
        }
    )
    assert [(t.token, t.log_index) for t in receipt.transfers] == [
        (checksum(ADDRESS_A), 3),
        (checksum(ADDRESS_B), 4),
    ]


def test_hashes_and_addresses_are_validated() -> None:
    assert tx_hash_normalize("AB" * 32) == "0x" + "ab" * 32
    for bad in ("", "0x", "0x" + "ab" * 31, "0x" + "gg" * 32):
        with pytest.raises(ValueError, match="hash"):
            tx_hash_normalize(bad)
    with pytest.raises(ValueError, match="address"):
        checksum("0x1234")
    with pytest.raises(ValueError, match="address"):  # a mixed-case address with a wrong checksum
        checksum("0x90F8bf6A479f320ead074411a4B0e7944Ea8c9c1")


def test_rebroadcasting_a_mined_transaction_returns_its_hash(chain: Chain, new_key) -> None:
    key = new_key()
    tx = pay(chain, key, 1)
    nonce = chain.client.nonce(chain.deposit)
    from tokenomics.chain_client import Fees, address_of, erc20_transfer_sign

    signed = erc20_transfer_sign(
        private_key=key,
        chain_id=1337,
        token=chain.token,
        to=chain.deposit,
        amount=1,
        nonce=chain.client.nonce(address_of(key)),
        fees=chain.client.fees(),
    )
    assert isinstance(chain.client.fees(), Fees)
    first = chain.client.send_raw_transaction(signed.raw)
    assert first == signed.tx_hash != tx
    assert chain.client.send_raw_transaction(signed.raw) == first  # "already known": success, once
    assert chain.client.erc20_balance(token=chain.token, address=address_of(key)) == agr(100_000) - 2
    assert chain.client.nonce(chain.deposit) == nonce


def test_an_unreachable_node_is_chain_unavailable(settings) -> None:
    settings.WEB3_PROVIDER_URL = "http://127.0.0.1:9"  # discard port: connection refused
    settings.WEB3_RPC_TIMEOUT_SECONDS = 2
    with pytest.raises(ChainUnavailable):
        chain_client_get().chain_id()


def test_token_address_comes_from_settings_or_the_saved_deployment(chain: Chain, settings, tmp_path) -> None:
    assert agr_rail_config().token_address == chain.token
    assert agr_rail_config().deposit_address == chain.deposit
    settings.WEB3_TOKEN_ADDRESS = ""
    settings.WEB3_DEPLOYMENT_FILE = str(tmp_path / "missing.json")
    with pytest.raises(ChainNotConfigured):
        agr_rail_config()
    saved = tmp_path / "chain.json"
    settings.WEB3_DEPLOYMENT_FILE = str(saved)
    saved.write_text(json.dumps({"chain_id": 31337, "token_address": ADDRESS_A}))
    with pytest.raises(ChainNotConfigured):  # saved for another chain: not used
        agr_rail_config()
    saved.write_text(json.dumps({"chain_id": 1337, "token_address": ADDRESS_A}))
    assert agr_rail_config().token_address == checksum(ADDRESS_A)
    settings.WEB3_DEPOSIT_ADDRESS = ADDRESS_B
    assert agr_rail_config().deposit_address == checksum(ADDRESS_B)


def test_settings_refuse_development_keys_off_the_development_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    import config.settings.chain as chain_settings

    try:
        monkeypatch.setenv("WEB3_CHAIN_ID", "1")
        monkeypatch.delenv("WEB3_HOT_WALLET_KEY", raising=False)
        monkeypatch.delenv("WEB3_DEPLOYER_KEY", raising=False)
        reloaded = importlib.reload(chain_settings)
        assert (reloaded.WEB3_HOT_WALLET_KEY, reloaded.WEB3_DEPLOYER_KEY) == ("", "")  # no default off 1337
        monkeypatch.setenv("WEB3_HOT_WALLET_KEY", chain_settings.DEV_HOT_WALLET_KEY)
        with pytest.raises(ImproperlyConfigured, match="development key"):
            importlib.reload(chain_settings)
        monkeypatch.setenv("WEB3_CHAIN_ID", "1337")
        assert importlib.reload(chain_settings).WEB3_HOT_WALLET_KEY == chain_settings.DEV_HOT_WALLET_KEY
    finally:
        monkeypatch.undo()
        importlib.reload(chain_settings)
