"""Reads of payouts: a user's own payouts, the payout rules in force, and the quote shown before a
payout is requested (the request service applies the very same numbers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.selectors import wallet_list
from tokenomics.chain_client import checksum
from tokenomics.errors import (
    AmountInvalid,
    ChainAddressInvalid,
    InsufficientFunds,
    PayoutDestinationCoolingDown,
    PayoutDestinationNotAllowed,
    PayoutNotFound,
)
from tokenomics.models import Asset, KycVerification, LedgerAccount, Payout
from tokenomics.models.ledger import AccountKind
from tokenomics.models.payouts import PAYABLE_KINDS
from tokenomics.money import (
    agr_base_units_to_usd_cents,
    format_amount,
    money_json,
    usd_cents_to_agr_base_units,
)
from tokenomics.selectors.parameters import parameter_get, parameters_get
from tokenomics.splits import BPS_DENOMINATOR

_PARAMETERS = (
    "payout.minimum_cents",
    "payout.instant_fee_bps",
    "payout.kyc_threshold_cents",
    "token.agr_price_micro_usd",
)


def kyc_verified(*, user: User) -> bool:
    """Staff verified this person's identity (SPEC §8): payouts above payout.kyc_threshold_cents
    need it."""
    return KycVerification.objects.filter(user=user).exists()


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


@dataclass(frozen=True)
class PayoutDestination:
    """One of the user's linked wallets as an AGR payout destination."""

    address: str  # EIP-55
    linked_at: datetime
    usable_at: datetime  # linked_at + payout.new_wallet_cooldown_seconds

    def usable(self, now: datetime) -> bool:
        return self.usable_at <= now


def payout_destinations(*, user: User) -> list[PayoutDestination]:
    """The user's linked wallets, oldest first, with when each may receive AGR payouts."""
    cooldown = timedelta(seconds=parameter_get("payout.new_wallet_cooldown_seconds"))
    return [
        PayoutDestination(address=w.address, linked_at=w.created_at, usable_at=w.created_at + cooldown)
        for w in wallet_list(user=user).order_by("created_at", "pk")
    ]


def payout_destination_get(*, user: User, to_address: str, now: datetime | None = None) -> str:
    """The EIP-55 address an AGR payout may go to: `to_address` if it is one of the user's linked
    wallets, else (empty) the oldest linked wallet. A wallet linked less than
    payout.new_wallet_cooldown_seconds ago is not one yet. Raises ChainAddressInvalid (malformed),
    PayoutDestinationNotAllowed (not the user's wallet, or none linked),
    PayoutDestinationCoolingDown (detail.usable_at)."""
    moment = now or timezone.now()
    destinations = payout_destinations(user=user)
    if to_address:
        try:
            address = checksum(to_address)
        except ValueError as exc:
            raise ChainAddressInvalid(detail={"to_address": to_address}) from exc
        chosen = next((d for d in destinations if d.address == address), None)
        if chosen is None:
            raise PayoutDestinationNotAllowed(detail={"to_address": address})
    elif destinations:
        chosen = destinations[0]  # the oldest: the first to come out of its cool-down
    else:
        raise PayoutDestinationNotAllowed(
            "Link a wallet to receive AGR payouts (Wallets page).", detail={"to_address": ""}
        )
    if not chosen.usable(moment):
        usable_at = chosen.usable_at.replace(microsecond=0)
        raise PayoutDestinationCoolingDown(
            f"The wallet {chosen.address} was linked recently; for your safety it can receive payouts "
            f"from {usable_at:%Y-%m-%d %H:%M} UTC.",
            detail={"to_address": chosen.address, "usable_at": usable_at.isoformat().replace("+00:00", "Z")},
        )
    return chosen.address


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
