"""The wallet history as a person reads it: one row per thing that happened, not per ledger entry.

A row is one ledger transaction seen from one user: the user's entries in it summed (a refund of
a top-up takes the payment and its bonus in one row), described by what happened ("Purchase",
"Top-up by card", "Refund"), for which model, linked to the order. A card purchase posts two
transactions under the order's reference (the card's deposit into the wallet, then the escrow
hold out of it); they are one row, the purchase paid by card, so the deposit is left out of the
list and folded into its hold. The technical references (ledger ids, Stripe ids, memos) stay on
the row for a details disclosure.

tokenomics does not know what an "order:42" is: the app that owns a reference prefix registers a
resolver (marketplace does for orders, in its AppConfig.ready), as payment purposes are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import User
from tokenomics.models import LedgerEntry, LedgerTransaction
from tokenomics.models.ledger import AccountKind, TransactionKind

# A prepaid top-up's payment reference is "credit_top_up:<uuid>" (tokenomics.services.payments
# names the purpose; a selector does not import services).
CREDIT_TOP_UP = "credit_top_up"


@dataclass(frozen=True)
class ReferenceInfo:
    """What a reference ("order:42") is about, for the viewer: "Sonnet Summariser", the order page."""

    subject: str
    url: str = ""
    # What a purchase under this reference is called, when not a plain "Purchase" ("Subscription").
    noun: str = ""


# references (all with the resolver's prefix) and the viewer -> what each is about; may omit some.
ReferenceResolver = Callable[[Sequence[str], User], dict[str, ReferenceInfo]]
_resolvers: dict[str, ReferenceResolver] = {}


def history_resolver_register(prefix: str, resolver: ReferenceResolver) -> None:
    """Let the app owning references "<prefix>:…" say what they are about (called from ready())."""
    _resolvers[prefix] = resolver


@dataclass(frozen=True)
class HistoryLine:
    """One of the user's entries in the row's transaction(s), for the details."""

    account: str  # the account kind's label: "Wallet (prepaid balance)", "Creator payable"
    amount: int  # signed, minor units of the row's asset


@dataclass
class HistoryRow:
    posted_at: datetime
    kind: str
    asset: str
    # The net change to the user's holdings, signed, in minor units of `asset`.
    amount: int
    title: str
    subject: str = ""
    url: str = ""
    # What came in from outside for this row (a purchase paid by card: the card's charge), in
    # minor units; the row's `amount` is then what the wallet kept of it (zero for a purchase).
    paid_externally: int = 0
    via: str = ""  # "card", "AGR transfer"
    bonus: int = 0  # the prepaid bonus a top-up included, minor units
    bonus_returned: int = 0  # the prepaid bonus a refund of a top-up took back, minor units
    lines: list[HistoryLine] = field(default_factory=list)
    transaction_ids: list[int] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    memos: list[str] = field(default_factory=list)


def _user_entries(user: User, asset: str | None) -> QuerySet[LedgerEntry]:
    entries = LedgerEntry.objects.filter(account__owner=user)
    return entries.filter(asset=asset) if asset else entries


def history_transactions(*, user: User, asset: str | None = None) -> QuerySet[LedgerTransaction]:
    """The transactions that touched the user's accounts, newest first, one per history row: a
    card deposit whose escrow hold is also the user's (same reference) is left out (it is folded
    into the hold's row by `history_rows`)."""
    touched = _user_entries(user, asset).filter(transaction=OuterRef("pk"))
    held_after = LedgerTransaction.objects.filter(
        kind=TransactionKind.ESCROW_HOLD,
        reference=OuterRef("reference"),
        entries__account__owner=user,
    )
    return (
        LedgerTransaction.objects.filter(Exists(touched))
        .exclude(Q(kind=TransactionKind.DEPOSIT) & ~Q(reference="") & Exists(held_after))
        .select_related("party")
        .order_by("-posted_at", "-id")
    )


def _prefix(reference: str) -> str:
    return reference.split(":", 1)[0] if ":" in reference else ""


def _resolve(references: Iterable[str], viewer: User) -> dict[str, ReferenceInfo]:
    by_prefix: dict[str, list[str]] = defaultdict(list)
    for reference in set(references):
        if reference:
            by_prefix[_prefix(reference)].append(reference)
    found: dict[str, ReferenceInfo] = {}
    for prefix, refs in by_prefix.items():
        resolver = _resolvers.get(prefix)
        if resolver is not None:
            found |= resolver(sorted(refs), viewer)
    return found


# A buyer's side of a sale: paid into escrow, or refunded from it.
_PURCHASE_KINDS = frozenset({TransactionKind.ESCROW_HOLD, TransactionKind.REFUND})
_SOURCE_VIA = {AccountKind.EXTERNAL_STRIPE: "card", AccountKind.EXTERNAL_CHAIN: "AGR transfer"}
_TOP_UP_TITLE = {"card": "Top-up by card", "AGR transfer": "Top-up in AGR"}


