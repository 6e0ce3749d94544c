"""Escrow: hold a payment, then resolve it exactly once by release, refund, or partial refund.

Every resolution locks the escrow row and checks it is still HELD, so a release racing a refund
(a buyer's click against the window-closing task) resolves once; the postings' idempotency keys
derive from the escrow reference, so a retried call moves nothing twice.

These are primitives: they nest inside the caller's transaction (an order service that holds a
payment and records the order together), so the top-level caller owns the durable transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from tokenomics.errors import AmountInvalid, InvalidState
from tokenomics.locks import accounts_lock, escrow_lock
from tokenomics.models import Asset, Escrow, LedgerAccount, LedgerTransaction
from tokenomics.models.escrow import EscrowState
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.selectors.parameters import parameter_get
from tokenomics.selectors.rates import compute_rates, sale_rates_for_creator
from tokenomics.services.ledger import (
    Leg,
    legs_merge,
    system_account_get_or_create,
    transaction_post,
    user_account_get_or_create,
)
from tokenomics.splits import SaleSplit, split_compute, split_sale


def escrow_hold(
    *,
    reference: str,
    creator: User,
    source_account: LedgerAccount,
    amount: int,
    payer: User | None = None,
    release_after: datetime | None = None,
    memo: str = "",
) -> Escrow:
    """Move `amount` from `source_account` (the payer's wallet, or a rail's external account) into
    escrow for a sale by `creator`. Idempotent per `reference`. Raises InsufficientFunds,
    IdempotencyConflict (same reference, other amount or source), AmountInvalid."""
    if type(amount) is not int or amount <= 0:
        raise AmountInvalid("An escrow holds a positive whole amount in minor units.")
    if release_after is None:
        release_after = timezone.now() + timedelta(seconds=parameter_get("escrow.refund_window_seconds"))
    escrow_account = system_account_get_or_create(kind=AccountKind.ESCROW, asset=source_account.asset)
    with transaction.atomic():
        posted = transaction_post(
            kind=TransactionKind.ESCROW_HOLD,
            legs=[Leg(source_account, -amount), Leg(escrow_account, amount)],
            idempotency_key=f"escrow:{reference}:hold",
            memo=memo or f"Payment held for {reference}",
            reference=reference,
            party=creator,
        )
        if not posted.created:
            return Escrow.objects.get(hold_transaction=posted.transaction)
        return Escrow.objects.create(
            reference=reference,
            asset=source_account.asset,
            amount=amount,
            payer=payer,
            creator=creator,
            source_account=source_account,
            release_after=release_after,
            hold_transaction=posted.transaction,
        )


def sale_split_legs(*, creator: User, asset: str, split: SaleSplit) -> list[Leg]:
    """The credit legs of a sale's split (creator payable, network fee, treasury, validator pool,
    platform revenue; zero parts left out). The caller adds the debit of `split.gross`. Used by
    escrow releases and by the settlement of metered inference calls (SPEC §4: the creator's part
    of a call is split like a sale)."""
    # The network fee is burned when paid in AGR and set aside for buy-backs when paid in fiat.
    network_kind = AccountKind.BURN if asset == Asset.AGR else AccountKind.BUYBACK_RESERVE
    parts = [
        (
            user_account_get_or_create(user=creator, kind=AccountKind.CREATOR_PAYABLE, asset=asset),
            split.creator,
        ),
        (system_account_get_or_create(kind=network_kind, asset=asset), split.network_fee),
        (system_account_get_or_create(kind=AccountKind.TREASURY, asset=asset), split.treasury),
        (system_account_get_or_create(kind=AccountKind.VALIDATOR_POOL, asset=asset), split.validator_pool),
        (system_account_get_or_create(kind=AccountKind.PLATFORM_REVENUE, asset=asset), split.platform),
    ]
    return [Leg(account, amount) for account, amount in parts if amount]


def compute_split_legs(*, provider: User, asset: str, fee: int, staking_tier: str | None = None) -> list[Leg]:
    """The credit legs of a compute fee's split (SPEC §4: provider payable, validators' network
    operations, treasury, platform; zero parts left out). The caller adds the debit of `fee`."""
    split = split_compute(fee=fee, rates=compute_rates(staking_tier=staking_tier))
    parts = [
        (
            user_account_get_or_create(user=provider, kind=AccountKind.PROVIDER_PAYABLE, asset=asset),
            split.provider,
        ),
        (system_account_get_or_create(kind=AccountKind.VALIDATOR_POOL, asset=asset), split.network_ops),
        (system_account_get_or_create(kind=AccountKind.TREASURY, asset=asset), split.treasury),
        (system_account_get_or_create(kind=AccountKind.PLATFORM_REVENUE, asset=asset), split.platform),
    ]
    return [Leg(account, amount) for account, amount in parts if amount]


@dataclass(frozen=True)
class ReleaseDeduction:
    """A part of a released payment owed to someone other than the creator before the sale split:
    today a provider's compute fees for the calls a subscription period made (SPEC §4)."""

    provider: User
    amount: int  # minor units of the escrow's asset
    staking_tier: str | None = None


