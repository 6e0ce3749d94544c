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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import wallet_list
from tokenomics.chain_client import (
    ChainClient,
    ChainError,
    ChainRejected,
    ChainUnavailable,
    Fees,
    Receipt,
    SignedTransaction,
    TransferLog,
    address_of,
    chain_client_get,
    checksum,
    erc20_transfer_sign,
    tx_hash_normalize,
)
from tokenomics.errors import (
    AmountInvalid,
    ChainAddressInvalid,
    ChainNodeUnavailable,
    ChainNotConfigured,
    IdempotencyConflict,
    InvalidState,
    PaymentNotVerified,
    Reason,
)
from tokenomics.models import Asset, LedgerTransaction, Payment, Rail
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.models.rails import ChainPayout, ChainScanCursor, ChainTransfer, HotWallet, PaymentStatus
from tokenomics.selectors.payments import (
    AgrPaymentInstructions,
    agr_payment_instructions,
    confirmations_required,
)
from tokenomics.services.ledger import (
    Leg,
    system_account_get_or_create,
    transaction_post,
    transaction_reverse,
    user_account_get_or_create,
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


def _transfer_record(
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
            row = _transfer_record(log, chain_id=chain_id, tx_hash=tx_hash, payment=payment)
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


# ----------------------------------------------------------------------------- the Transfer scan


@dataclass(frozen=True)
class ScanResult:
    from_block: int
    to_block: int  # the last block scanned (the last confirmed one at most)
    seen: int  # Transfer logs to the deposit address in the range
    credited: int  # logs credited to a payment now
    unmatched: int  # logs recorded without a payment
    known: int  # logs already recorded before


def _payment_matching(log: TransferLog, *, chain_id: int, config: AgrRailConfig) -> Payment | None:
    candidates = list(
        Payment.objects.filter(
            rail=Rail.AGR,
            status__in=OPEN_STATUSES,
            chain_id=chain_id,
            token_address=config.token_address,
            deposit_address=config.deposit_address,
            user__wallets__address=log.sender,
        ).order_by("created_at", "pk")
    )
    # Amounts are compared here, not in SQL (WideIntegerField is TEXT on SQLite).
    exact = [p for p in candidates if p.amount - p.received_amount == log.amount]
    covered = [p for p in candidates if 0 < p.amount - p.received_amount <= log.amount]
    matches = exact or covered
    return matches[0] if matches else None


def _record_unmatched(log: TransferLog, *, chain_id: int) -> bool:
    try:
        with transaction.atomic():
            _transfer_record(log, chain_id=chain_id, tx_hash=log.tx_hash, payment=None)
    except IntegrityError:
        return False  # recorded meanwhile (a verification or another scan)
    return True


def transfers_scan(*, from_block: int, to_block: int) -> ScanResult:
    """Find AGR Transfer logs to the deposit address in [from_block, to_block] (capped at the last
    confirmed block): credit those that pay an awaiting payment of the sender's owner, record the
    others unmatched (not credited), skip those already recorded. Idempotent; see the module doc.
    Raises ChainNotConfigured, chain_client.ChainUnavailable."""
    config = agr_rail_config()
    client = client_on_chain(config.chain_id)
    last_confirmed = client.block_number() - confirmations_required() + 1
    to_block = min(to_block, last_confirmed)
    from_block = max(from_block, 0)
    logs = client.transfer_logs(
        token=config.token_address, to=config.deposit_address, from_block=from_block, to_block=to_block
    )
    credited = unmatched = known = 0
    for log in logs:
        if log.removed:
            continue
        if ChainTransfer.objects.filter(
            chain_id=config.chain_id, tx_hash=log.tx_hash, log_index=log.log_index
        ).exists():
            known += 1
            continue
        payment = _payment_matching(log, chain_id=config.chain_id, config=config)
        if payment is not None:
            try:
                result = agr_payment_verify(payment_id=payment.pk, tx_hash=log.tx_hash)
            except PaymentNotVerified as exc:
                logger.info("AGR transfer %s#%s not credited: %s", log.tx_hash, log.log_index, exc.reason)
            else:
                if any(row.log_index == log.log_index for row in result.transfers):
                    credited += 1
                    continue
        unmatched += _record_unmatched(log, chain_id=config.chain_id)
    return ScanResult(
        from_block=from_block,
        to_block=to_block,
        seen=len(logs),
        credited=credited,
        unmatched=unmatched,
        known=known,
    )


def _scan_cursor(config: AgrRailConfig) -> int | None:
    return (
        ChainScanCursor.objects.filter(
            chain_id=config.chain_id,
            token_address=config.token_address,
            deposit_address=config.deposit_address,
        )
        .values_list("last_block", flat=True)
        .first()
    )


def _scan_cursor_advance(config: AgrRailConfig, block: int) -> None:
    """Move the cursor forward to `block` (never back: a slower scan finishing later keeps the
    furthest block), under the row lock; the first scan creates it."""
    with transaction.atomic():
        cursor, created = ChainScanCursor.objects.select_for_update().get_or_create(
            chain_id=config.chain_id,
            token_address=config.token_address,
            deposit_address=config.deposit_address,
            defaults={"last_block": block},
        )
        if not created and block > cursor.last_block:
            cursor.last_block = block
            cursor.save(update_fields=["last_block", "updated_at"])


def transfers_scan_recent() -> ScanResult:
    """`transfers_scan` from the block after the last scan (the cursor is a database row; without
    it, the last WEB3_SCAN_LOOKBACK_BLOCKS blocks) to the last confirmed block. Rescanning is
    harmless."""
    config = agr_rail_config()
    head = client_on_chain(config.chain_id).block_number()
    cursor = _scan_cursor(config)
    start = cursor + 1 if cursor is not None else max(head - int(settings.WEB3_SCAN_LOOKBACK_BLOCKS), 0)
    result = transfers_scan(from_block=start, to_block=head)
    if result.to_block >= result.from_block:
        _scan_cursor_advance(config, result.to_block)
    return result


# ----------------------------------------------------------------------------- paying out


def chain_payout_create(
    *,
    user: User,
    to_address: str,
    amount: int,
    reference: str,
    account_kind: AccountKind | str = AccountKind.WALLET,
) -> ChainPayout:
    """Debit `amount` AGR base units from the user's `account_kind` account (wallet, creator or
    provider payable) into the external chain account and record a pending payout to `to_address`,
    once per `reference` (the same request again returns the same payout). Nothing is sent yet.
    Raises AmountInvalid, ChainAddressInvalid, InsufficientFunds, IdempotencyConflict."""
    with transaction.atomic(durable=True):
        return chain_payout_record(
            user=user, to_address=to_address, amount=amount, reference=reference, account_kind=account_kind
        )


def chain_payout_record(
    *,
    user: User,
    to_address: str,
    amount: int,
    reference: str,
    account_kind: AccountKind | str = AccountKind.WALLET,
    debit: LedgerTransaction | None = None,
) -> ChainPayout:
    """`chain_payout_create` inside the caller's transaction (which must be open), for services that
    move more money in the same one. With `debit`, the caller has already posted the ledger
    transaction that put `amount` into the external chain account (a creator payout that also
    takes a fee): it becomes the payout's debit, reversed whole if the transfer fails on chain, and
    nothing else is posted. Same errors as `chain_payout_create`."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("chain_payout_record must run inside the caller's transaction.atomic()")
    if type(amount) is not int or amount <= 0:
        raise AmountInvalid("A payout is a positive whole amount of AGR base units.")
    if account_kind not in PAYOUT_ACCOUNT_KINDS:
        raise AmountInvalid(
            "Payouts are made from a wallet or a payable account.", detail={"kind": account_kind}
        )
    if not reference:
        raise AmountInvalid("A payout needs a reference.")
    try:
        to = checksum(to_address)
    except ValueError as exc:
        raise ChainAddressInvalid(detail={"to_address": to_address}) from exc

    def same(payout: ChainPayout) -> ChainPayout:
        if payout.user_id != user.pk or payout.to_address != to or payout.amount != amount:
            raise IdempotencyConflict("This payout reference was used for another payout.")
        return payout

    existing = ChainPayout.objects.select_for_update().filter(reference=reference).first()
    if existing is not None:
        return same(existing)
    try:
        with transaction.atomic():
            payout = ChainPayout.objects.create(user=user, reference=reference, to_address=to, amount=amount)
    except IntegrityError:
        return same(ChainPayout.objects.get(reference=reference))  # created concurrently
    if debit is None:
        source = user_account_get_or_create(user=user, kind=account_kind, asset=Asset.AGR)
        sink = system_account_get_or_create(kind=AccountKind.EXTERNAL_CHAIN, asset=Asset.AGR)
        debit = transaction_post(
            kind=TransactionKind.PAYOUT,
            legs=[Leg(source, -amount), Leg(sink, amount)],
            idempotency_key=f"chain-payout:{reference}",
            memo=f"AGR payout to {to}",
            reference=f"chain-payout:{reference}",
            party=user,
        ).transaction
    payout.ledger_transaction = debit
    payout.save(update_fields=["ledger_transaction", "updated_at"])
    return payout


@dataclass(frozen=True)
class HotWalletSigner:
    """What signing from the hot wallet needs from the node (asked before any transaction opens)."""

    config: AgrRailConfig
    key: str
    address: str
    fees: Fees
    chain_nonce: int  # seeds a hot wallet seen for the first time; afterwards its row is the source


def hot_wallet_signer() -> HotWalletSigner:
    """Ask the node for the fees and the hot wallet's nonce. Raises ChainNotConfigured,
    chain_client.ChainUnavailable."""
    config = agr_rail_config()
    key = hot_wallet_key()
    address = address_of(key)
    client = client_on_chain(config.chain_id)
    return HotWalletSigner(
        config=config, key=key, address=address, fees=client.fees(), chain_nonce=client.nonce(address)
    )


def hot_wallet_transfer_sign(
    *, signer: HotWalletSigner, to: str, amount: int
) -> tuple[HotWallet, SignedTransaction]:
    """Sign an AGR transfer from the hot wallet with its next nonce, taken under the wallet's row
    lock (so payouts and burns never share a nonce); the caller stores the result in the same
    transaction, which must be open. Nothing is sent."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("hot_wallet_transfer_sign must run inside the caller's transaction.atomic()")
    hot, _ = HotWallet.objects.get_or_create(
        chain_id=signer.config.chain_id, address=signer.address, defaults={"next_nonce": signer.chain_nonce}
    )
    hot = HotWallet.objects.select_for_update().get(pk=hot.pk)
    signed = erc20_transfer_sign(
        private_key=signer.key,
        chain_id=signer.config.chain_id,
        token=signer.config.token_address,
        to=to,
        amount=amount,
        nonce=hot.next_nonce,
        fees=signer.fees,
    )
    hot.next_nonce = signed.nonce + 1
    hot.save(update_fields=["next_nonce", "updated_at"])
    return hot, signed


def chain_payout_sign(*, payout_id: int) -> ChainPayout:
    """Sign a pending payout with the hot wallet's next nonce (taken under the wallet's row lock)
    and store the raw transaction and its hash; nothing is broadcast. A payout already signed is
    returned unchanged. Raises ChainNotConfigured, chain_client.ChainUnavailable."""
    payout = ChainPayout.objects.get(pk=payout_id)
    if payout.status != ChainPayout.Status.PENDING:
        return payout
    signer = hot_wallet_signer()
    with transaction.atomic(durable=True):
        payout = ChainPayout.objects.select_for_update().get(pk=payout_id)
        if payout.status != ChainPayout.Status.PENDING:
            return payout
        hot, signed = hot_wallet_transfer_sign(signer=signer, to=payout.to_address, amount=payout.amount)
        payout.hot_wallet = hot
        payout.nonce = signed.nonce
        payout.signed_tx = signed.raw
        payout.tx_hash = signed.tx_hash
        payout.status = ChainPayout.Status.SIGNED
        payout.save(update_fields=["hot_wallet", "nonce", "signed_tx", "tx_hash", "status", "updated_at"])
    return payout


def chain_payout_broadcast(*, payout_id: int) -> ChainPayout:
    """Send the payout's stored signed transaction, byte for byte; the node already knowing it
    counts as sent, so retries never make a second transaction. Confirmed or failed payouts are
    left alone. Raises InvalidState (not signed yet), chain_client.ChainUnavailable, ChainRejected."""
    payout = ChainPayout.objects.get(pk=payout_id)
    if payout.status == ChainPayout.Status.PENDING:
        raise InvalidState("This payout is not signed yet.", detail={"payout": payout.reference})
    if payout.status not in (ChainPayout.Status.SIGNED, ChainPayout.Status.BROADCAST):
        return payout
    config = agr_rail_config()
    sent = client_on_chain(config.chain_id).send_raw_transaction(payout.signed_tx)
    if sent != payout.tx_hash:  # pragma: no cover - the hash is a function of the stored bytes
        raise ChainRejected(f"node answered {sent} for payout transaction {payout.tx_hash}")
    with transaction.atomic(durable=True):
        payout = ChainPayout.objects.select_for_update().get(pk=payout_id)
        if payout.status == ChainPayout.Status.SIGNED:
            payout.status = ChainPayout.Status.BROADCAST
            payout.broadcast_at = timezone.now()
            payout.save(update_fields=["status", "broadcast_at", "updated_at"])
    return payout


def chain_payout_send(*, payout_id: int) -> ChainPayout:
    """Sign (if pending) and broadcast a payout. Each step is durable on its own, so a crash between
    them is finished by calling this again."""
    chain_payout_sign(payout_id=payout_id)
    return chain_payout_broadcast(payout_id=payout_id)


def chain_payout_confirm(*, payout_id: int) -> ChainPayout:
    """Once a broadcast payout's transaction is `payments.agr_confirmations` deep: confirmed if it succeeded;
    failed if it reverted, with the debit reversed to the user's account. Otherwise unchanged.
    Raises ChainNotConfigured, chain_client.ChainUnavailable."""
    payout = ChainPayout.objects.get(pk=payout_id)
    if payout.status != ChainPayout.Status.BROADCAST or not payout.tx_hash:
        return payout
    config = agr_rail_config()
    client = client_on_chain(config.chain_id)
    receipt = client.receipt(payout.tx_hash)
    if receipt is None or client.block_number() - receipt.block_number + 1 < confirmations_required():
        return payout
    with transaction.atomic(durable=True):
        payout = ChainPayout.objects.select_for_update().get(pk=payout_id)
        if payout.status != ChainPayout.Status.BROADCAST:
            return payout
        if receipt.status == 1:
            payout.status = ChainPayout.Status.CONFIRMED
            payout.confirmed_at = timezone.now()
            payout.save(update_fields=["status", "confirmed_at", "updated_at"])
            return payout
        payout.status = ChainPayout.Status.FAILED
        payout.save(update_fields=["status", "updated_at"])
        if payout.ledger_transaction is not None:
            transaction_reverse(
                original=payout.ledger_transaction,
                memo=f"AGR payout {payout.reference} failed on chain",
                idempotency_key=f"chain-payout:{payout.reference}:failed",
            )
    return payout


@dataclass(frozen=True)
class PayoutRun:
    signed: int
    broadcast: int
    confirmed: int
    failed: int
    rejected: int  # broadcasts the node refused (left signed, retried next run)


def _ids(statuses: Iterable[str], order: str) -> list[int]:
    return list(
        ChainPayout.objects.filter(status__in=list(statuses)).order_by(order).values_list("pk", flat=True)
    )


def chain_payouts_process() -> PayoutRun:
    """Move every open payout one step on: sign pending ones, (re-)broadcast signed and
    unconfirmed ones in nonce order, confirm mined ones. Raises ChainUnavailable (retry it all)."""
    status = ChainPayout.Status
    signed = broadcast = confirmed = failed = rejected = 0
    for pk in _ids([status.PENDING], "pk"):
        signed += chain_payout_sign(payout_id=pk).status == status.SIGNED
    for pk in _ids([status.SIGNED, status.BROADCAST], "nonce"):
        try:
            before = ChainPayout.objects.values_list("status", flat=True).get(pk=pk)
            after = chain_payout_broadcast(payout_id=pk).status
            broadcast += before == status.SIGNED and after == status.BROADCAST
        except ChainRejected as exc:
            logger.warning("AGR payout %s refused by the node: %s", pk, exc)
            rejected += 1
    for pk in _ids([status.BROADCAST], "nonce"):
        after = chain_payout_confirm(payout_id=pk).status
        confirmed += after == status.CONFIRMED
        failed += after == status.FAILED
    return PayoutRun(
        signed=signed, broadcast=broadcast, confirmed=confirmed, failed=failed, rejected=rejected
    )


__all__ = [
    "AgrPaymentInstructions",
    "AgrRailConfig",
    "AgrVerification",
    "ChainAddressInvalid",
    "ChainNotConfigured",
    "ChainUnavailable",
    "HotWalletSigner",
    "PaymentNotVerified",
    "PayoutRun",
    "Reason",
    "ScanResult",
    "agr_payment_claim",
    "agr_payment_instructions",
    "agr_payment_start",
    "agr_payment_verify",
    "agr_rail_config",
    "chain_payout_broadcast",
    "chain_payout_confirm",
    "chain_payout_create",
    "chain_payout_record",
    "chain_payout_send",
    "chain_payout_sign",
    "chain_payouts_process",
    "client_on_chain",
    "confirmations_required",
    "hot_wallet_key",
    "hot_wallet_signer",
    "hot_wallet_transfer_sign",
    "transfers_scan",
    "transfers_scan_recent",
]
