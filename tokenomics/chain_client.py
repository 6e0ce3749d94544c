"""The only importer of web3 and eth-tester: JSON-RPC calls to an EVM chain, answered as plain data.

Everything the AGR rail needs from a node is here — chain id, head block, receipts with their ERC-20
`Transfer` logs decoded, Transfer logs to an address, nonces and fees, raw transaction broadcast —
plus offline signing of ERC-20 transfers with eth-account for payouts. Services never see a web3
object. Connection failures raise `ChainUnavailable` (worth retrying); a node refusing a
transaction raises `ChainRejected`.

Addresses are returned EIP-55 checksummed, hashes as 0x-prefixed lower-case hex, amounts as int.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import requests
from django.conf import settings
from eth_account import Account
from eth_typing import ChecksumAddress
from eth_utils.address import is_address, is_checksum_address, to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ProviderConnectionError, TransactionNotFound, Web3RPCError
from web3.types import RPCEndpoint, TxParams

# topic0 of the ERC-20 `Transfer(address indexed from, address indexed to, uint256 value)` event.
TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
# First four bytes of keccak("transfer(address,uint256)").
TRANSFER_SELECTOR = keccak(text="transfer(address,uint256)")[:4].hex()
# An AGR transfer costs ~35-52k gas; a fixed limit keeps signing offline and deterministic.
ERC20_TRANSFER_GAS = 100_000
TESTER = "tester"
# The in-process chain's accounts are ganache `--wallet.deterministic`'s, so the development keys
# in config/settings/chain.py hold ETH on both.
DEV_MNEMONIC = "myth like bonus scare over problem client lizard pioneer submit female collect"
DEV_HD_PATH = "m/44'/60'/0'/0"
TESTER_ACCOUNTS = 10

T = TypeVar("T")


class ChainError(Exception):
    pass


class ChainUnavailable(ChainError):
    """The node could not be reached or timed out; the call may be retried unchanged."""


class ChainRejected(ChainError):
    """The node answered with an error (a transaction refused, a call reverted)."""


@dataclass(frozen=True)
class TransferLog:
    """One ERC-20 `Transfer` log. `token` is the contract that emitted it."""

    token: str
    sender: str
    recipient: str
    amount: int  # base units of `token`
    log_index: int
    removed: bool  # dropped by a reorg (only ever true on logs from a node that saw one)
    tx_hash: str
    block_number: int


@dataclass(frozen=True)
class Receipt:
    tx_hash: str
    status: int  # 1 success, 0 reverted
    block_number: int
    sender: str  # the transaction's `from`
    to: str | None  # the transaction's `to` (None for a contract creation)
    contract_address: str | None
    transfers: tuple[TransferLog, ...]  # every ERC-20 Transfer log, whoever emitted it


@dataclass(frozen=True)
class Fees:
    max_fee_per_gas: int  # wei
    max_priority_fee_per_gas: int  # wei


@dataclass(frozen=True)
class SignedTransaction:
    raw: str  # 0x hex of the signed, RLP-encoded transaction: exactly what is broadcast
    tx_hash: str
    sender: str
    nonce: int


# ----------------------------------------------------------------------------- pure helpers


def checksum(address: str) -> ChecksumAddress:
    """`address` in EIP-55 form; ValueError unless it is a 20-byte hex address. A mixed-case
    address whose checksum is wrong is refused (a typo), lower or upper case is accepted."""
    if not isinstance(address, str) or not is_address(address):
        raise ValueError(f"not an Ethereum address: {address!r}")
    digits = address[2:] if address.startswith(("0x", "0X")) else address
    if digits != digits.lower() and digits != digits.upper() and not is_checksum_address(address):
        raise ValueError(f"not an Ethereum address (bad EIP-55 checksum): {address!r}")
    return to_checksum_address(address)


def tx_hash_normalize(tx_hash: str) -> str:
    """A transaction hash as 0x + 64 lower-case hex digits; ValueError otherwise."""
    value = tx_hash.strip().lower() if isinstance(tx_hash, str) else ""
    if not value.startswith("0x"):
        value = "0x" + value
    if len(value) != 66 or any(c not in "0123456789abcdef" for c in value[2:]):
        raise ValueError(f"not a transaction hash: {tx_hash!r}")
    return value


def address_of(private_key: str) -> str:
    """The checksummed address of a private key."""
    return cast(str, Account.from_key(private_key).address)


def erc20_transfer_calldata(*, to: str, amount: int) -> str:
    """The `data` of an ERC-20 `transfer(to, amount)` call (for a browser wallet's eth_sendTransaction)."""
    if amount < 0 or amount >= 2**256:
        raise ValueError("amount out of uint256 range")
    return (
        "0x" + TRANSFER_SELECTOR + bytes.fromhex(checksum(to)[2:]).rjust(32, b"\0").hex() + f"{amount:064x}"
    )


def erc20_transfer_sign(
    *,
    private_key: str,
    chain_id: int,
    token: str,
    to: str,
    amount: int,
    nonce: int,
    fees: Fees,
    gas: int = ERC20_TRANSFER_GAS,
) -> SignedTransaction:
    """Sign an EIP-1559 ERC-20 `transfer` offline (no node is asked anything)."""
    tx = {
        "type": 2,
        "chainId": chain_id,
        "nonce": nonce,
        "to": checksum(token),
        "value": 0,
        "data": erc20_transfer_calldata(to=to, amount=amount),
        "gas": gas,
        "maxFeePerGas": fees.max_fee_per_gas,
        "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
    }
    signed = Account.sign_transaction(tx, private_key)
    return SignedTransaction(
        raw=_hex(signed.raw_transaction),
        tx_hash=_hex(signed.hash),
        sender=address_of(private_key),
        nonce=nonce,
    )


def _hex(value: bytes | str) -> str:
    if isinstance(value, str):
        return value.lower() if value.startswith("0x") else "0x" + value.lower()
    return "0x" + bytes(value).hex()


def _topic_address(topic: bytes | str) -> str:
    raw = bytes(HexBytes(topic))
    return checksum("0x" + raw[-20:].hex())


def _int(value: Any) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(value, 16) if value.startswith("0x") else int(value)
    return int.from_bytes(bytes(value), "big")


def transfer_log_decode(
    log: Mapping[str, Any], *, tx_hash: str = "", block_number: int = 0
) -> TransferLog | None:
    """The ERC-20 Transfer carried by one JSON-RPC log object, or None if it is not one.

    Only the exact ERC-20 shape counts: topic0 the Transfer signature, two indexed addresses
    (three topics; ERC-721's Transfer has four) and a 32-byte value."""
    topics = [_hex(t) for t in log.get("topics", ())]
    data = bytes(HexBytes(log.get("data") or b""))
    if len(topics) != 3 or topics[0] != TRANSFER_TOPIC or len(data) != 32:
        return None
    return TransferLog(
        token=checksum(str(log["address"])),
        sender=_topic_address(topics[1]),
        recipient=_topic_address(topics[2]),
        amount=int.from_bytes(data, "big"),
        log_index=_int(log["logIndex"]),
        removed=bool(log.get("removed", False)),
        tx_hash=_hex(log.get("transactionHash") or tx_hash),
        block_number=_int(log.get("blockNumber") if log.get("blockNumber") is not None else block_number),
    )


def receipt_from_rpc(raw: Mapping[str, Any]) -> Receipt:
    """A JSON-RPC transaction receipt as plain data, its Transfer logs decoded."""
    tx_hash = _hex(raw["transactionHash"])
    block_number = _int(raw["blockNumber"])
    transfers = []
    for log in raw.get("logs", ()):
        decoded = transfer_log_decode(log, tx_hash=tx_hash, block_number=block_number)
        if decoded is not None:
            transfers.append(decoded)
    to = raw.get("to")
    created = raw.get("contractAddress")
    return Receipt(
        tx_hash=tx_hash,
        status=_int(raw["status"]),
        block_number=block_number,
        sender=checksum(str(raw["from"])),
        to=checksum(str(to)) if to else None,
        contract_address=checksum(str(created)) if created else None,
        transfers=tuple(transfers),
    )


# ----------------------------------------------------------------------------- the node


@contextmanager
def _rpc_errors() -> Iterator[None]:
    try:
        yield
    except TransactionNotFound:
        raise  # an answer, not a failure: callers turn it into None or False
    except (
        requests.ConnectionError,
        requests.Timeout,
        requests.HTTPError,
        ProviderConnectionError,
        ConnectionError,
        TimeoutError,
    ) as exc:
        raise ChainUnavailable(str(exc)) from exc
    except Web3RPCError as exc:
        raise ChainRejected(str(exc)) from exc


class ChainClient:
    """Calls to one node. Make one with `chain_client_get()`."""

    def __init__(self, w3: Web3) -> None:
        self._w3 = w3

    def _call(self, fn: Callable[[], T]) -> T:
        with _rpc_errors():
            return fn()

    def chain_id(self) -> int:
        return self._call(lambda: int(self._w3.eth.chain_id))

    def block_number(self) -> int:
        """The newest block (`latest`)."""
        return self._call(lambda: int(self._w3.eth.block_number))

    def _fetch_receipt(self, tx_hash: str) -> Mapping[str, Any] | None:
        # The raw JSON-RPC receipt; the narrowest boundary, where tests inject a node's answer.
        try:
            return cast(Mapping[str, Any], self._call(lambda: self._w3.eth.get_transaction_receipt(tx_hash)))  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    def receipt(self, tx_hash: str) -> Receipt | None:
        """The mined transaction's receipt, or None while it is unknown or pending."""
        raw = self._fetch_receipt(tx_hash_normalize(tx_hash))
        return None if raw is None else receipt_from_rpc(raw)

    def transaction_known(self, tx_hash: str) -> bool:
        """Whether the node has the transaction, mined or pending."""
        try:
            self._call(lambda: self._w3.eth.get_transaction(tx_hash_normalize(tx_hash)))  # type: ignore[arg-type]
        except TransactionNotFound:
            return False
        return True

    def transfer_logs(self, *, token: str, to: str, from_block: int, to_block: int) -> list[TransferLog]:
        """Transfer logs of `token` to `to` in blocks [from_block, to_block], in chain order."""
        if to_block < from_block:
            return []
        recipient_topic = "0x" + bytes.fromhex(checksum(to)[2:]).rjust(32, b"\0").hex()
        logs = self._call(
            lambda: self._w3.eth.get_logs(
                {
                    "address": checksum(token),
                    "fromBlock": from_block,
                    "toBlock": to_block,
                    "topics": [TRANSFER_TOPIC, None, recipient_topic],
                }
            )
        )
        decoded = [transfer_log_decode(log) for log in logs]
        return sorted(
            (log for log in decoded if log is not None), key=lambda log: (log.block_number, log.log_index)
        )

    def nonce(self, address: str) -> int:
        """The next nonce of `address`, counting its pending transactions."""
        return self._call(lambda: int(self._w3.eth.get_transaction_count(checksum(address), "pending")))

    def fees(self) -> Fees:
        """EIP-1559 fees that stay valid while the base fee doubles (web3's own default rule)."""

        def read() -> Fees:
            priority = int(self._w3.eth.max_priority_fee)
            base = int(self._w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0)
            return Fees(max_fee_per_gas=2 * base + priority, max_priority_fee_per_gas=priority)

        return self._call(read)

    def send_raw_transaction(self, raw: str) -> str:
        """Broadcast a signed transaction and return its hash. Sending one the node already has
        (pending or mined) is a success: a re-broadcast never makes a second transaction, since
        the bytes, and so the hash and the nonce, are the same."""
        tx_hash = _hex(keccak(HexBytes(raw)))
        if self.transaction_known(tx_hash):
            return tx_hash
        try:
            sent = self._call(lambda: self._w3.eth.send_raw_transaction(HexBytes(raw)))
        except ChainUnavailable:
            raise
        except Exception as exc:  # the node refused it ("already known", "nonce too low", ...)
            if self.transaction_known(tx_hash):
                return tx_hash
            raise ChainRejected(str(exc)) from exc
        return _hex(sent)

    def mine(self, blocks: int = 1) -> None:
        """Mine empty blocks (`evm_mine`: ganache and the in-process chain only; demo and tests)."""
        for _ in range(blocks):
            self._call(lambda: self._w3.provider.make_request(RPCEndpoint("evm_mine"), []))

    # --- contract and account helpers for `chain_deploy`, the demo and tests

    def has_code(self, address: str) -> bool:
        """Whether a contract is deployed at `address`."""
        return self._call(lambda: len(self._w3.eth.get_code(checksum(address))) > 0)

    def eth_balance(self, address: str) -> int:
        return self._call(lambda: int(self._w3.eth.get_balance(checksum(address))))

    def erc20_balance(self, *, token: str, address: str) -> int:
        data = "0x70a08231" + bytes.fromhex(checksum(address)[2:]).rjust(32, b"\0").hex()  # balanceOf
        result = self._call(lambda: self._w3.eth.call({"to": checksum(token), "data": data}))  # type: ignore[typeddict-item]
        return int.from_bytes(bytes(result), "big")

    def contract_call(
        self, *, address: str, abi: Sequence[Mapping[str, Any]], function: str, args: Sequence[Any] = ()
    ) -> Any:
        """Call a view function (name, symbol, decimals, allowance...)."""
        contract = self._w3.eth.contract(address=checksum(address), abi=cast(Any, abi))
        return self._call(lambda: contract.functions[function](*args).call())

    def contract_transact(
        self,
        *,
        private_key: str,
        address: str,
        abi: Sequence[Mapping[str, Any]],
        function: str,
        args: Sequence[Any] = (),
        gas: int | None = None,
    ) -> str:
        """Sign with the next nonce and send a call of `function`; returns the hash."""
        contract = self._w3.eth.contract(address=checksum(address), abi=cast(Any, abi))
        data = contract.encode_abi(function, args=list(args))
        return self.transact(private_key=private_key, to=address, data=data, gas=gas)

    def transact(
        self, *, private_key: str, to: str | None, data: str = "0x", value: int = 0, gas: int | None = None
    ) -> str:
        """Sign with the key's next nonce and current fees, send, return the hash (scripts, the demo,
        tests; payouts are signed offline by `erc20_transfer_sign`). Without `gas` the node
        estimates it, which refuses a call that would revert; a fixed `gas` sends it anyway."""
        sender = address_of(private_key)
        fees = self.fees()
        tx: dict[str, Any] = {
            "chainId": self.chain_id(),
            "nonce": self.nonce(sender),
            "maxFeePerGas": fees.max_fee_per_gas,
            "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
            "value": value,
            "data": data,
        }
        if to is not None:
            tx["to"] = checksum(to)
        if gas is None:
            gas = self._call(lambda: int(self._w3.eth.estimate_gas(cast(TxParams, {"from": sender, **tx}))))
        tx["gas"] = gas
        signed = Account.sign_transaction(tx, private_key)
        return self.send_raw_transaction(_hex(signed.raw_transaction))

    def contract_deploy(self, *, private_key: str, bytecode: str) -> str:
        """Deploy a contract (constructor without arguments); returns its address once mined."""
        tx_hash = self.transact(private_key=private_key, to=None, data=bytecode)
        receipt = self.receipt_wait(tx_hash)
        if receipt.status != 1 or receipt.contract_address is None:
            raise ChainRejected(f"deployment {tx_hash} failed")
        return receipt.contract_address

    def erc20_transfer(
        self, *, private_key: str, token: str, to: str, amount: int, gas: int | None = None
    ) -> str:
        """Sign with the next nonce and send `transfer(to, amount)`; returns the hash. `gas` fixes
        the limit (skipping estimation, which refuses a transfer that would revert)."""
        return self.transact(
            private_key=private_key, to=token, data=erc20_transfer_calldata(to=to, amount=amount), gas=gas
        )

    def eth_transfer(self, *, private_key: str, to: str, wei: int) -> str:
        return self.transact(private_key=private_key, to=to, value=wei, gas=21_000)

    def receipt_wait(self, tx_hash: str, timeout: float = 30) -> Receipt:
        raw = self._call(lambda: self._w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout))  # type: ignore[arg-type]
        return receipt_from_rpc(cast(Mapping[str, Any], raw))


