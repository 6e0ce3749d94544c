"""The AGR rail's Transfer scan: every Transfer to the deposit address in a block range, matched to the
AGR payment it pays (credited through agr_payment_verify, exactly once) or recorded as unmatched for
staff; the cursor of the last scanned block lives in the database (see tokenomics.services.chain_rail)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction

from tokenomics.chain_client import (
    TransferLog,
)
from tokenomics.errors import (
    PaymentNotVerified,
)
from tokenomics.models import Payment, Rail
from tokenomics.models.rails import ChainScanCursor, ChainTransfer
from tokenomics.selectors.payments import (
    confirmations_required,
)
from tokenomics.services.chain_rail import (
    OPEN_STATUSES,
    AgrRailConfig,
    agr_payment_verify,
    agr_rail_config,
    client_on_chain,
    logger,
    transfer_record,
)

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
            transfer_record(log, chain_id=chain_id, tx_hash=log.tx_hash, payment=None)
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


__all__ = [
    "ScanResult",
    "transfers_scan",
    "transfers_scan_recent",
]