ReleaseDeductions = Callable[[Escrow], list[ReleaseDeduction]]
_release_deductions: list[ReleaseDeductions] = []


def escrow_release_deductions_register(source: ReleaseDeductions) -> None:
    """Let a higher app say what a released payment owes before the creator's split (compute:
    a subscription period's compute fees). Called from an AppConfig.ready(); every release path
    (due, first use, a partial refund's kept part) goes through `_release_legs`, so all pay them."""
    if source not in _release_deductions:
        _release_deductions.append(source)


def _release_legs(*, escrow: Escrow, amount: int, escrow_account: LedgerAccount) -> list[Leg]:
    """Debit `amount` from escrow: first what registered sources say it owes (each capped at what
    is left, in their order), then the rest split as a sale at the creator's tier."""
    legs = [Leg(escrow_account, -amount)]
    left = amount
    for source in _release_deductions:
        for deduction in source(escrow):
            paid = min(deduction.amount, left)
            if paid <= 0:
                continue
            legs += compute_split_legs(
                provider=deduction.provider, asset=escrow.asset, fee=paid, staking_tier=deduction.staking_tier
            )
            left -= paid
    split = split_sale(gross=left, rates=sale_rates_for_creator(creator=escrow.creator))
    legs += sale_split_legs(creator=escrow.creator, asset=escrow.asset, split=split)
    return legs_merge(legs)


def _post_release(*, escrow: Escrow, legs: list[Leg]) -> LedgerTransaction:
    posted = transaction_post(
        kind=TransactionKind.SALE,
        legs=legs,
        idempotency_key=f"escrow:{escrow.reference}:release",
        memo=f"Sale {escrow.reference} released to the split",
        reference=escrow.reference,
        party=escrow.creator,
    )
    return posted.transaction


def _post_refund(*, escrow: Escrow, amount: int, escrow_account: LedgerAccount) -> LedgerTransaction:
    posted = transaction_post(
        kind=TransactionKind.REFUND,
        legs=[Leg(escrow_account, -amount), Leg(escrow.source_account, amount)],
        idempotency_key=f"escrow:{escrow.reference}:refund",
        memo=f"Refund of {escrow.reference}",
        reference=escrow.reference,
        party=escrow.creator,
    )
    return posted.transaction


def _release(*, escrow_id: int, due_at: datetime | None = None) -> tuple[Escrow, bool]:
    """Release under the row lock; with `due_at`, only a held, unfrozen escrow due by then (the
    batch listed it without a lock, and a refund or a dispute may have come since).
    Returns the escrow and whether this call released it."""
    with transaction.atomic():
        escrow = escrow_lock(escrow_id)
        if due_at is not None and (
            escrow.state != EscrowState.HELD or escrow.frozen or escrow.release_after > due_at
        ):
            return escrow, False
        if escrow.state == EscrowState.RELEASED:
            return escrow, False
        if escrow.state != EscrowState.HELD:
            raise InvalidState("This payment was already refunded.", detail={"state": escrow.state})
        escrow_account = system_account_get_or_create(kind=AccountKind.ESCROW, asset=escrow.asset)
        legs = _release_legs(escrow=escrow, amount=escrow.amount, escrow_account=escrow_account)
        escrow.release_transaction = _post_release(escrow=escrow, legs=legs)
        escrow.state = EscrowState.RELEASED
        escrow.resolved_at = timezone.now()
        escrow.save(update_fields=["release_transaction", "state", "resolved_at", "updated_at"])
        return escrow, True


def escrow_release(*, escrow_id: int) -> Escrow:
    """Release a held payment to the sale split (creator tier as of now). Releasing a released
    escrow returns it unchanged; a refunded one raises InvalidState."""
    escrow, _ = _release(escrow_id=escrow_id)
    return escrow


