"""The AGR rail: payments in by ERC-20 Transfer to the deposit address, payouts out from a hot wallet.

Inbound. `agr_payment_start` records what is due with the chain, token and deposit address to pay;
the buyer's browser wallet sends an ERC-20 `transfer` and the client submits its hash to
`agr_payment_verify`, which accepts a Transfer log only if every check holds (each failure is a
`PaymentNotVerified` whose `detail["reason"]` names the check, see `Reason`):
receipt status 1, the node on the payment's chain, the log emitted by the payment's token contract,
sent to the payment's deposit address, not removed by a reorg, from a wallet linked to the buyer,
at least `payments.agr_confirmations` blocks deep, and, with what was already received, at least what is
due. Each accepted log is credited exactly once: its `ChainTransfer` row, UNIQUE on
(chain_id, tx_hash, log_index), and the ledger credit (idempotency key
`chain:<chain_id>:<tx_hash>:<log_index>`) commit in one transaction, so a replay for the same
payment changes nothing and a replay for another payment is refused. What is paid beyond the due
amount stays in the buyer's AGR wallet (`payment_credit` credits the whole log).

The periodic scan (`transfers_scan`) reads the token's Transfer logs to the deposit address up to
the last confirmed block. A log from a wallet linked to a user with an awaiting AGR payment that
it pays (the exact remaining amount first, else the oldest payment it covers) is verified and
credited as above. Any other log — an unlinked sender, no payment it covers, a check failed — is
recorded UNMATCHED (a `ChainTransfer` without payment or ledger transaction) and not credited; a
later `agr_payment_verify` with its hash claims it, after the same checks. Staff resolve the rest.

Outbound. `chain_payout_create` debits the user's account into the external chain account once per
reference (`chain_payout_record` does the same inside a caller's transaction, e.g. a creator
payout that also takes a fee); `chain_payout_sign` takes the hot wallet's next nonce under a row
lock and stores the signed raw transaction and its hash before anything is sent;
`chain_payout_broadcast` sends those stored bytes unchanged (the node already knowing them is a
success), so a crash anywhere leaves either nothing sent or one transaction that a retry re-sends
as is; `chain_payout_confirm` marks it confirmed, or failed with the debit reversed if it reverted.

No network call happens while a database transaction is open: the node is asked first, then one
short transaction writes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.models import User
from accounts.selectors import wallet_list
from tokenomics.chain_client import (
    ChainClient,
    ChainError,
    ChainUnavailable,
    Receipt,
    TransferLog,
    address_of,
    chain_client_get,
    checksum,
    tx_hash_normalize,
)
from tokenomics.errors import (
    ChainAddressInvalid,
    ChainNodeUnavailable,
    ChainNotConfigured,
    PaymentNotVerified,
    Reason,
)
from tokenomics.models import LedgerTransaction, Payment, Rail
from tokenomics.models.ledger import AccountKind
from tokenomics.models.rails import ChainTransfer, PaymentStatus
from tokenomics.selectors.payments import (
    AgrPaymentInstructions,
    agr_payment_instructions,
    confirmations_required,
)
from tokenomics.services.payments import payment_create, payment_credit

logger = logging.getLogger(__name__)

DEV_CHAIN_ID = 1337
PAYOUT_ACCOUNT_KINDS = frozenset(
    {AccountKind.WALLET, AccountKind.CREATOR_PAYABLE, AccountKind.PROVIDER_PAYABLE}
)
OPEN_STATUSES = (PaymentStatus.AWAITING, PaymentStatus.PROCESSING)
# A concurrent verification inserting the same log first makes ours fail on the unique triple; the
# retry then sees that row. Two retries cover any interleaving of two callers.
CREDIT_ATTEMPTS = 3


# ----------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class AgrRailConfig:
    """Where AGR is paid, from settings (how deep it must be is the registry's, confirmations_required)."""

    chain_id: int
    token_address: str
    deposit_address: str


def _deployed_token_address(chain_id: int) -> str:
    # `manage.py chain_deploy` writes {"chain_id", "token_address", ...}; used only for that chain.
    path = Path(str(settings.WEB3_DEPLOYMENT_FILE))
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return ""
    if not isinstance(data, dict) or data.get("chain_id") != chain_id:
        return ""
    return str(data.get("token_address") or "")


def hot_wallet_key() -> str:
    """The hot wallet's private key; refuses a public development key off the development chain."""
    key = str(settings.WEB3_HOT_WALLET_KEY or "")
    if not key:
        raise ChainNotConfigured("No hot wallet key is configured (WEB3_HOT_WALLET_KEY).")
    if key.lower() in settings.DEV_KEYS and int(settings.WEB3_CHAIN_ID) != DEV_CHAIN_ID:
        raise ChainNotConfigured("A development key may only be used on the development chain.")
    return key


def agr_rail_config() -> AgrRailConfig:
    """Where AGR is paid: settings, with the token address `chain_deploy` saved for the local chain.
    Raises ChainNotConfigured."""
    chain_id = int(settings.WEB3_CHAIN_ID)
    token = str(settings.WEB3_TOKEN_ADDRESS or "") or _deployed_token_address(chain_id)
    if not token:
        raise ChainNotConfigured("No AGR token address is configured (WEB3_TOKEN_ADDRESS or chain_deploy).")
    deposit = str(settings.WEB3_DEPOSIT_ADDRESS or "") or address_of(hot_wallet_key())
    try:
        return AgrRailConfig(
            chain_id=chain_id,
            token_address=checksum(token),
            deposit_address=checksum(deposit),
        )
    except ValueError as exc:
        raise ChainNotConfigured(str(exc)) from exc


def client_on_chain(chain_id: int) -> ChainClient:
    """The node client, checked to be on `chain_id`. Raises ChainNotConfigured, ChainUnavailable."""
    client = chain_client_get()
    actual = client.chain_id()
    if actual != chain_id:
        raise ChainNotConfigured(
            "The node is on another chain.", detail={"expected_chain_id": chain_id, "node_chain_id": actual}
        )
    return client


# ----------------------------------------------------------------------------- paying in


@dataclass(frozen=True)
class AgrVerification:
    payment: Payment
    credited: int  # AGR base units credited by this call (0 for a replay)
    transfers: tuple[ChainTransfer, ...]  # the logs of the transaction credited to this payment


def agr_payment_start(*, user: User, purpose: str, amount: int, reference: str | None = None) -> Payment:
    """Record `amount` AGR base units due from `user` through the AGR rail, with the chain, token
    and deposit address to pay. No money moves. Raises AmountInvalid, ChainNotConfigured."""
    config = agr_rail_config()
    with transaction.atomic():
        payment = payment_create(
            user=user, purpose=purpose, rail=Rail.AGR, amount=amount, reference=reference
        )
        payment.chain_id = config.chain_id
        payment.token_address = config.token_address
        payment.deposit_address = config.deposit_address
        payment.save(update_fields=["chain_id", "token_address", "deposit_address", "updated_at"])
    return payment


def _linked_addresses(user: User) -> set[str]:
    return {checksum(address) for address in wallet_list(user=user).values_list("address", flat=True)}


def _transfers_paying(
    *,
    payment: Payment,
    tx_hash: str,
    receipt: Receipt | None,
    head: int,
    node_chain_id: int,
    linked: set[str],
) -> list[TransferLog]:
    """The logs of `receipt` that may pay `payment`; PaymentNotVerified naming the first failed check.
    Pure: everything it needs was read before."""
    if node_chain_id != payment.chain_id:
        raise PaymentNotVerified(
            Reason.WRONG_CHAIN,
            "The transaction is on another chain than the payment.",
            detail={"expected_chain_id": payment.chain_id, "chain_id": node_chain_id},
        )
    if receipt is None:
        raise PaymentNotVerified(Reason.TX_NOT_FOUND, "The transaction is not mined yet, or unknown.")
    if receipt.tx_hash != tx_hash:
        raise PaymentNotVerified(Reason.TX_MISMATCH, "The node answered with another transaction's receipt.")
    if receipt.status != 1:
        raise PaymentNotVerified(Reason.TX_REVERTED, "The transaction failed on chain (status 0).")
    confirmations = head - receipt.block_number + 1
    required = confirmations_required()
    if confirmations < required:
        raise PaymentNotVerified(
            Reason.TOO_FEW_CONFIRMATIONS,
            "The transaction is not deep enough in the chain yet.",
            detail={"confirmations": max(confirmations, 0), "required": required},
        )
    # A receipt whose logs claim another transaction or block, or repeat a log index, is not
    # evidence of anything: the node (or something between it and us) is inconsistent.
    indexes = [log.log_index for log in receipt.transfers]
    foreign = any(
        log.tx_hash != receipt.tx_hash or log.block_number != receipt.block_number
        for log in receipt.transfers
    )
    if foreign or len(set(indexes)) != len(indexes):
        raise PaymentNotVerified(Reason.TX_MISMATCH, "The receipt's logs do not belong to this transaction.")
    logs = receipt.transfers
    token_logs = [log for log in logs if log.token == payment.token_address]
    if not token_logs:
        raise PaymentNotVerified(
            Reason.WRONG_TOKEN,
            "The transaction moves no AGR (no Transfer log of the AGR contract).",
            detail={"expected_token": payment.token_address, "tokens": sorted({log.token for log in logs})},
        )
    to_deposit = [log for log in token_logs if log.recipient == payment.deposit_address]
    if not to_deposit:
        raise PaymentNotVerified(
            Reason.WRONG_RECIPIENT,
            "The transfer was not sent to the deposit address.",
            detail={"deposit_address": payment.deposit_address},
        )
    live = [log for log in to_deposit if not log.removed]
    if not live:
        raise PaymentNotVerified(Reason.LOG_REMOVED, "The transfer was removed from the chain by a reorg.")
    from_buyer = [log for log in live if log.sender in linked]
    if not from_buyer:
        raise PaymentNotVerified(
            Reason.SENDER_NOT_LINKED,
            "The transfer was sent from a wallet not linked to the buyer's account.",
            detail={"senders": sorted({log.sender for log in live})},
        )
    return from_buyer


def transfer_record(
    log: TransferLog, *, chain_id: int, tx_hash: str, payment: Payment | None
) -> ChainTransfer:
    """Insert the row of a Transfer log; its unique (chain, tx, log) raises IntegrityError once seen."""
    return ChainTransfer.objects.create(
        chain_id=chain_id,
        tx_hash=tx_hash,
        log_index=log.log_index,
        block_number=log.block_number,
        token_address=log.token,
        from_address=log.sender,
        to_address=log.recipient,
        amount=log.amount,
        payment=payment,
    )


def _chain_key(chain_id: int, tx_hash: str, log_index: int) -> str:
    return f"chain:{chain_id}:{tx_hash}:{log_index}"


def _credit_once(
    *, payment_id: int, chain_id: int, tx_hash: str, logs: Sequence[TransferLog]
) -> AgrVerification:
    """Record and credit the logs not yet credited, in one transaction (see the module doc)."""
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    if payment.status == PaymentStatus.CANCELED:
        raise PaymentNotVerified(Reason.PAYMENT_CLOSED, "This payment was canceled.")
    existing = {
        row.log_index: row
        for row in ChainTransfer.objects.select_for_update().filter(
            chain_id=chain_id, tx_hash=tx_hash, log_index__in=[log.log_index for log in logs]
        )
    }
    fresh: list[tuple[TransferLog, ChainTransfer | None]] = []
    done: list[ChainTransfer] = []
    elsewhere: list[ChainTransfer] = []
    for log in logs:
        row = existing.get(log.log_index)
        if row is None:
            fresh.append((log, None))
        elif row.ledger_transaction_id is None and row.payment_id in (None, payment.pk):
            fresh.append((log, row))  # recorded unmatched by a scan: claimed now
        elif row.payment_id == payment.pk:
            done.append(row)
        else:
            elsewhere.append(row)
    if not fresh:
        if done:
            return AgrVerification(payment=payment, credited=0, transfers=tuple(done))
        raise PaymentNotVerified(
            Reason.ALREADY_CREDITED,
            "This transfer was already credited to another payment.",
            detail={"tx_hash": tx_hash},
        )
    arriving = sum(log.amount for log, _ in fresh)
    due = payment.amount - payment.received_amount
    if arriving < due:
        raise PaymentNotVerified(
            Reason.AMOUNT_SHORT,
            "The transfer is less than what is due.",
            detail={"due": str(due), "transferred": str(arriving)},
        )
    credited: list[ChainTransfer] = []
    for log, row in fresh:
        if row is None:
            # The unique triple: a concurrent first insert makes this raise IntegrityError (after
            # waiting for it to commit, on PostgreSQL); the caller retries and then sees that row.
            row = transfer_record(log, chain_id=chain_id, tx_hash=tx_hash, payment=payment)
        key = _chain_key(chain_id, tx_hash, log.log_index)
        payment_credit(
            payment_id=payment.pk,
            amount=log.amount,
            idempotency_key=key,
            memo=f"AGR transfer {tx_hash[:18]}… #{log.log_index} for {payment.reference}",
        )
        row.payment = payment
        row.ledger_transaction = LedgerTransaction.objects.get(idempotency_key=key)
        row.save(update_fields=["payment", "ledger_transaction", "updated_at"])
        credited.append(row)
    payment.refresh_from_db()
    return AgrVerification(payment=payment, credited=arriving, transfers=tuple(done + credited))


def _credit(*, payment_id: int, chain_id: int, tx_hash: str, logs: Sequence[TransferLog]) -> AgrVerification:
    for attempt in range(1, CREDIT_ATTEMPTS + 1):
        try:
            with transaction.atomic(durable=True):
                return _credit_once(payment_id=payment_id, chain_id=chain_id, tx_hash=tx_hash, logs=logs)
        except IntegrityError:
            if attempt == CREDIT_ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def agr_payment_verify(*, payment_id: int, tx_hash: str) -> AgrVerification:
    """Check the transaction `tx_hash` against the AGR payment and credit each valid Transfer log to
    the buyer's wallet exactly once (a replay for the same payment credits nothing and succeeds).
    Asks the node, then writes in one durable transaction; the payment's purpose handler runs when
    it is paid in full. Raises PaymentNotVerified (detail.reason: see `Reason`; 409 for checks that
    may pass later or conflicts, else 400), ChainNotConfigured, chain_client.ChainUnavailable,
    Payment.DoesNotExist. The sender checked is the Transfer log's `from` (whose tokens moved),
    so a transferFrom by a spender on the buyer's behalf counts as the buyer's."""
    try:
        tx_hash = tx_hash_normalize(tx_hash)
    except ValueError as exc:
        raise PaymentNotVerified(Reason.INVALID_TX_HASH, "That is not a transaction hash.") from exc
    payment = Payment.objects.select_related("user").get(pk=payment_id)
    if payment.rail != Rail.AGR or not payment.token_address or payment.chain_id is None:
        raise PaymentNotVerified(Reason.WRONG_RAIL, "This payment is not paid in AGR on chain.")
    if payment.status == PaymentStatus.CANCELED:
        raise PaymentNotVerified(Reason.PAYMENT_CLOSED, "This payment was canceled.")
    client = chain_client_get()
    node_chain_id = client.chain_id()
    receipt = client.receipt(tx_hash) if node_chain_id == payment.chain_id else None
    head = client.block_number()
    logs = _transfers_paying(
        payment=payment,
        tx_hash=tx_hash,
        receipt=receipt,
        head=head,
        node_chain_id=node_chain_id,
        linked=_linked_addresses(payment.user),
    )
    return _credit(payment_id=payment.pk, chain_id=node_chain_id, tx_hash=tx_hash, logs=logs)


def agr_payment_claim(*, payment_id: int, tx_hash: str) -> AgrVerification:
    """agr_payment_verify for a payer waiting on the answer (the API, the order page): a chain node
    that is down or errs is ChainNodeUnavailable (`503 chain_unavailable`: nothing was decided, the
    same claim may be repeated), not an unhandled ChainError."""
    try:
        return agr_payment_verify(payment_id=payment_id, tx_hash=tx_hash)
    except ChainError as exc:
        raise ChainNodeUnavailable() from exc


__all__ = [
    "AgrPaymentInstructions",
    "AgrRailConfig",
    "AgrVerification",
    "ChainAddressInvalid",
    "ChainNotConfigured",
    "ChainUnavailable",
    "PaymentNotVerified",
    "Reason",
    "agr_payment_claim",
    "agr_payment_instructions",
    "agr_payment_start",
    "agr_payment_verify",
    "agr_rail_config",
    "client_on_chain",
    "confirmations_required",
    "hot_wallet_key",
]
