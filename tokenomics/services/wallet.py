"""Money entering a user's wallet: deposits through a rail, with the prepaid-credit bonus."""

from __future__ import annotations

from datetime import datetime

from accounts.models import User
from tokenomics.errors import AmountInvalid
from tokenomics.models import Asset, LedgerTransaction
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.selectors.rates import prepaid_bonus
from tokenomics.services.ledger import Leg, Posted, transaction_post
from tokenomics.services.ledger_accounts import system_account_get_or_create, user_account_get_or_create

RAIL_ACCOUNTS = {"stripe": AccountKind.EXTERNAL_STRIPE, "chain": AccountKind.EXTERNAL_CHAIN}
RAIL_LABELS = {"stripe": "by card (Stripe)", "chain": "on chain"}


def deposit_post(
    *,
    user: User,
    asset: Asset | str,
    amount: int,
    source_kind: AccountKind,
    idempotency_key: str,
    memo: str,
    prepaid_bonus_applies: bool,
    reference: str = "",
    at: datetime | None = None,
) -> Posted:
    """Move `amount` from the external `source_kind` account into the user's wallet, plus the
    prepaid bonus (funded by promotions) when it applies; once per key. The one deposit path of
    both rails. `at` dates the posting (default now; demo history passes a past moment). Raises
    AmountInvalid, IdempotencyConflict."""
    if type(amount) is not int or amount <= 0:
        raise AmountInvalid("A deposit is a positive whole amount in minor units.")
    bonus = prepaid_bonus(amount=amount) if prepaid_bonus_applies else 0
    legs = [Leg(system_account_get_or_create(kind=source_kind, asset=asset), -amount)]
    if bonus:
        legs.append(Leg(system_account_get_or_create(kind=AccountKind.PROMOTIONS, asset=asset), -bonus))
    legs.append(
        Leg(user_account_get_or_create(user=user, kind=AccountKind.WALLET, asset=asset), amount + bonus)
    )
    return transaction_post(
        kind=TransactionKind.DEPOSIT,
        legs=legs,
        idempotency_key=idempotency_key,
        memo=memo + (", with the prepaid bonus" if bonus else ""),
        reference=reference,
        party=user,
        posted_at=at,
    )


def wallet_top_up(
    *,
    user: User,
    asset: Asset | str,
    amount: int,
    rail: str,
    idempotency_key: str,
    prepaid_bonus: bool = True,
    reference: str = "",
    at: datetime | None = None,
) -> LedgerTransaction:
    """Credit `amount` paid through `rail` ("stripe" or "chain") to the user's wallet, plus the
    prepaid-credit bonus unless `prepaid_bonus` is False (see `deposit_post`), posted `at` (default
    now). Idempotent per key. Raises AmountInvalid, IdempotencyConflict."""
    if rail not in RAIL_ACCOUNTS:
        raise AmountInvalid("Unknown payment rail.", detail={"rail": rail})
    posted = deposit_post(
        user=user,
        asset=asset,
        amount=amount,
        source_kind=RAIL_ACCOUNTS[rail],
        idempotency_key=idempotency_key,
        memo=f"Top-up {RAIL_LABELS[rail]}",
        prepaid_bonus_applies=prepaid_bonus,
        reference=reference,
        at=at,
    )
    return posted.transaction
