"""Reads of the ledger: balances, history, and the full integrity check behind `ledger_check`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate

from accounts.models import User
from core.fields import WideSum
from tokenomics.models import Asset, CreatorSales, Escrow, LedgerAccount, LedgerEntry, LedgerTransaction
from tokenomics.models.escrow import EscrowState
from tokenomics.models.ledger import USER_ACCOUNT_KINDS, AccountKind
from tokenomics.selectors.rates import creator_net_sales_from_ledger


@dataclass(frozen=True)
class AssetBalances:
    asset: str
    wallet: int
    creator_payable: int
    provider_payable: int
    stake: int


def user_balances(*, user: User) -> list[AssetBalances]:
    """The user's balances per asset and account kind (zero where no account exists yet)."""
    by_key = {
        (account.asset, account.kind): account.balance
        for account in LedgerAccount.objects.filter(owner=user).only("asset", "kind", "balance")
    }
    return [
        AssetBalances(
            asset=asset,
            wallet=by_key.get((asset, AccountKind.WALLET), 0),
            creator_payable=by_key.get((asset, AccountKind.CREATOR_PAYABLE), 0),
            provider_payable=by_key.get((asset, AccountKind.PROVIDER_PAYABLE), 0),
            stake=by_key.get((asset, AccountKind.STAKE), 0),
        )
        for asset in Asset.values
    ]


def account_balance(*, account: LedgerAccount) -> int:
    """The account's balance: the cached column for a user's account; for a platform account (no
    cached balance, see tokenomics.services.ledger) the sum of its entries."""
    if account.owner_id is not None:
        return int(LedgerAccount.objects.filter(pk=account.pk).values_list("balance", flat=True).get())
    return system_balances(account_ids=[account.pk]).get(account.pk, 0)


def system_balances(*, account_ids: Iterable[int] | None = None) -> dict[int, int]:
    """Σ entries of the platform's accounts (all of them, or those given), by account pk."""
    accounts = LedgerAccount.objects.filter(owner__isnull=True)
    if account_ids is not None:
        accounts = accounts.filter(pk__in=list(account_ids))
    ids = list(accounts.values_list("pk", flat=True))
    totals = {
        row["account_id"]: int(row["total"])
        for row in LedgerEntry.objects.filter(account_id__in=ids)
        .values("account_id")
        .annotate(total=WideSum("amount"))
        .order_by()
    }
    return {pk: totals.get(pk, 0) for pk in ids}


def system_balance(*, kind: str, asset: str) -> int:
    """The platform account of `kind` and `asset` (treasury, platform revenue, burn…): Σ entries;
    0 when it does not exist yet."""
    account = LedgerAccount.objects.filter(owner__isnull=True, kind=kind, asset=asset).first()
    return 0 if account is None else account_balance(account=account)


def user_entries(*, user: User, asset: str | None = None) -> QuerySet[LedgerEntry]:
    """The user's ledger entries, newest first, with their transaction and account."""
    queryset = (
        LedgerEntry.objects.filter(account__owner=user)
        .select_related("transaction", "account")
        .order_by("-transaction__posted_at", "-id")
    )
    if asset:
        queryset = queryset.filter(asset=asset)
    return queryset


