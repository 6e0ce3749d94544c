"""Burns: AGR taken out of supply, in the ledger first and then on chain, in batches.

Ledger side. A burn is a ledger move into the burn account (`burn_post`): the network fee of a sale
paid in AGR is burned by the sale's split (`tokenomics.services.escrow`), slashed stake by the
slashing service. The burn account only ever grows; its balance is "burned" on the transparency
page.

Chain side. AGR.vy has no burn function, so burned AGR is sent from the hot wallet (where AGR
payments arrive) to `settings.WEB3_BURN_ADDRESS`, an address without a key. `chain_burns_process`
(a periodic task) batches everything the ledger burned that no live batch covers yet into one
`ChainBurn`, then signs, broadcasts and confirms it exactly as payouts are (the signed bytes are
stored before broadcast, so a retry re-sends the same transaction; payouts and burns take nonces
from the same locked hot-wallet row). A batch that reverts is marked failed and its amount is
batched again next time. No ledger money moves on chain confirmation: the burn already happened in
the ledger; the batch records that the chain caught up, with its transaction hash.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.fields import WideSum
from tokenomics.chain_client import ChainRejected, checksum
from tokenomics.errors import AmountInvalid, InvalidState
from tokenomics.locks import accounts_lock
from tokenomics.models import Asset, ChainBurn, LedgerAccount, LedgerTransaction
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.selectors.ledger import account_balance
from tokenomics.services.chain_payouts import hot_wallet_signer, hot_wallet_transfer_sign
from tokenomics.services.chain_rail import agr_rail_config, client_on_chain, confirmations_required
from tokenomics.services.ledger import Leg, transaction_post
from tokenomics.services.ledger_accounts import system_account_get_or_create

logger = logging.getLogger(__name__)

LIVE_STATUSES = (
    ChainBurn.Status.PENDING,
    ChainBurn.Status.SIGNED,
    ChainBurn.Status.BROADCAST,
    ChainBurn.Status.CONFIRMED,
)


def burn_post(
    *,
    source: LedgerAccount,
    amount: int,
    idempotency_key: str,
    memo: str,
    reference: str = "",
    party: User | None = None,
    kind: TransactionKind | str = TransactionKind.BURN,
) -> LedgerTransaction:
    """Move `amount` AGR base units from `source` into the burn account, once per key (slashed
    stake, a fee burned outside a sale's split). Raises AmountInvalid, InsufficientFunds."""
    if source.asset != Asset.AGR:
        raise AmountInvalid("Only AGR is burned.", detail={"asset": source.asset})
    if type(amount) is not int or amount <= 0:
        raise AmountInvalid("A burn is a positive whole amount of AGR base units.")
    burn = system_account_get_or_create(kind=AccountKind.BURN, asset=Asset.AGR)
    return transaction_post(
        kind=kind,
        legs=[Leg(source, -amount), Leg(burn, amount)],
        idempotency_key=idempotency_key,
        memo=memo,
        reference=reference,
        party=party,
    ).transaction


def chain_burn_batch() -> ChainBurn | None:
    """Record one pending batch of what the ledger burned beyond every live batch; None when the
    chain is caught up (or a batch is already open: one at a time keeps the amounts simple)."""
    burn = system_account_get_or_create(kind=AccountKind.BURN, asset=Asset.AGR)
    with transaction.atomic(durable=True):
        accounts_lock([burn.pk])  # serialises batchers
        burned = account_balance(account=burn)  # Σ entries: platform accounts keep no cache
        live = ChainBurn.objects.filter(status__in=LIVE_STATUSES)
        if live.exclude(status=ChainBurn.Status.CONFIRMED).exists():
            return None
        covered = int(live.aggregate(total=WideSum("amount"))["total"] or 0)
        if burned <= covered:
            return None
        return ChainBurn.objects.create(
            amount=burned - covered, ledger_burned=burned, to_address=checksum(settings.WEB3_BURN_ADDRESS)
        )


def chain_burn_sign(*, burn_id: int) -> ChainBurn:
    """Sign a pending batch with the hot wallet's next nonce and store it; nothing is sent."""
    burn = ChainBurn.objects.get(pk=burn_id)
    if burn.status != ChainBurn.Status.PENDING:
        return burn
    signer = hot_wallet_signer()
    with transaction.atomic(durable=True):
        burn = ChainBurn.objects.select_for_update().get(pk=burn_id)
        if burn.status != ChainBurn.Status.PENDING:
            return burn
        hot, signed = hot_wallet_transfer_sign(signer=signer, to=burn.to_address, amount=burn.amount)
        burn.hot_wallet = hot
        burn.nonce = signed.nonce
        burn.signed_tx = signed.raw
        burn.tx_hash = signed.tx_hash
        burn.status = ChainBurn.Status.SIGNED
        burn.save(update_fields=["hot_wallet", "nonce", "signed_tx", "tx_hash", "status", "updated_at"])
    return burn


def chain_burn_broadcast(*, burn_id: int) -> ChainBurn:
    """Send the batch's stored transaction byte for byte (the node knowing it already is fine).
    Raises InvalidState (not signed), ChainUnavailable, ChainRejected."""
    burn = ChainBurn.objects.get(pk=burn_id)
    if burn.status == ChainBurn.Status.PENDING:
        raise InvalidState("This burn is not signed yet.", detail={"burn": burn.pk})
    if burn.status not in (ChainBurn.Status.SIGNED, ChainBurn.Status.BROADCAST):
        return burn
    config = agr_rail_config()
    client_on_chain(config.chain_id).send_raw_transaction(burn.signed_tx)
    with transaction.atomic(durable=True):
        burn = ChainBurn.objects.select_for_update().get(pk=burn_id)
        if burn.status == ChainBurn.Status.SIGNED:
            burn.status = ChainBurn.Status.BROADCAST
            burn.broadcast_at = timezone.now()
            burn.save(update_fields=["status", "broadcast_at", "updated_at"])
    return burn


def chain_burn_confirm(*, burn_id: int) -> ChainBurn:
    """Once the batch's transaction is `payments.agr_confirmations` deep: confirmed if it
    succeeded, failed if it reverted (its amount is batched again). Otherwise unchanged."""
    burn = ChainBurn.objects.get(pk=burn_id)
    if burn.status != ChainBurn.Status.BROADCAST or not burn.tx_hash:
        return burn
    config = agr_rail_config()
    client = client_on_chain(config.chain_id)
    receipt = client.receipt(burn.tx_hash)
    if receipt is None or client.block_number() - receipt.block_number + 1 < confirmations_required():
        return burn
    with transaction.atomic(durable=True):
        burn = ChainBurn.objects.select_for_update().get(pk=burn_id)
        if burn.status != ChainBurn.Status.BROADCAST:
            return burn
        if receipt.status == 1:
            burn.status = ChainBurn.Status.CONFIRMED
            burn.confirmed_at = timezone.now()
            burn.save(update_fields=["status", "confirmed_at", "updated_at"])
        else:
            burn.status = ChainBurn.Status.FAILED
            burn.save(update_fields=["status", "updated_at"])
    return burn


@dataclass(frozen=True)
class BurnRun:
    batched: int  # AGR base units put into a new batch by this run
    confirmed: int
    failed: int


def chain_burns_process() -> BurnRun:
    """Batch what the ledger burned, then move every open batch one step on (sign, broadcast,
    confirm). Raises ChainUnavailable (the task retries it all; every step is idempotent)."""
    created = chain_burn_batch()
    confirmed = failed = 0
    for pk in ChainBurn.objects.filter(status=ChainBurn.Status.PENDING).values_list("pk", flat=True):
        chain_burn_sign(burn_id=pk)
    for pk in ChainBurn.objects.filter(
        status__in=[ChainBurn.Status.SIGNED, ChainBurn.Status.BROADCAST]
    ).values_list("pk", flat=True):
        try:
            chain_burn_broadcast(burn_id=pk)
        except ChainRejected as exc:
            logger.warning("AGR burn %s refused by the node: %s", pk, exc)
            continue
        status = chain_burn_confirm(burn_id=pk).status
        confirmed += status == ChainBurn.Status.CONFIRMED
        failed += status == ChainBurn.Status.FAILED
    return BurnRun(batched=created.amount if created is not None else 0, confirmed=confirmed, failed=failed)
