"""Payouts: creators and providers withdraw their payable balance (SPEC §4, "Payouts").

A payout is requested on demand (`instant`, with the instant-withdrawal fee, payout.instant_fee_bps)
or made by the scheduled run (every payout.schedule_seconds, no fee). Each one is ONE ledger
transaction, posted when it is requested, once per reference:

    payable (creator or provider)   -amount
    platform revenue                +fee      (only when there is a fee)
    external stripe | external chain +net     (the rail the money leaves through)

so the money is out of the payable balance from the start and cannot be spent twice; a payout that
is canceled or fails is reversed whole (the fee comes back too).

Rules (read from the parameter registry, applied by `selectors.payouts.payout_quote`): at least
payout.minimum_cents (for AGR, that amount at token.agr_price_micro_usd, rounded up); at most the
payable balance (`InsufficientFunds`); the fee is floor(amount * bps / 10_000), net = amount - fee.

KYC (SPEC §8): a payout worth more than payout.kyc_threshold_cents (AGR at the reference price) is
refused with `KycRequired` (403 kyc_required) unless staff verified the person's identity
(`KycVerification`, set from the admin with who and when). A verified person's large payout is still
held as NEEDS_REVIEW, money already debited, until staff approve it (`payout_approve`, an admin
action) or cancel it (`payout_cancel`, money returned): two checks before large sums leave.

The rails:
- AGR: the payout gets a `ChainPayout` for `net` whose debit is the payout's ledger transaction
  (`chain_payouts.chain_payout_record`), sent after commit and by the `chain_process_payouts` task
  (sign, broadcast, confirm). `payouts_sync_chain` then marks the payout PAID when the transfer is
  confirmed, or FAILED when it reverted (chain_payout_confirm has reversed the whole debit).
- USD: Stripe Connect (Transfers to a creator's connected account) is the real rail, but nothing
  here knows creators' connected accounts yet and localstripe, which tests and development run
  against, has no Transfer or Account endpoint. So a USD payout stays PROCESSING with its debit done
  until staff pay it out and record the outcome with the admin actions `payout_mark_paid` or
  `payout_mark_failed` (which reverses the debit). `stripe_client.payout_transfer_create` is the one
  adapter for the Stripe call, ready for that wiring; it is tested against a stub HTTP server only.

No network call happens inside these transactions: the chain send is queued with on_commit.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from core.enqueue import task_on_commit
from tokenomics.errors import (
    AmountInvalid,
    ChainAddressInvalid,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidState,
    KycRequired,
    PayoutDestinationCoolingDown,
    PayoutDestinationNotAllowed,
    PayoutNotFound,
    PermissionDenied,
)
from tokenomics.models import Asset, LedgerAccount, LedgerTransaction, Payout, Rail
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.models.payouts import CANCELABLE_PAYOUT_STATUSES, PAYABLE_KINDS, PayoutStatus
from tokenomics.models.rails import ChainPayout
from tokenomics.selectors.parameters import parameter_get
from tokenomics.selectors.payouts import kyc_verified, payout_destination_get, payout_minimum, payout_quote
from tokenomics.services.chain_payouts import chain_payout_record
from tokenomics.services.ledger import Leg, transaction_post, transaction_reverse
from tokenomics.services.ledger_accounts import system_account_get_or_create, user_account_get_or_create
from tokenomics.services.notifications import payout_notify

logger = logging.getLogger(__name__)

MAX_REFERENCE_LENGTH = 120
CHAIN_FAILED_REASON = "The AGR transfer failed on chain; the amount was returned to the payable balance."


def _rail(asset: str) -> str:
    return Rail.CARD if asset == Asset.USD else Rail.AGR


def _external_kind(asset: str) -> AccountKind:
    return AccountKind.EXTERNAL_STRIPE if asset == Asset.USD else AccountKind.EXTERNAL_CHAIN


def _recipient(*, user: User, asset: str, to_address: str) -> str:
    """The EIP-55 address an AGR payout goes to: one of the user's own linked wallets past its
    cool-down (`payout_destination_get`); "" for USD. Raises AmountInvalid (an address for a USD
    payout), ChainAddressInvalid, PayoutDestinationNotAllowed, PayoutDestinationCoolingDown."""
    if asset != Asset.AGR:
        if to_address:
            raise AmountInvalid(
                "A USD payout is paid through Stripe; an address is only for AGR payouts.",
                detail={"to_address": to_address},
            )
        return ""
    return payout_destination_get(user=user, to_address=to_address)


def _same(
    payout: Payout, *, user: User, asset: str, amount: int, account_kind: str, instant: bool, to: str | None
) -> Payout:
    """The existing payout for a repeated reference, if the request is the same one."""
    if (
        payout.user_id != user.pk
        or payout.asset != asset
        or payout.amount != amount
        or payout.account_kind != account_kind
        or payout.instant != instant
        or (to is not None and payout.to_address != to)
    ):
        raise IdempotencyConflict("This payout reference was used for another payout.")
    return payout


def _send_on_commit(chain_payout_id: int) -> None:
    # robust: a broker or node hiccup must not undo a committed payout; chain_process_payouts
    # sends whatever is still pending every minute.
    task_on_commit("tokenomics.chain_payout_send", chain_payout_id)


def _hand_to_rail(payout: Payout) -> None:
    """Inside the payout's transaction: AGR gets its ChainPayout (debit: the payout's own ledger
    transaction); USD waits for staff (see the module doc). Then PROCESSING."""
    if payout.asset == Asset.AGR:
        assert payout.ledger_transaction is not None
        chain = chain_payout_record(
            user=payout.user,
            to_address=payout.to_address,
            amount=payout.net,
            reference=f"payout-{payout.pk}",
            account_kind=payout.account_kind,
            debit=payout.ledger_transaction,
        )
        payout.chain_payout = chain
        _send_on_commit(chain.pk)
    payout.status = PayoutStatus.PROCESSING


def payout_request(
    *,
    user: User,
    asset: str,
    amount: int,
    account_kind: str = AccountKind.CREATOR_PAYABLE,
    instant: bool = True,
    to_address: str = "",
    reference: str | None = None,
) -> Payout:
    """Withdraw `amount` (minor units of `asset`) from the user's payable: debit it now, fee to
    platform revenue when `instant`, net through the asset's rail (see the module doc), once per
    `reference` (a repeat returns the same payout). AGR goes only to one of the user's own linked
    wallets past its cool-down: `to_address`, else the oldest. Above the KYC threshold the payout
    waits for staff (NEEDS_REVIEW). Sends the AGR after commit. Raises AmountInvalid (below the
    minimum, malformed), InsufficientFunds, ChainAddressInvalid, PayoutDestinationNotAllowed,
    PayoutDestinationCoolingDown, IdempotencyConflict."""
    if reference is not None and not 0 < len(reference) <= MAX_REFERENCE_LENGTH:
        raise AmountInvalid(f"A payout reference has 1 to {MAX_REFERENCE_LENGTH} characters.")
    reference = reference or f"payout:{uuid.uuid4().hex}"
    existing = Payout.objects.filter(reference=reference).first()
    if existing is not None:
        # Answered before the rules are checked again: the money it moved may since be gone.
        return _same(
            existing,
            user=user,
            asset=asset,
            amount=amount,
            account_kind=account_kind,
            instant=instant,
            to=None,
        )
    to = _recipient(user=user, asset=asset, to_address=to_address)
    quote = payout_quote(user=user, asset=asset, amount=amount, instant=instant, account_kind=account_kind)
    if quote.needs_review and not kyc_verified(user=user):
        raise KycRequired(detail={"kyc_threshold_cents": str(parameter_get("payout.kyc_threshold_cents"))})

    def replay(payout: Payout) -> Payout:
        return _same(
            payout, user=user, asset=asset, amount=amount, account_kind=account_kind, instant=instant, to=to
        )

    with transaction.atomic(durable=True):
        existing = Payout.objects.select_for_update().filter(reference=reference).first()
        if existing is not None:
            return replay(existing)
        try:
            with transaction.atomic():
                payout = Payout.objects.create(
                    user=user,
                    account_kind=account_kind,
                    asset=asset,
                    amount=amount,
                    fee=quote.fee,
                    net=quote.net,
                    rail=_rail(asset),
                    instant=instant,
                    reference=reference,
                    to_address=to,
                )
        except IntegrityError:  # created concurrently under the same reference
            return replay(Payout.objects.get(reference=reference))
        payable = user_account_get_or_create(user=user, kind=account_kind, asset=asset)
        legs = [
            Leg(payable, -amount),
            Leg(system_account_get_or_create(kind=_external_kind(asset), asset=asset), quote.net),
        ]
        if quote.fee:
            legs.append(
                Leg(system_account_get_or_create(kind=AccountKind.PLATFORM_REVENUE, asset=asset), quote.fee)
            )
        # Checks the balance again under the account's row lock: InsufficientFunds rolls it all back.
        payout.ledger_transaction = transaction_post(
            kind=TransactionKind.PAYOUT,
            legs=legs,
            idempotency_key=f"payout:{payout.pk}",
            memo=("Instant payout" if instant else "Scheduled payout") + f" of {asset} ({account_kind})",
            reference=f"payout:{payout.pk}",
            party=user,
        ).transaction
        if quote.needs_review:
            payout.status = PayoutStatus.NEEDS_REVIEW
        else:
            _hand_to_rail(payout)
        payout.save(update_fields=["ledger_transaction", "chain_payout", "status", "updated_at"])
        payout_notify(payout=payout)
    return payout


def _locked(payout_id: int) -> Payout:
    payout = Payout.objects.select_for_update().filter(pk=payout_id).first()
    if payout is None:
        raise PayoutNotFound()
    return payout


def _reverse(payout: Payout, *, memo: str) -> None:
    assert payout.ledger_transaction is not None
    payout.reversal_transaction = transaction_reverse(
        original=payout.ledger_transaction, memo=memo, idempotency_key=f"payout:{payout.pk}:reverse"
    ).transaction


SETTLE_PERMISSION = "tokenomics.settle_payout"


def _staff_check(staff: User | None) -> None:
    # Staff status only opens the admin; moving payable money needs the explicit permission.
    if staff is not None and not (staff.is_active and staff.has_perm(SETTLE_PERMISSION)):
        raise PermissionDenied(f"Acting on payouts needs the {SETTLE_PERMISSION} permission.")


def _reviewed(payout: Payout, staff: User | None) -> None:
    """Record which staff member acted, and when (shown in the admin)."""
    if staff is not None:
        payout.reviewed_by = staff
        payout.reviewed_at = timezone.now()


def payout_approve(*, payout_id: int, staff: User) -> Payout:
    """Staff release a payout held for review (above the KYC threshold) to its rail: PROCESSING,
    and for AGR the transfer is queued after commit. Raises PermissionDenied (no
    tokenomics.settle_payout), PayoutNotFound, InvalidState (not waiting for review, which a
    repeat is not)."""
    _staff_check(staff)
    with transaction.atomic(durable=True):
        payout = _locked(payout_id)
        if payout.status != PayoutStatus.NEEDS_REVIEW:
            raise InvalidState("This payout is not waiting for review.", detail={"status": payout.status})
        _reviewed(payout, staff)
        _hand_to_rail(payout)
        payout.save(update_fields=["reviewed_by", "reviewed_at", "chain_payout", "status", "updated_at"])
        payout_notify(payout=payout)
    return payout


def payout_cancel(*, payout_id: int, user: User | None = None, staff: User | None = None) -> Payout:
    """Cancel a payout not yet handed to a rail (requested, or waiting for review) and return the
    whole amount, fee included, to the payable (one reversal). `user`: only their own payout.
    Repeating it changes nothing. Raises PermissionDenied (`staff` without
    tokenomics.settle_payout), PayoutNotFound, InvalidState (already processing or done)."""
    _staff_check(staff)
    with transaction.atomic(durable=True):
        payout = _locked(payout_id)
        if user is not None and payout.user_id != user.pk:
            raise PayoutNotFound()
        if payout.status == PayoutStatus.CANCELED:
            return payout
        if payout.status not in CANCELABLE_PAYOUT_STATUSES:
            raise InvalidState(
                "Only a payout not yet sent can be canceled.", detail={"status": payout.status}
            )
        _reverse(payout, memo=f"Payout {payout.reference} canceled")
        payout.status = PayoutStatus.CANCELED
        payout.settled_at = timezone.now()
        _reviewed(payout, staff)
        payout.save(
            update_fields=[
                "status",
                "settled_at",
                "reversal_transaction",
                "reviewed_by",
                "reviewed_at",
                "updated_at",
            ]
        )
    return payout


def _card_payout_settle(*, payout_id: int, staff: User | None, paid: bool, reason: str) -> Payout:
    target = PayoutStatus.PAID if paid else PayoutStatus.FAILED
    _staff_check(staff)
    with transaction.atomic(durable=True):
        payout = _locked(payout_id)
        if payout.status == target:
            return payout
        if payout.rail != Rail.CARD:
            raise InvalidState(
                "An AGR payout is settled by its on-chain transfer, not by hand.",
                detail={"rail": payout.rail},
            )
        if payout.status != PayoutStatus.PROCESSING:
            raise InvalidState("This payout is not processing.", detail={"status": payout.status})
        if not paid:
            _reverse(payout, memo=f"Payout {payout.reference} failed: {reason}"[:255])
            payout.failure_reason = reason[:255]
        payout.status = target
        payout.settled_at = timezone.now()
        _reviewed(payout, staff)
        payout.save(
            update_fields=[
                "status",
                "settled_at",
                "failure_reason",
                "reversal_transaction",
                "reviewed_by",
                "reviewed_at",
                "updated_at",
            ]
        )
        payout_notify(payout=payout)
    return payout


def payout_mark_paid(*, payout_id: int, staff: User | None = None) -> Payout:
    """Record that a processing USD payout reached the payee (staff, after paying it through Stripe).
    Repeating it changes nothing. Raises PayoutNotFound, InvalidState (AGR, or not processing)."""
    return _card_payout_settle(payout_id=payout_id, staff=staff, paid=True, reason="")


def payout_mark_failed(*, payout_id: int, reason: str, staff: User | None = None) -> Payout:
    """Record that a processing USD payout could not be paid, and return the whole amount (fee
    included) to the payable with one reversal. Repeating it changes nothing. Raises
    PayoutNotFound, InvalidState (AGR, or not processing), InsufficientFunds (the fee has since
    left platform revenue)."""
    return _card_payout_settle(payout_id=payout_id, staff=staff, paid=False, reason=reason or "Failed")


@dataclass(frozen=True)
class ChainSync:
    paid: int
    failed: int


def payouts_sync_chain() -> ChainSync:
    """Bring processing AGR payouts up to their ChainPayout: PAID once the transfer is confirmed,
    FAILED once it reverted (whose debit chain_payout_confirm has already reversed). No network."""
    paid = failed = 0
    done = (ChainPayout.Status.CONFIRMED, ChainPayout.Status.FAILED)
    ids = Payout.objects.filter(
        status=PayoutStatus.PROCESSING, rail=Rail.AGR, chain_payout__status__in=done
    ).values_list("pk", flat=True)
    for payout_id in list(ids):
        with transaction.atomic(durable=True):
            payout = _locked(payout_id)
            chain = payout.chain_payout
            if payout.status != PayoutStatus.PROCESSING or chain is None:
                continue
            if chain.status == ChainPayout.Status.CONFIRMED:
                payout.status = PayoutStatus.PAID
                payout.settled_at = chain.confirmed_at or timezone.now()
                paid += 1
            else:
                payout.status = PayoutStatus.FAILED
                payout.failure_reason = CHAIN_FAILED_REASON
                payout.reversal_transaction = LedgerTransaction.objects.filter(
                    reverses_id=payout.ledger_transaction_id
                ).first()
                payout.settled_at = timezone.now()
                failed += 1
            payout.save(
                update_fields=["status", "settled_at", "failure_reason", "reversal_transaction", "updated_at"]
            )
            payout_notify(payout=payout)
    return ChainSync(paid=paid, failed=failed)


@dataclass(frozen=True)
class ScheduledRun:
    period: int  # index of the payout period: seconds since the epoch // payout.schedule_seconds
    created: int  # payouts made by this run
    existing: int  # balances already paid out in this period (an earlier run)
    skipped: int  # AGR without a linked wallet, or the balance changed while the run went on


def payout_period(*, now: datetime | None = None) -> int:
    """The index of the payout period containing `now` (periods of payout.schedule_seconds from the
    Unix epoch, so every worker agrees on them)."""
    moment = now or timezone.now()
    return int(moment.timestamp()) // parameter_get("payout.schedule_seconds")


def payouts_run_scheduled(*, now: datetime | None = None) -> ScheduledRun:
    """Pay out, without fee, every creator and provider payable balance at or above the minimum,
    once per user, account, asset and period (reference "scheduled:<user>:<kind>:<asset>:<period>"),
    so running it again in the same period changes nothing. AGR goes to the oldest linked wallet;
    balances without one past its cool-down wait. Each payout is its own transaction, through
    `payout_request`."""
    period = payout_period(now=now)
    minimum = {asset: payout_minimum(asset=asset) for asset in Asset.values}
    created = existing = skipped = 0
    # Sign comparisons with 0 are exact on SQLite too (core.fields); the minimum is compared in Python.
    accounts = (
        LedgerAccount.objects.filter(owner__isnull=False, kind__in=list(PAYABLE_KINDS), balance__gt=0)
        .select_related("owner")
        .order_by("pk")
    )
    for account in accounts:
        if account.balance < minimum[account.asset] or account.owner is None:
            continue
        reference = f"scheduled:{account.owner_id}:{account.kind}:{account.asset}:{period}"
        if Payout.objects.filter(reference=reference).exists():
            existing += 1
            continue
        try:
            payout_request(
                user=account.owner,
                asset=account.asset,
                amount=account.balance,
                account_kind=account.kind,
                instant=False,
                reference=reference,
            )
        except (
            ChainAddressInvalid,
            PayoutDestinationNotAllowed,
            PayoutDestinationCoolingDown,
            InsufficientFunds,
            IdempotencyConflict,
            AmountInvalid,
            KycRequired,  # a large balance waits until staff verify the person
        ) as exc:
            logger.info("Scheduled payout %s skipped: %s", reference, exc.message)
            skipped += 1
            continue
        created += 1
    return ScheduledRun(period=period, created=created, existing=existing, skipped=skipped)
