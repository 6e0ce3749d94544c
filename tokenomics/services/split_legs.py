"""What a released payment or a metered call is split into: the legs of a sale's split and of a
compute fee's (SPEC §4), what a release owes before the creator's split (a subscription period's
compute fees, registered by the compute app), and the accounts a release touches."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from accounts.models import User
from tokenomics.models import Asset, CreatorSales, Escrow, LedgerAccount
from tokenomics.models.ledger import AccountKind
from tokenomics.selectors.rates import compute_rates, sale_rates_at
from tokenomics.services.creator_sales import sale_rates_of
from tokenomics.services.ledger import Leg, legs_merge
from tokenomics.services.ledger_accounts import (
    accounts_get_or_create,
    system_accounts_get_or_create,
    user_account_get_or_create,
    user_account_of,
)
from tokenomics.splits import SaleSplit, split_compute, split_sale


def network_kind(asset: str) -> AccountKind:
    """The network fee is burned when paid in AGR and set aside for buy-backs when paid in fiat."""
    return AccountKind.BURN if asset == Asset.AGR else AccountKind.BUYBACK_RESERVE


def sale_split_kinds(asset: str) -> list[AccountKind]:
    network = network_kind(asset)
    return [network, AccountKind.TREASURY, AccountKind.VALIDATOR_POOL, AccountKind.PLATFORM_REVENUE]


def sale_split_legs(*, creator: User, asset: str, split: SaleSplit) -> list[Leg]:
    """The credit legs of a sale's split (creator payable, network fee, treasury, validator pool,
    platform revenue; zero parts left out). The caller adds the debit of `split.gross`. Used by
    escrow releases and by the settlement of metered inference calls (SPEC §4: the creator's part
    of a call is split like a sale)."""
    platform = system_accounts_get_or_create(kinds=sale_split_kinds(asset), asset=asset)
    payable = user_account_of(owner_id=creator.pk, kind=AccountKind.CREATOR_PAYABLE, asset=asset)
    return sale_split_legs_for(payable=payable, asset=asset, split=split, platform=platform)


def sale_split_legs_for(
    *, payable: LedgerAccount, asset: str, split: SaleSplit, platform: dict[str, LedgerAccount]
) -> list[Leg]:
    """`sale_split_legs` with the creator's payable and the platform's accounts (by kind) read."""
    network = network_kind(asset)
    parts = [
        (payable, split.creator),
        (platform[network], split.network_fee),
        (platform[AccountKind.TREASURY], split.treasury),
        (platform[AccountKind.VALIDATOR_POOL], split.validator_pool),
        (platform[AccountKind.PLATFORM_REVENUE], split.platform),
    ]
    return [Leg(account, amount) for account, amount in parts if amount]


def compute_split_legs(*, provider: User, asset: str, fee: int, staking_tier: str | None = None) -> list[Leg]:
    """The credit legs of a compute fee's split (SPEC §4: provider payable, validators' network
    operations, treasury, platform; zero parts left out). The caller adds the debit of `fee`."""
    split = split_compute(fee=fee, rates=compute_rates(staking_tier=staking_tier))
    platform = system_accounts_get_or_create(
        kinds=[AccountKind.VALIDATOR_POOL, AccountKind.TREASURY, AccountKind.PLATFORM_REVENUE], asset=asset
    )
    parts = [
        (
            user_account_get_or_create(user=provider, kind=AccountKind.PROVIDER_PAYABLE, asset=asset),
            split.provider,
        ),
        (platform[AccountKind.VALIDATOR_POOL], split.network_ops),
        (platform[AccountKind.TREASURY], split.treasury),
        (platform[AccountKind.PLATFORM_REVENUE], split.platform),
    ]
    return [Leg(account, amount) for account, amount in parts if amount]


@dataclass(frozen=True)
class ReleaseDeduction:
    """A part of a released payment owed to someone other than the creator before the sale split:
    today a provider's compute fees for the calls a subscription period made (SPEC §4)."""

    provider: User
    amount: int  # minor units of the escrow's asset
    staking_tier: str | None = None


ReleaseDeductions = Callable[[Escrow], list[ReleaseDeduction]]
_release_deductions: list[ReleaseDeductions] = []


def escrow_release_deductions_register(source: ReleaseDeductions) -> None:
    """Let a higher app say what a released payment owes before the creator's split (compute:
    a subscription period's compute fees). Called from an AppConfig.ready(); every release path
    (due, first use, a partial refund's kept part) goes through `release_legs`, so all pay them."""
    if source not in _release_deductions:
        _release_deductions.append(source)


@dataclass(frozen=True)
class ReleaseAccounts:
    platform: dict[str, LedgerAccount]  # escrow and the split's platform accounts, by kind
    payable: LedgerAccount  # the creator's payable account


def release_accounts(asset: str, creator_id: int) -> ReleaseAccounts:
    """The accounts a release touches (escrow, the split's and the creator's payable), in one query."""
    platform, payable = accounts_get_or_create(
        asset=asset,
        system_kinds=[AccountKind.ESCROW, *sale_split_kinds(asset)],
        owner_id=creator_id,
        user_kind=AccountKind.CREATOR_PAYABLE,
    )
    assert payable is not None
    return ReleaseAccounts(platform=platform, payable=payable)


def release_legs(
    *,
    escrow: Escrow,
    amount: int,
    accounts: ReleaseAccounts,
    totals: CreatorSales,
    rate_values: Mapping[str, int] | None = None,
) -> list[Leg]:
    """Debit `amount` from escrow: first what registered sources say it owes (each capped at what
    is left, in their order), then the rest split as a sale at the creator's tier (from the locked
    running totals). `accounts`: `release_accounts(escrow.asset, escrow.creator_id)`."""
    platform = accounts.platform
    legs = [Leg(platform[AccountKind.ESCROW], -amount)]
    left = amount
    for source in _release_deductions:
        for deduction in source(escrow):
            paid = min(deduction.amount, left)
            if paid <= 0:
                continue
            legs += compute_split_legs(
                provider=deduction.provider, asset=escrow.asset, fee=paid, staking_tier=deduction.staking_tier
            )
            left -= paid
    if rate_values is None:
        rates = sale_rates_of(totals)
    else:
        rates = sale_rates_at(net_usd=totals.net_usd, net_agr=totals.net_agr, values=rate_values)
    split = split_sale(gross=left, rates=rates)
    legs += sale_split_legs_for(payable=accounts.payable, asset=escrow.asset, split=split, platform=platform)
    return legs_merge(legs)
