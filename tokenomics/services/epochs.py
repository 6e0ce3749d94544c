"""Revenue-distribution epochs and the provider-rewards emission (SPEC §4).

The token genesis (`token_genesis`) funds the rewards reserve once with `emission.provider_rewards_bps`
of `token.total_supply` (350M AGR) from the chain counter-account, and starts the epoch clock:
epoch 1 begins at midnight UTC of that day, each next epoch where the previous one ended, lasting
`distribution.epoch_seconds` (a week). `epochs_close_due` (the hourly beat task) closes every epoch
whose end has passed, in order, each in its own database transaction:

1. **Distribution** — one ledger transaction per epoch (key `epoch:<n>:distribution`) for every
   asset the platform earns (USD, AGR). The pool of an asset is the platform revenue earned before
   the epoch's end that no epoch has distributed yet, at most the revenue account's balance. It is
   split by the registry's shares (`distribution.providers_bps` 40%, `creators_bps` 30%,
   `developers_bps` 20% to integrations, `community_bps` 10%), then each share among its recipients
   by the weights their apps registered (`tokenomics.services.distribution_weights`) for the
   epoch's `[start, end)`. Providers are credited to their provider payable, creators to their
   creator payable, integration developers and community members to their wallet.
   **Remainder rule** (`tokenomics.splits.split_pool`, `split_by_weights`): every part is floored;
   what the floors leave, and a share with no recipient this epoch, stays in platform revenue and is
   distributed with the next epoch's pool. The one exception: the community's share, in an epoch
   where governance weighs nobody (before it registers, or with no participation), goes to the
   community pool account (the issue's "accrues in its pool").
2. **Emission** — a second ledger transaction (key `epoch:<n>:emission`): the schedule's amount for
   the epoch's time (`tokenomics.emission.emission_for_period`) leaves the rewards reserve to the
   providers' AGR payables with the providers' weights. What the floors leave, and the whole amount
   of an epoch without providers, stays in the reserve (so emission to date can lag the schedule;
   the transparency page shows both).

Idempotent: the `Epoch` row is created first in the same transaction (unique number), so a second
closer waits for the first and then finds it closed; the ledger keys guard the money besides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from tokenomics.emission import emission_for_period
from tokenomics.locks import accounts_lock
from tokenomics.models import Asset, Epoch, LedgerTransaction
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.selectors.epochs import (
    GENESIS_KEY,
    elapsed_seconds,
    emission_schedule,
    epoch_next_bounds,
    epoch_reference,
    genesis_day,
    genesis_transaction,
    revenue_undistributed_before,
)
from tokenomics.selectors.ledger import account_balance
from tokenomics.selectors.parameters import parameter_get, parameters_get
from tokenomics.services.distribution_weights import (
    SHARE_PARAMETER,
    Share,
    distribution_weights,
    distribution_weights_registered,
)
from tokenomics.services.ledger import Leg, transaction_post
from tokenomics.services.ledger_accounts import system_account_get_or_create, user_account_get_or_create
from tokenomics.splits import split_by_weights, split_pool

# Where each share's recipients are credited.
SHARE_ACCOUNT: dict[Share, AccountKind] = {
    Share.PROVIDERS: AccountKind.PROVIDER_PAYABLE,
    Share.CREATORS: AccountKind.CREATOR_PAYABLE,
    Share.INTEGRATIONS: AccountKind.WALLET,
    Share.COMMUNITY: AccountKind.WALLET,
}
DISTRIBUTED_ASSETS = (Asset.USD, Asset.AGR)


def token_genesis(*, at: datetime | None = None) -> LedgerTransaction:
    """Fund the rewards reserve with the provider-rewards part of the supply, once: the first call
    posts it (and so starts the epoch clock on that day: today, or `at`, a past moment, for demo
    history), every later call returns that posting."""
    existing = genesis_transaction()
    if existing is not None:
        return existing
    cap = emission_schedule().cap
    source = system_account_get_or_create(kind=AccountKind.EXTERNAL_CHAIN, asset=Asset.AGR)
    reserve = system_account_get_or_create(kind=AccountKind.REWARDS_RESERVE, asset=Asset.AGR)
    return transaction_post(
        kind=TransactionKind.GENESIS,
        legs=[Leg(source, -cap), Leg(reserve, cap)],
        idempotency_key=GENESIS_KEY,
        memo="Token genesis: the provider rewards reserve is funded",
        reference="genesis",
        posted_at=at,
    ).transaction


@dataclass
class _Recipients:
    """Ledger legs being gathered for one posting, with a record of who got what."""

    users: dict[int, User]
    legs: list[Leg]

    def credit(self, *, user_id: int, kind: AccountKind, asset: str, amount: int) -> bool:
        user = self.users.get(user_id)
        if user is None:  # a weight for a user that no longer exists: the part stays behind
            return False
        account = user_account_get_or_create(user=user, kind=kind, asset=asset)
        self.legs.append(Leg(account, amount))
        return True


def _users(weights: Mapping[Share, Mapping[int, int]]) -> dict[int, User]:
    ids = {user_id for share_weights in weights.values() for user_id in share_weights}
    return User.objects.in_bulk(sorted(ids)) if ids else {}


def _distribution_legs(
    *, end: datetime, weights: Mapping[Share, Mapping[int, int]], users: dict[int, User]
) -> tuple[list[Leg], dict[str, dict[str, str]]]:
    rates = parameters_get(SHARE_PARAMETER.values())
    legs: list[Leg] = []
    breakdown: dict[str, dict[str, str]] = {}
    # The community's share goes to its pool while governance weighs nobody (not registered yet,
    # or no participation this epoch): community money stays the community's.
    community_pooled = not distribution_weights_registered(Share.COMMUNITY) or not weights[Share.COMMUNITY]
    for asset in DISTRIBUTED_ASSETS:
        revenue = system_account_get_or_create(kind=AccountKind.PLATFORM_REVENUE, asset=asset)
        accounts_lock([revenue.pk])  # held until the posting
        balance = account_balance(account=revenue)  # Σ entries: platform accounts keep no cache
        pool = max(0, min(balance, revenue_undistributed_before(asset=asset, end=end)))
        if not pool:
            continue
        split = split_pool(pool=pool, rates_bps={share: rates[SHARE_PARAMETER[share]] for share in Share})
        recipients = _Recipients(users=users, legs=[])
        paid: dict[str, int] = {}  # by share name
        for share in Share:
            amount = split.shares[share]
            if share == Share.COMMUNITY and community_pooled:
                if amount:
                    pool_account = system_account_get_or_create(kind=AccountKind.COMMUNITY_POOL, asset=asset)
                    recipients.legs.append(Leg(pool_account, amount))
                paid[share.value] = amount
                continue
            parts = split_by_weights(amount=amount, weights=dict(weights[share])).parts
            paid[share.value] = sum(
                part
                for user_id, part in parts.items()
                if recipients.credit(user_id=user_id, kind=SHARE_ACCOUNT[share], asset=asset, amount=part)
            )
        total = sum(paid.values())
        if total:
            legs += [Leg(revenue, -total), *recipients.legs]
        breakdown[asset] = {
            "pool": str(pool),
            **{share: str(amount) for share, amount in paid.items()},
            "carried": str(pool - total),
        }
    return legs, breakdown


def _emission_legs(
    *, start: datetime, end: datetime, provider_weights: Mapping[int, int], users: dict[int, User]
) -> tuple[list[Leg], dict[str, str]]:
    genesis = genesis_day()
    assert genesis is not None  # an epoch exists only after the genesis
    reserve = system_account_get_or_create(kind=AccountKind.REWARDS_RESERVE, asset=Asset.AGR)
    accounts_lock([reserve.pk])
    balance = account_balance(account=reserve)  # Σ entries: platform accounts keep no cache
    scheduled = emission_for_period(
        start_seconds=elapsed_seconds(since=genesis, at=start),
        end_seconds=elapsed_seconds(since=genesis, at=end),
        schedule=emission_schedule(),
    )
    amount = min(scheduled, balance)
    recipients = _Recipients(users=users, legs=[])
    parts = split_by_weights(amount=amount, weights=dict(provider_weights)).parts
    paid = sum(
        part
        for user_id, part in parts.items()
        if recipients.credit(user_id=user_id, kind=AccountKind.PROVIDER_PAYABLE, asset=Asset.AGR, amount=part)
    )
    legs = [Leg(reserve, -paid), *recipients.legs] if paid else []
    return legs, {"scheduled": str(scheduled), "paid": str(paid)}


def epoch_close(*, number: int, starts_at: datetime, ends_at: datetime, at: datetime | None = None) -> Epoch:
    """Close epoch `number` over `[starts_at, ends_at)`: distribute its pool and emit its rewards,
    each as one ledger transaction, and record it, stamped with the closing moment `at` (now by
    default; a past moment after the end for demo history). An epoch already closed is returned
    unchanged (nothing moves twice). Raises ValueError for an epoch that has not ended by then, or a
    closing moment in the future."""
    now = timezone.now()
    closed_at = at or now
    if closed_at > now:
        raise ValueError(f"epoch {number} cannot be closed in the future ({closed_at:%Y-%m-%d %H:%M})")
    if ends_at > closed_at:
        raise ValueError(f"epoch {number} ends at {ends_at:%Y-%m-%d %H:%M}, which has not passed")
    with transaction.atomic(durable=True):
        try:
            with transaction.atomic():
                epoch = Epoch.objects.create(
                    number=number, starts_at=starts_at, ends_at=ends_at, closed_at=closed_at
                )
        except IntegrityError:
            return Epoch.objects.get(number=number)  # closed already (or concurrently, now committed)
        weights = {share: distribution_weights(share, starts_at, ends_at) for share in Share}
        users = _users(weights)
        reference = epoch_reference(number)
        period = f"{starts_at:%d %b} to {ends_at:%d %b %Y}"
        legs, breakdown = _distribution_legs(end=ends_at, weights=weights, users=users)
        if legs:
            epoch.distribution_transaction = transaction_post(
                kind=TransactionKind.DISTRIBUTION,
                legs=legs,
                idempotency_key=f"{reference}:distribution",
                memo=f"Revenue distribution, epoch {number} ({period})",
                reference=reference,
                posted_at=at,
            ).transaction
        legs, emission = _emission_legs(
            start=starts_at, end=ends_at, provider_weights=weights[Share.PROVIDERS], users=users
        )
        if legs:
            epoch.emission_transaction = transaction_post(
                kind=TransactionKind.EMISSION,
                legs=legs,
                idempotency_key=f"{reference}:emission",
                memo=f"Provider rewards, epoch {number} ({period})",
                reference=reference,
                posted_at=at,
            ).transaction
        epoch.breakdown = {**breakdown, "emission": emission}
        epoch.save(
            update_fields=["distribution_transaction", "emission_transaction", "breakdown", "updated_at"]
        )
        return epoch


def epochs_close_due(*, now: datetime | None = None) -> list[Epoch]:
    """Close every epoch that has ended by `now` (default: now), oldest first; posts the genesis
    first if it has not happened (which starts the clock, so nothing is due yet). Returns the epochs
    this call closed."""
    token_genesis()
    moment = now or timezone.now()
    closed: list[Epoch] = []
    while True:
        bounds = epoch_next_bounds(epoch_seconds=parameter_get("distribution.epoch_seconds"))
        if bounds is None:
            break
        number, start, end = bounds
        if end > moment:
            break
        closed.append(epoch_close(number=number, starts_at=start, ends_at=end))
    return closed
