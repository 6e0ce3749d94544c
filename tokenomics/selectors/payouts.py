"""Reads of payouts: a user's own payouts, the payout rules in force, and the quote shown before a
payout is requested (the request service applies the very same numbers)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from accounts.models import User
from tokenomics.errors import AmountInvalid, InsufficientFunds, PayoutNotFound
from tokenomics.models import Asset, LedgerAccount, Payout
from tokenomics.models.ledger import AccountKind
from tokenomics.models.payouts import PAYABLE_KINDS
from tokenomics.money import (
    agr_base_units_to_usd_cents,
    format_amount,
    money_json,
    usd_cents_to_agr_base_units,
)
from tokenomics.selectors.parameters import parameters_get
from tokenomics.splits import BPS_DENOMINATOR

_PARAMETERS = (
    "payout.minimum_cents",
    "payout.instant_fee_bps",
    "payout.kyc_threshold_cents",
    "token.agr_price_micro_usd",
)


@dataclass(frozen=True)
class PayoutQuote:
    """What a payout of `amount` would do now; amounts in minor units of `asset`."""

    asset: str
    account_kind: str
    amount: int  # debited from the payable
    fee: int  # to platform revenue: floor(amount * fee_bps / 10_000) when instant, else 0
    net: int  # sent through the rail: amount - fee
    fee_bps: int
    instant: bool
    minimum: int  # the smallest payout in this asset
    available: int  # the payable balance now
    needs_review: bool  # above the KYC threshold: staff approve it before it is sent


def payout_list_for_user(*, user: User) -> QuerySet[Payout]:
    """The user's payouts, newest first."""
    return Payout.objects.filter(user=user).order_by("-created_at", "-id")


def payout_get_for_user(*, user: User, payout_id: int) -> Payout:
    """The user's own payout; PayoutNotFound for anyone else's (no hint that it exists)."""
    payout = Payout.objects.filter(pk=payout_id, user=user).first()
    if payout is None:
        raise PayoutNotFound()
    return payout


def payable_balance(*, user: User, account_kind: str, asset: str) -> int:
    """The user's payable balance of this kind and asset (0 when the account does not exist yet)."""
    balance = (
        LedgerAccount.objects.filter(owner=user, kind=account_kind, asset=asset)
        .values_list("balance", flat=True)
        .first()
    )
    return balance or 0


def payout_minimum(*, asset: str) -> int:
    """The smallest payout in minor units of `asset`: payout.minimum_cents, for AGR converted at
    the registry's reference price (rounded up, so it is never worth less than the USD minimum)."""
    values = parameters_get(_PARAMETERS)
    if asset == Asset.USD:
        return values["payout.minimum_cents"]
    return usd_cents_to_agr_base_units(
        cents=values["payout.minimum_cents"], agr_price_micro_usd=values["token.agr_price_micro_usd"]
    )


def payout_quote(
    *,
    user: User,
    asset: str,
    amount: int,
    instant: bool,
    account_kind: str = AccountKind.CREATOR_PAYABLE,
) -> PayoutQuote:
    """The fee, net and review need of a payout of `amount` from the user's payable. Raises
    AmountInvalid (not a positive whole amount, unknown asset or account, below the minimum) and
    InsufficientFunds (more than the payable balance)."""
    if type(amount) is not int or amount <= 0:
        raise AmountInvalid("A payout is a positive whole amount in minor units.")
    if asset not in Asset.values:
        raise AmountInvalid("Payouts are in USD or AGR.", detail={"asset": asset})
    if account_kind not in PAYABLE_KINDS:
        raise AmountInvalid(
            "Payouts are made from the creator or the provider payable balance.",
            detail={"account": account_kind},
        )
    values = parameters_get(_PARAMETERS)
    minimum = payout_minimum(asset=asset)
    if amount < minimum:
        raise AmountInvalid(
            f"The smallest payout is {format_amount(amount=minimum, asset=asset)}.",
            detail={"minimum": money_json(amount=minimum, asset=asset)},
        )
    available = payable_balance(user=user, account_kind=account_kind, asset=asset)
    if amount > available:
        raise InsufficientFunds(
            "The payable balance is lower than this payout.",
            detail={
                "asset": asset,
                "account": account_kind,
                "available": str(available),
                "required": str(amount),
            },
        )
    fee_bps = values["payout.instant_fee_bps"] if instant else 0
    fee = amount * fee_bps // BPS_DENOMINATOR  # rounded down: the payee keeps the fraction
    if asset == Asset.USD:
        usd_value = amount
    else:
        usd_value = agr_base_units_to_usd_cents(
            base_units=amount, agr_price_micro_usd=values["token.agr_price_micro_usd"]
        )
    return PayoutQuote(
        asset=asset,
        account_kind=account_kind,
        amount=amount,
        fee=fee,
        net=amount - fee,
        fee_bps=fee_bps,
        instant=instant,
        minimum=minimum,
        available=available,
        needs_review=usd_value > values["payout.kyc_threshold_cents"],
    )