def escrow_refund(*, escrow_id: int, amount: int | None = None) -> Escrow:
    """Refund a held payment to where it came from: all of it, or `amount` with the rest released
    to the split. Raises InvalidState once resolved (a repeat of a full refund returns it), and
    AmountInvalid for an amount outside 1..held."""
    with transaction.atomic():
        escrow = escrow_lock(escrow_id)
        refund = escrow.amount if amount is None else amount
        if escrow.state == EscrowState.REFUNDED and refund == escrow.amount:
            return escrow
        if escrow.state != EscrowState.HELD:
            raise InvalidState("This payment is no longer held in escrow.", detail={"state": escrow.state})
        if type(refund) is not int or not 0 < refund <= escrow.amount:
            raise AmountInvalid(
                "A refund is a whole amount between 1 and the amount held.",
                detail={"held": str(escrow.amount)},
            )
        escrow_account = system_account_get_or_create(kind=AccountKind.ESCROW, asset=escrow.asset)
        release_legs: list[Leg] = []
        if refund < escrow.amount:
            release_legs = _release_legs(
                escrow=escrow, amount=escrow.amount - refund, escrow_account=escrow_account
            )
            # Two postings in one transaction: lock every account of both up front, in pk order,
            # or each posting's own ordered locking could still deadlock with another transaction.
            accounts_lock([escrow.source_account_id, *(leg.account.pk for leg in release_legs)])
        escrow.refund_transaction = _post_refund(escrow=escrow, amount=refund, escrow_account=escrow_account)
        escrow.refunded_amount = refund
        if release_legs:
            escrow.release_transaction = _post_release(escrow=escrow, legs=release_legs)
            escrow.state = EscrowState.PARTIALLY_REFUNDED
        else:
            escrow.state = EscrowState.REFUNDED
        escrow.resolved_at = timezone.now()
        escrow.save(
            update_fields=[
                "refund_transaction",
                "release_transaction",
                "refunded_amount",
                "state",
                "resolved_at",
                "updated_at",
            ]
        )
        return escrow


def escrow_set_frozen(*, escrow_id: int, frozen: bool) -> Escrow:
    """Keep a held payment from releasing at the end of its window (a refund request or dispute is
    open), or let it again. Raises InvalidState once resolved."""
    with transaction.atomic():
        escrow = escrow_lock(escrow_id)
        if escrow.state != EscrowState.HELD:
            raise InvalidState("This payment is no longer held in escrow.", detail={"state": escrow.state})
        if escrow.frozen != frozen:
            escrow.frozen = frozen
            escrow.save(update_fields=["frozen", "updated_at"])
        return escrow


def escrows_release_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Release every held, unfrozen escrow whose window has closed; returns how many it released.
    Each release is its own transaction, so one failure leaves the others done; an escrow refunded,
    frozen or released by someone else since it was listed is skipped."""
    now = now or timezone.now()
    due = list(
        Escrow.objects.filter(state=EscrowState.HELD, frozen=False, release_after__lte=now)
        .order_by("release_after", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    released = 0
    for escrow_id in due:
        _, done = _release(escrow_id=escrow_id, due_at=now)
        released += done
    return released


def sale_clawback(*, escrow_id: int, amount: int, reason: str = "") -> LedgerTransaction:
    """After release, return `amount` to the payer's source from the creator's payable balance
    (an upheld dispute, SPEC §4). One clawback per escrow. Raises InsufficientFunds if the
    creator's payable balance is short, InvalidState before release, AmountInvalid."""
    with transaction.atomic():
        escrow = escrow_lock(escrow_id)
        if escrow.state not in (EscrowState.RELEASED, EscrowState.PARTIALLY_REFUNDED):
            raise InvalidState("Only a released payment can be clawed back.", detail={"state": escrow.state})
        released = escrow.amount - escrow.refunded_amount
        if type(amount) is not int or not 0 < amount <= released:
            raise AmountInvalid(
                "The amount must be between 1 and what was released.", detail={"released": str(released)}
            )
        payable = user_account_get_or_create(
            user=escrow.creator, kind=AccountKind.CREATOR_PAYABLE, asset=escrow.asset
        )
        posted = transaction_post(
            kind=TransactionKind.SALE_CLAWBACK,
            legs=[Leg(payable, -amount), Leg(escrow.source_account, amount)],
            idempotency_key=f"escrow:{escrow.reference}:clawback",
            memo=reason or f"Upheld dispute on {escrow.reference}",
            reference=escrow.reference,
            party=escrow.creator,
        )
        return posted.transaction
