"""Builders for money tests: funded wallets go through the real posting service."""

from __future__ import annotations

import itertools

from accounts.models import User
from tokenomics.models import LedgerAccount
from tokenomics.models.ledger import AccountKind
from tokenomics.services.ledger import user_account_get_or_create
from tokenomics.services.wallet import wallet_top_up

_keys = itertools.count()


def funded_wallet(*, user: User, amount: int, asset: str = "USD") -> LedgerAccount:
    """The user's wallet after a top-up of exactly `amount` (no prepaid bonus) through a rail."""
    rail = "chain" if asset == "AGR" else "stripe"
    wallet_top_up(
        user=user,
        asset=asset,
        amount=amount,
        rail=rail,
        idempotency_key=f"test-fund-{next(_keys)}-{user.pk}",
        prepaid_bonus=False,
    )
    return user_account_get_or_create(user=user, kind=AccountKind.WALLET, asset=asset)
