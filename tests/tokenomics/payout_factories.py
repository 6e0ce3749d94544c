"""Builders for payout tests: earnings reach a payable account through real postings (a buyer's
funded wallet pays a sale to a creator, or inference charges to a provider)."""

from __future__ import annotations

import itertools
from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone

from accounts.models import User, Wallet
from tests.accounts.factories import UserFactory
from tests.tokenomics.factories import funded_wallet
from tokenomics.chain_client import checksum
from tokenomics.models import LedgerAccount, Parameter
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.selectors.ledger import account_balance
from tokenomics.selectors.parameters import parameter_cache_key
from tokenomics.services.ledger import Leg, transaction_post
from tokenomics.services.ledger_accounts import user_account_get_or_create

_keys = itertools.count()


def funded_payable(
    *, user: User, amount: int, asset: str = "USD", kind: str = AccountKind.CREATOR_PAYABLE
) -> LedgerAccount:
    """The user's payable after earning exactly `amount` from a fresh buyer's wallet."""
    buyer = UserFactory()
    wallet = funded_wallet(user=buyer, amount=amount, asset=asset)
    payable = user_account_get_or_create(user=user, kind=kind, asset=asset)
    transaction_post(
        kind=TransactionKind.SALE if kind == AccountKind.CREATOR_PAYABLE else TransactionKind.INFERENCE,
        legs=[Leg(wallet, -amount), Leg(payable, amount)],
        idempotency_key=f"test-earn-{next(_keys)}-{user.pk}",
        reference=f"test-earning:{user.pk}",
        party=user,
    )
    payable.refresh_from_db()
    return payable


def parameter_override(key: str, value: int) -> None:
    """Set a registry value for this test (the database row and its cache entry)."""
    Parameter.objects.filter(key=key).update(value=value)
    cache.delete(parameter_cache_key(key))


def balance_of(user: User | None, kind: str, asset: str = "USD") -> int:
    """A user's (or, with None, the platform's) balance of this account kind; 0 if it does not exist."""
    row = LedgerAccount.objects.filter(owner=user, kind=kind, asset=asset).first()
    return account_balance(account=row) if row is not None else 0


def payout_wallet(*, user: User, address: str, linked_ago: timedelta = timedelta(days=3)) -> Wallet:
    """A wallet linked to `user` `linked_ago` (by default past the payout cool-down of 2 days)."""
    wallet = Wallet.objects.create(user=user, address=checksum(address), chain_id=1337)
    Wallet.objects.filter(pk=wallet.pk).update(created_at=timezone.now() - linked_ago)
    wallet.refresh_from_db()
    return wallet
