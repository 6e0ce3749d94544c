"""Money entering a user's wallet: deposits through a rail, with the prepaid-credit bonus."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from tokenomics.errors import AmountInvalid
from tokenomics.models import Asset, LedgerTransaction
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.selectors.parameters import parameter_get
from tokenomics.services.ledger import (
    Leg,
    system_account_get_or_create,
    transaction_post,
    user_account_get_or_create,
)
from tokenomics.splits import bonus_for

RAIL_ACCOUNTS = {"stripe": AccountKind.EXTERNAL_STRIPE, "chain": AccountKind.EXTERNAL_CHAIN}
RAIL_LABELS = {"stripe": "by card (Stripe)", "chain": "on chain"}


def wallet_top_up(
    *,
    user: User,
    asset: Asset | str,
    amount: int,
    rail: str,
    idempotency_key: str,
    prepaid_bonus: bool = True,
    reference: str = "",
) -> LedgerTransaction:
    """Credit `amount` paid through `rail` ("stripe" or "chain") to the user's wallet, plus the
    prepaid-credit bonus (`discount.prepaid_bonus_bps`, rounded down, funded by promotions) unless
    `prepaid_bonus` is False. Idempotent per key. Raises AmountInvalid, IdempotencyConflict."""
    if type(amount) is not int or amount <= 0:
        raise AmountInvalid("A top-up is a positive whole amount in minor units.")
    if rail not in RAIL_ACCOUNTS:
        raise AmountInvalid("Unknown payment rail.", detail={"rail": rail})
    bonus = (
        bonus_for(amount=amount, bonus_bps=parameter_get("discount.prepaid_bonus_bps"))
        if prepaid_bonus
        else 0
    )
    wallet = user_account_get_or_create(user=user, kind=AccountKind.WALLET, asset=asset)
    legs = [Leg(system_account_get_or_create(kind=RAIL_ACCOUNTS[rail], asset=asset), -amount)]
    if bonus:
        legs.append(Leg(system_account_get_or_create(kind=AccountKind.PROMOTIONS, asset=asset), -bonus))
    legs.append(Leg(wallet, amount + bonus))
    with transaction.atomic():
        posted = transaction_post(
            kind=TransactionKind.DEPOSIT,
            legs=legs,
            idempotency_key=idempotency_key,
            memo=f"Top-up {RAIL_LABELS[rail]}" + (", with the prepaid bonus" if bonus else ""),
            reference=reference,
            party=user,
        )
    return posted.transaction
