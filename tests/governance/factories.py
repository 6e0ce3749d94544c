"""Builders for governance tests: AGR arrives and is staked through the real posting service, at
chosen (past) instants, so that snapshots read real ledger history."""

from __future__ import annotations

import itertools
from datetime import datetime

from accounts.models import User
from governance.models import Delegation
from tokenomics.models import Asset
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.services.ledger import Leg, transaction_post
from tokenomics.services.ledger_accounts import system_account_get_or_create, user_account_get_or_create

_keys = itertools.count()


def agr_credit(user: User, amount: int, at: datetime | None = None) -> None:
    """`amount` AGR base units arrive in the user's wallet (a chain deposit), posted at `at`."""
    wallet = user_account_get_or_create(user=user, kind=AccountKind.WALLET, asset=Asset.AGR)
    chain = system_account_get_or_create(kind=AccountKind.EXTERNAL_CHAIN, asset=Asset.AGR)
    transaction_post(
        kind=TransactionKind.DEPOSIT,
        legs=[Leg(chain, -amount), Leg(wallet, amount)],
        idempotency_key=f"test-gov-credit-{next(_keys)}",
        posted_at=at,
    )


def agr_transfer(sender: User, receiver: User, amount: int, at: datetime | None = None) -> None:
    source = user_account_get_or_create(user=sender, kind=AccountKind.WALLET, asset=Asset.AGR)
    target = user_account_get_or_create(user=receiver, kind=AccountKind.WALLET, asset=Asset.AGR)
    transaction_post(
        kind=TransactionKind.TRANSFER,
        legs=[Leg(source, -amount), Leg(target, amount)],
        idempotency_key=f"test-gov-transfer-{next(_keys)}",
        posted_at=at,
    )


def agr_stake(user: User, amount: int, at: datetime | None = None) -> None:
    """Move `amount` of the user's AGR wallet into their stake account, posted at `at`."""
    wallet = user_account_get_or_create(user=user, kind=AccountKind.WALLET, asset=Asset.AGR)
    stake = user_account_get_or_create(user=user, kind=AccountKind.STAKE, asset=Asset.AGR)
    transaction_post(
        kind=TransactionKind.TRANSFER,
        legs=[Leg(wallet, -amount), Leg(stake, amount)],
        idempotency_key=f"test-gov-stake-{next(_keys)}",
        posted_at=at,
    )


def delegate_at(
    delegator: User, delegate: User, at: datetime, ended_at: datetime | None = None
) -> Delegation:
    """A delegation that started at `at` (written directly: the service always starts one now)."""
    return Delegation.objects.create(delegator=delegator, delegate=delegate, started_at=at, ended_at=ended_at)