# ----------------------------------------------------------------------------- provider factory

_lock = threading.Lock()
_web3_by_url: dict[str, Web3] = {}


def _tester_web3(chain_id: int) -> Web3:
    # Imported here: eth-tester is a development dependency.
    from eth_tester import EthereumTester, PyEVMBackend
    from web3.providers.eth_tester import EthereumTesterProvider
    from web3.providers.eth_tester.defaults import API_ENDPOINTS
    from web3.types import RPCResponse

    class SerializedTesterProvider(EthereumTesterProvider):
        # py-evm is not thread-safe; concurrency tests call the one in-process chain from threads.
        _request_lock = threading.Lock()

        def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
            with self._request_lock:
                return super().make_request(method, params)

    backend = PyEVMBackend.from_mnemonic(DEV_MNEMONIC, num_accounts=TESTER_ACCOUNTS, hd_path=DEV_HD_PATH)
    # eth-tester's chain id is a class constant; transactions are signed for the configured one.
    backend.chain.chain_id = chain_id
    endpoints = {namespace: dict(methods) for namespace, methods in API_ENDPOINTS.items()}
    endpoints["eth"]["chainId"] = lambda *args, **kwargs: chain_id
    return Web3(SerializedTesterProvider(EthereumTester(backend), api_endpoints=endpoints))


