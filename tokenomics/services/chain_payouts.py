"""The AGR rail's payouts: a ChainPayout recorded with its payout, signed by the hot wallet,
broadcast and confirmed; `chain_payouts_process` moves every pending one forward (see
tokenomics.services.chain_rail)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from tokenomics.chain_client import (
    ChainRejected,
    Fees,
    SignedTransaction,
    address_of,
    checksum,
    erc20_transfer_sign,
)
from tokenomics.errors import (
    AmountInvalid,
    ChainAddressInvalid,
    IdempotencyConflict,
    InvalidState,
)
from tokenomics.models import Asset, LedgerTransaction
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.models.rails import ChainPayout, HotWallet
from tokenomics.selectors.payments import (
    confirmations_required,
)
from tokenomics.services.chain_rail import (
    PAYOUT_ACCOUNT_KINDS,
    AgrRailConfig,
    agr_rail_config,
    client_on_chain,
    hot_wallet_key,
    logger,
)
from tokenomics.services.ledger import Leg, transaction_post, transaction_reverse
from tokenomics.services.ledger_accounts import system_account_get_or_create, user_account_get_or_create

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
    "HotWalletSigner",
    "PayoutRun",
    "chain_payout_broadcast",
    "chain_payout_confirm",
    "chain_payout_create",
    "chain_payout_record",
    "chain_payout_send",
    "chain_payout_sign",
    "chain_payouts_process",
    "hot_wallet_signer",
    "hot_wallet_transfer_sign",
]
