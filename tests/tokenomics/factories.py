"""Builders for money tests: funded wallets go through the real posting service."""

from __future__ import annotations

import itertools

from accounts.models import User
from tokenomics.models import LedgerAccount
from tokenomics.models.ledger import AccountKind
from tokenomics.services.ledger_accounts import user_account_get_or_create
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


def staked(*, user: User, tier: str = "bronze", short: int = 0) -> User:
    """`user` after bonding exactly the stake for `tier` (less `short` base units) through the
    staking service: a provider whose nodes may take paid traffic (Bronze is the minimum)."""
    from tokenomics.selectors.parameters import parameter_get
    from tokenomics.services.staking import stake_deposit

    amount = parameter_get(f"staking.{tier}_min") - short
    funded_wallet(user=user, amount=amount, asset="AGR")
    stake_deposit(user=user, amount=amount, idempotency_key=f"test-stake-{next(_keys)}-{user.pk}")
    return user
