"""Reads behind revenue-distribution epochs and emission: the genesis, the schedule, the pools."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.urls import reverse

from accounts.models import User
from core.fields import WideSum
from tokenomics.emission import EmissionSchedule
from tokenomics.models import Asset, Epoch, LedgerEntry, LedgerTransaction
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.selectors.history import ReferenceInfo
from tokenomics.selectors.parameters import parameters_get
from tokenomics.splits import BPS_DENOMINATOR

# The one genesis posting: the rewards reserve funded with the provider-rewards part of the supply.
GENESIS_KEY = "genesis:rewards_reserve"
EPOCH_PREFIX = "epoch"


def epoch_reference(number: int) -> str:
    """The ledger reference of an epoch's transactions ("epoch:12"); history rows resolve it."""
    return f"{EPOCH_PREFIX}:{number}"


def emission_schedule() -> EmissionSchedule:
    """The schedule in force, from the registry (`emission.*`, `token.total_supply`)."""
    values = parameters_get(
        [
            "emission.year1",
            "emission.year2",
            "emission.year3_4",
            "emission.year5_10",
            "emission.halving_years",
            "emission.provider_rewards_bps",
            "token.total_supply",
        ]
    )
    return EmissionSchedule(
        year1=values["emission.year1"],
        year2=values["emission.year2"],
        year3_4=values["emission.year3_4"],
        year5_10=values["emission.year5_10"],
        halving_years=values["emission.halving_years"],
        cap=values["token.total_supply"] * values["emission.provider_rewards_bps"] // BPS_DENOMINATOR,
    )


def genesis_transaction() -> LedgerTransaction | None:
    return LedgerTransaction.objects.filter(idempotency_key=GENESIS_KEY).first()


def genesis_day() -> datetime | None:
    """Midnight UTC of the genesis day: epoch 1 starts there, emission years count from there.
    None before the genesis."""
    genesis = genesis_transaction()
    if genesis is None:
        return None
    return genesis.posted_at.replace(hour=0, minute=0, second=0, microsecond=0)


def elapsed_seconds(*, since: datetime, at: datetime) -> int:
    return int((at - since).total_seconds())


def epoch_next_bounds(*, epoch_seconds: int) -> tuple[int, datetime, datetime] | None:
    """(number, start, end) of the next epoch to close; None before the genesis."""
    last = Epoch.objects.order_by("-number").first()
    if last is not None:
        start, number = last.ends_at, last.number + 1
    else:
        first = genesis_day()
        if first is None:
            return None
        start, number = first, 1
    return number, start, start + timedelta(seconds=epoch_seconds)


def _sum(entries: QuerySet[LedgerEntry]) -> int:
    total = entries.aggregate(total=WideSum("amount"))["total"]
    return int(total or 0)


def revenue_undistributed_before(*, asset: str, end: datetime) -> int:
    """Platform revenue earned before `end` that no epoch has distributed yet (every earlier
    epoch's rounding remainder and unclaimed shares included): Σ of the platform-revenue entries
    posted before `end`, other than distributions, less everything distributions took. May exceed
    the account's balance, or be negative, when revenue was taken back after `end`."""
    revenue = LedgerEntry.objects.filter(account__kind=AccountKind.PLATFORM_REVENUE, asset=asset)
    earned = _sum(
        revenue.filter(transaction__posted_at__lt=end).exclude(transaction__kind=TransactionKind.DISTRIBUTION)
    )
    distributed = -_sum(revenue.filter(transaction__kind=TransactionKind.DISTRIBUTION))
    return earned - distributed


def emitted_total() -> int:
    """AGR emitted from the rewards reserve so far (base units)."""
    return -_sum(
        LedgerEntry.objects.filter(
            account__kind=AccountKind.REWARDS_RESERVE,
            asset=Asset.AGR,
            transaction__kind=TransactionKind.EMISSION,
        )
    )


def epoch_reference_info(references: Sequence[str], viewer: User) -> dict[str, ReferenceInfo]:
    """History rows of an epoch's postings say which epoch ("epoch 12, 1 Dec to 8 Dec 2026") and
    link to the transparency page's table."""
    numbers = {}
    for reference in references:
        tail = reference.removeprefix(f"{EPOCH_PREFIX}:")
        if tail.isdigit():
            numbers[int(tail)] = reference
    url = reverse("tokenomics:transparency") + "#distributions"
    return {
        numbers[epoch.number]: ReferenceInfo(
            subject=f"epoch {epoch.number}, {epoch.starts_at:%d %b} to {epoch.ends_at:%d %b %Y}", url=url
        )
        for epoch in Epoch.objects.filter(number__in=numbers)
    }


# What a recipient's entry in an epoch's postings was for, by the account it was credited to.
SHARE_LABEL_BY_ACCOUNT: dict[tuple[str, str], str] = {
    (TransactionKind.DISTRIBUTION, AccountKind.PROVIDER_PAYABLE): "Providers' revenue share",
    (TransactionKind.DISTRIBUTION, AccountKind.CREATOR_PAYABLE): "Creators' revenue share",
    (TransactionKind.DISTRIBUTION, AccountKind.WALLET): "Integration or community revenue share",
    (TransactionKind.EMISSION, AccountKind.PROVIDER_PAYABLE): "Provider rewards",
}


@dataclass(frozen=True)
class EpochShare:
    """One thing a user received from one epoch: a revenue share or provider rewards."""

    epoch: int
    posted_at: datetime
    label: str
    asset: str
    amount: int


def epoch_shares_for_user(*, user: User, limit: int = 12) -> list[EpochShare]:
    """What `user` received from the latest epochs (their own entries in epoch postings), newest
    first: for the wallet and the creator and provider dashboards."""
    entries = (
        LedgerEntry.objects.filter(
            account__owner=user,
            transaction__kind__in=[TransactionKind.DISTRIBUTION, TransactionKind.EMISSION],
        )
        .select_related("transaction", "account")
        .order_by("-transaction__posted_at", "-transaction_id", "asset", "account__kind")[:limit]
    )
    shares = []
    for entry in entries:
        tx = entry.transaction
        tail = tx.reference.removeprefix(f"{EPOCH_PREFIX}:")
        shares.append(
            EpochShare(
                epoch=int(tail) if tail.isdigit() else 0,
                posted_at=tx.posted_at,
                label=SHARE_LABEL_BY_ACCOUNT.get((tx.kind, entry.account.kind), "Epoch share"),
                asset=entry.asset,
                amount=entry.amount,
            )
        )
    return shares