def _web3_get() -> Web3:
    url = str(settings.WEB3_PROVIDER_URL)
    with _lock:
        w3 = _web3_by_url.get(url)
        if w3 is None:
            if url == TESTER:
                w3 = _tester_web3(int(settings.WEB3_CHAIN_ID))
            else:
                w3 = Web3(
                    Web3.HTTPProvider(url, request_kwargs={"timeout": int(settings.WEB3_RPC_TIMEOUT_SECONDS)})
                )
            _web3_by_url[url] = w3
        return w3


def chain_client_get() -> ChainClient:
    """A client for the configured node: WEB3_PROVIDER_URL (HTTP JSON-RPC), or "tester" for an
    in-process eth-tester chain shared by the whole process (created on first use with chain id
    WEB3_CHAIN_ID and ganache's deterministic accounts funded)."""
    return ChainClient(_web3_get())


__all__ = [
    "ERC20_TRANSFER_GAS",
    "TRANSFER_TOPIC",
    "ChainClient",
    "ChainError",
    "ChainRejected",
    "ChainUnavailable",
    "Fees",
    "Receipt",
    "SignedTransaction",
    "TransferLog",
    "address_of",
    "chain_client_get",
    "checksum",
    "erc20_transfer_calldata",
    "erc20_transfer_sign",
    "receipt_from_rpc",
    "transfer_log_decode",
    "tx_hash_normalize",
]