def _title(*, tx: LedgerTransaction, amount: int, via: str, info: ReferenceInfo | None) -> str:
    """What happened, in words, before the subject ("Purchase", "Top-up by card")."""
    kind = tx.kind
    if kind == TransactionKind.DEPOSIT:
        if info is not None:  # money for an order that stays in the wallet (pay-per-call credit)
            return info.noun or "Payment"
        if _prefix(tx.reference) == CREDIT_TOP_UP or not tx.reference:
            return _TOP_UP_TITLE.get(via, "Top-up")
        return "Deposit"
    if kind == TransactionKind.ESCROW_HOLD:
        return info.noun if info is not None and info.noun else "Purchase"
    if kind == TransactionKind.SALE:
        return "Sale"
    if kind == TransactionKind.REFUND:
        return "Refund to your card" if via == "card" and amount < 0 else "Refund"
    if kind == TransactionKind.SALE_CLAWBACK:
        return "Refund after a dispute"
    if kind == TransactionKind.INFERENCE:
        return "Inference" if amount < 0 else "Inference earnings"
    if kind == TransactionKind.PAYOUT:
        return "Payout"
    if kind == TransactionKind.REVERSAL:
        return "Reversal"
    if kind == TransactionKind.CREDIT_BONUS:
        return "Prepaid credit bonus"
    if kind == TransactionKind.DISTRIBUTION:
        return "Revenue share"
    if kind == TransactionKind.EMISSION:
        return "Provider rewards"
    return TransactionKind(kind).label if kind in TransactionKind.values else str(kind)


def history_rows(
    *, user: User, transactions: Sequence[LedgerTransaction], asset: str | None = None
) -> list[HistoryRow]:
    """One row per transaction (a page of `history_transactions`), described for `user`: two
    queries for the entries, and one per reference prefix with a resolver."""
    if not transactions:
        return []
    ids = [tx.pk for tx in transactions]
    # The card deposits folded into these holds (same reference, the user's wallet credited).
    held_refs = [
        tx.reference for tx in transactions if tx.kind == TransactionKind.ESCROW_HOLD and tx.reference
    ]
    deposits: dict[str, list[LedgerTransaction]] = defaultdict(list)
    if held_refs:
        for deposit in LedgerTransaction.objects.filter(
            kind=TransactionKind.DEPOSIT, reference__in=held_refs, entries__account__owner=user
        ).distinct():
            deposits[deposit.reference].append(deposit)
    all_ids = ids + [d.pk for ds in deposits.values() for d in ds]
    entries: dict[int, list[LedgerEntry]] = defaultdict(list)
    for entry in (
        LedgerEntry.objects.filter(transaction_id__in=all_ids).select_related("account").order_by("id")
    ):
        entries[entry.transaction_id].append(entry)
    infos = _resolve((tx.reference for tx in transactions), user)

    rows: list[HistoryRow] = []
    for tx in transactions:
        group = [tx, *deposits.get(tx.reference, [])] if tx.kind == TransactionKind.ESCROW_HOLD else [tx]
        for row_asset in sorted({e.asset for t in group for e in entries[t.pk]}):
            if asset and row_asset != asset:
                continue
            mine = [
                e
                for t in group
                for e in entries[t.pk]
                if e.account.owner_id == user.pk and e.asset == row_asset
            ]
            if not mine:
                continue
            others = [
                e for t in group for e in entries[t.pk] if e.account.owner_id is None and e.asset == row_asset
            ]
            external = [e for e in others if e.account.kind in _SOURCE_VIA]
            via = _SOURCE_VIA[AccountKind(external[0].account.kind)] if external else ""
            amount = sum(e.amount for e in mine)
            bonus = -sum(e.amount for e in others if e.account.kind == AccountKind.PROMOTIONS)
            info = infos.get(tx.reference)
            subject = info.subject if info is not None else ""
            if not subject and tx.kind in _PURCHASE_KINDS and tx.party_id not in (None, user.pk):
                # A sale whose reference no app describes (the demo's): at least say from whom.
                assert tx.party is not None
                subject = f"from {tx.party.public_name}"
            rows.append(
                HistoryRow(
                    posted_at=tx.posted_at,
                    kind=tx.kind,
                    asset=row_asset,
                    amount=amount,
                    title=_title(tx=tx, amount=amount, via=via, info=info),
                    subject=subject,
                    url=info.url if info is not None else "",
                    # Money from outside that the same row spent again: a purchase paid by card.
                    paid_externally=-sum(e.amount for e in external) if len(group) > 1 else 0,
                    via=via,
                    bonus=max(bonus, 0),
                    bonus_returned=max(-bonus, 0),
                    lines=_lines(mine),
                    transaction_ids=[t.pk for t in group],
                    references=sorted({t.reference for t in group if t.reference}),
                    memos=[t.memo for t in group if t.memo],
                )
            )
    return rows


def _lines(entries: Sequence[LedgerEntry]) -> list[HistoryLine]:
    by_kind: dict[str, int] = defaultdict(int)
    for entry in entries:
        by_kind[entry.account.kind] += entry.amount
    return [
        HistoryLine(account=AccountKind(kind).label, amount=amount)
        for kind, amount in by_kind.items()
        if amount
    ]