@dataclass
class LedgerReport:
    """What `ledger_check` found; `ok` only when every list of violations is empty."""

    transactions: int = 0
    entries: int = 0
    accounts: int = 0
    trial_balance: dict[str, int] = field(default_factory=dict)  # Σ entries per asset: must be 0
    volume: dict[str, int] = field(default_factory=dict)  # Σ positive entries per asset
    user_holdings: dict[str, int] = field(default_factory=dict)  # Σ user-owned balances per asset
    unbalanced_transactions: list[int] = field(default_factory=list)
    short_transactions: list[int] = field(default_factory=list)  # fewer than two entries
    asset_mismatches: list[int] = field(default_factory=list)  # entry asset ≠ account asset
    negative_accounts: list[int] = field(default_factory=list)
    cache_mismatches: list[tuple[int, int, int]] = field(default_factory=list)  # (account, cached, derived)
    # Σ of the escrow account per asset ≠ Σ of the Escrow rows still HELD: (asset, account, held)
    escrow_mismatches: list[tuple[str, int, int]] = field(default_factory=list)
    # a creator's running sales totals ≠ the ledger's sales less clawbacks: (creator, asset, total, ledger)
    creator_sales_mismatches: list[tuple[int, str, int, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            any(self.trial_balance.values())
            or self.unbalanced_transactions
            or self.short_transactions
            or self.asset_mismatches
            or self.negative_accounts
            or self.cache_mismatches
            or self.escrow_mismatches
            or self.creator_sales_mismatches
        )


def ledger_verify() -> LedgerReport:
    """Check every ledger invariant over all rows; read-only, a handful of aggregate queries."""
    report = LedgerReport(
        transactions=LedgerTransaction.objects.count(),
        entries=LedgerEntry.objects.count(),
        accounts=LedgerAccount.objects.count(),
    )
    totals = {
        row["asset"]: row["total"]
        for row in LedgerEntry.objects.values("asset").annotate(total=WideSum("amount"))
    }
    report.trial_balance = {asset: totals.get(asset, 0) for asset in Asset.values}
    # Sign comparisons with 0 are exact on both databases (see core.fields).
    volume = {
        row["asset"]: row["total"]
        for row in LedgerEntry.objects.filter(amount__gt=0).values("asset").annotate(total=WideSum("amount"))
    }
    report.volume = {asset: volume.get(asset, 0) for asset in Asset.values}

    unbalanced = (
        LedgerEntry.objects.values("transaction_id", "asset")
        .annotate(total=WideSum("amount"))
        .exclude(total=0)
        .order_by()
        .values_list("transaction_id", flat=True)
    )
    report.unbalanced_transactions = sorted(set(unbalanced))
    report.short_transactions = list(
        LedgerTransaction.objects.annotate(n=Count("entries")).filter(n__lt=2).values_list("pk", flat=True)
    )
    report.asset_mismatches = list(
        LedgerEntry.objects.filter(~Q(asset=F("account__asset"))).values_list("pk", flat=True)[:1000]
    )

    derived = {
        row["account_id"]: row["total"]
        for row in LedgerEntry.objects.values("account_id").annotate(total=WideSum("amount")).order_by()
    }
    holdings = dict.fromkeys(Asset.values, 0)
    escrow_accounts: dict[str, int] = dict.fromkeys(Asset.values, 0)
    for account in LedgerAccount.objects.only("pk", "owner", "kind", "asset", "balance", "overdraft_allowed"):
        total = derived.get(account.pk, 0)
        # A platform account keeps no cached balance: its column must stay 0 (never written).
        cached_should_be = 0 if account.owner_id is None else total
        if account.balance != cached_should_be:
            report.cache_mismatches.append((account.pk, account.balance, total))
        if not account.overdraft_allowed and min(account.balance, total) < 0:
            report.negative_accounts.append(account.pk)
        if account.kind in USER_ACCOUNT_KINDS:
            holdings[account.asset] += account.balance
        if account.kind == AccountKind.ESCROW:
            escrow_accounts[account.asset] += total
    report.user_holdings = holdings
    report.escrow_mismatches = _escrow_mismatches(escrow_accounts)
    report.creator_sales_mismatches = _creator_sales_mismatches()
    return report


def _escrow_mismatches(escrow_accounts: dict[str, int]) -> list[tuple[str, int, int]]:
    """The escrow account is never locked: what guards it is that every debit resolves one HELD
    Escrow row. So its balance must equal what the HELD rows hold, per asset."""
    held = dict.fromkeys(Asset.values, 0)
    for row in (
        Escrow.objects.filter(state=EscrowState.HELD).values("asset").annotate(total=WideSum("amount"))
    ):
        held[row["asset"]] = int(row["total"])
    return [
        (asset, escrow_accounts[asset], held[asset])
        for asset in Asset.values
        if escrow_accounts[asset] != held[asset]
    ]


def _creator_sales_mismatches() -> list[tuple[int, str, int, int]]:
    ledger = creator_net_sales_from_ledger()
    totals: dict[int, dict[str, int]] = {
        row[0]: {str(Asset.USD): int(row[1]), str(Asset.AGR): int(row[2])}
        for row in CreatorSales.objects.values_list("creator_id", "net_usd", "net_agr")
    }
    mismatches = []
    for creator_id in sorted(set(ledger) | set(totals)):
        for asset in Asset.values:
            counted = totals.get(creator_id, {}).get(asset, 0)
            scanned = ledger.get(creator_id, {}).get(asset, 0)
            if counted != scanned:
                mismatches.append((creator_id, asset, counted, scanned))
    return mismatches


def account_daily_totals(
    *,
    kind: str,
    asset: str,
    since: datetime,
    transaction_kinds: Iterable[str],
    owner: User | None = None,
    party: User | None = None,
) -> dict[date, int]:
    """Signed Σ of the entries per day (of the transaction's posting, in the current time zone) on
    accounts of `kind` in `asset`, from transactions of `transaction_kinds` posted at or after
    `since`; narrowed to accounts `owner` holds and/or transactions made for `party`. Days without
    entries are absent. Read-only: one grouped query."""
    entries = LedgerEntry.objects.filter(
        account__kind=kind,
        asset=asset,
        transaction__kind__in=list(transaction_kinds),
        transaction__posted_at__gte=since,
    )
    if owner is not None:
        entries = entries.filter(account__owner=owner)
    if party is not None:
        entries = entries.filter(transaction__party=party)
    rows = (
        entries.annotate(day=TruncDate("transaction__posted_at"))
        .values("day")
        .annotate(total=WideSum("amount"))
        .order_by("day")
    )
    return {row["day"]: row["total"] for row in rows}


def balances_at(
    *, kind: str, asset: str, at: datetime, owner_ids: Iterable[int] | None = None
) -> dict[int, int]:
    """Balances of user accounts of `kind` in `asset` at the instant `at`, by owner id: the Σ of the
    entries of transactions posted strictly before `at` (a posting at `at` or later counts nothing,
    as a snapshot must: G2). Owners with no such entries are absent. Read-only: one grouped query."""
    entries = LedgerEntry.objects.filter(
        account__kind=kind, asset=asset, account__owner__isnull=False, transaction__posted_at__lt=at
    )
    if owner_ids is not None:
        entries = entries.filter(account__owner_id__in=list(owner_ids))
    rows = entries.values("account__owner_id").annotate(total=WideSum("amount")).order_by()
    return {row["account__owner_id"]: row["total"] for row in rows if row["total"]}


def balance_at(*, account: LedgerAccount, at: datetime) -> int:
    """One account's balance at the instant `at` (entries posted strictly before it)."""
    total = (
        LedgerEntry.objects.filter(account=account, transaction__posted_at__lt=at)
        .aggregate(total=WideSum("amount"))
        .get("total")
    )
    return int(total or 0)


def user_holdings_at(*, asset: str, at: datetime) -> int:
    """Σ of every user-owned balance of `asset` (wallets, payables, stakes) at the instant `at`:
    what users held then, the circulating supply governance's quorum is a share of."""
    total = (
        LedgerEntry.objects.filter(asset=asset, account__owner__isnull=False, transaction__posted_at__lt=at)
        .aggregate(total=WideSum("amount"))
        .get("total")
    )
    return int(total or 0)
