"""Registry-backed inputs of the pure split engine, and the creator tier derived from the ledger."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from accounts.models import User
from core.fields import WideSum
from tokenomics.models import Asset, CreatorSales, LedgerEntry
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.money import agr_base_units_to_usd_cents
from tokenomics.selectors.parameters import parameter_get, parameters_get
from tokenomics.splits import (
    BPS_DENOMINATOR,
    ComputeRates,
    CreatorTier,
    SaleRates,
    TierRule,
    VolumeTier,
    bonus_for,
    compute_fee,
    creator_tier_for,
    next_tier,
)

_TIER_KEYS = {
    CreatorTier.BRONZE: (None, "sale.creator_share.bronze_bps"),
    CreatorTier.SILVER: ("creator_tier.silver_threshold_cents", "sale.creator_share.silver_bps"),
    CreatorTier.GOLD: ("creator_tier.gold_threshold_cents", "sale.creator_share.gold_bps"),
    CreatorTier.PLATINUM: ("creator_tier.platinum_threshold_cents", "sale.creator_share.platinum_bps"),
}
_SALE_FEE_KEYS = ("sale.network_fee_bps", "sale.treasury_bps", "sale.validator_pool_bps")


_TIER_PARAMETERS = [key for pair in _TIER_KEYS.values() for key in pair if key is not None]
_AGR_PRICE = "token.agr_price_micro_usd"


def _tier_rules(values: Mapping[str, int]) -> list[TierRule]:
    return [
        TierRule(tier=tier, threshold=values[threshold] if threshold else 0, share_bps=values[share])
        for tier, (threshold, share) in _TIER_KEYS.items()
    ]


def creator_tier_rules() -> list[TierRule]:
    return _tier_rules(parameters_get(_TIER_PARAMETERS))


def creator_net_sales_from_ledger(*, creator_id: int | None = None) -> dict[int, dict[str, int]]:
    """Lifetime net sales per creator and asset, scanned from the ledger: gross released from escrow
    by sales made for the creator, less what upheld disputes later clawed back from their payable
    balance. The source of truth the running totals (`CreatorSales`) are checked against."""
    released = LedgerEntry.objects.filter(
        transaction__kind=TransactionKind.SALE, account__kind=AccountKind.ESCROW
    )
    clawed_back = LedgerEntry.objects.filter(
        transaction__kind=TransactionKind.SALE_CLAWBACK, account__kind=AccountKind.CREATOR_PAYABLE
    )
    if creator_id is not None:
        released = released.filter(transaction__party_id=creator_id)
        clawed_back = clawed_back.filter(transaction__party_id=creator_id)
    net: dict[int, dict[str, int]] = {}
    for queryset in (released, clawed_back):
        # Both kinds of entries are negative: a release's gross leaving escrow adds to net sales,
        # a clawback debiting the creator's payable takes from them.
        sign = -1 if queryset is released else 1
        rows = queryset.values("transaction__party_id", "asset").annotate(total=WideSum("amount")).order_by()
        for row in rows:
            per_asset = net.setdefault(row["transaction__party_id"], dict.fromkeys(Asset.values, 0))
            per_asset[row["asset"]] += sign * row["total"]
    return net


def creator_net_sales_by_asset(*, creator: User) -> dict[str, int]:
    """Lifetime net sales per asset, from the creator's running totals (one row read)."""
    totals = CreatorSales.objects.filter(creator=creator).values_list("net_usd", "net_agr").first()
    usd, agr = totals or (0, 0)
    return {Asset.USD: usd, Asset.AGR: agr}


def net_sales_cents(*, net_usd: int, net_agr: int) -> int:
    """Net sales in US cents; AGR counts at the registry's reference price (rounded down)."""
    return _net_sales_cents(net_usd, net_agr, parameter_get(_AGR_PRICE))


def _net_sales_cents(net_usd: int, net_agr: int, agr_price_micro_usd: int) -> int:
    return net_usd + agr_base_units_to_usd_cents(base_units=net_agr, agr_price_micro_usd=agr_price_micro_usd)


def creator_net_sales_cents(*, creator: User) -> int:
    """Lifetime net sales in US cents; AGR counts at the registry's reference price (rounded down)."""
    net = creator_net_sales_by_asset(creator=creator)
    return net_sales_cents(net_usd=net[Asset.USD], net_agr=net[Asset.AGR])


@dataclass(frozen=True)
class CreatorStanding:
    tier: TierRule
    next_tier: TierRule | None
    net_sales_cents: int


def creator_standing(*, creator: User) -> CreatorStanding:
    """The creator's tier (derived on each read from the running lifetime totals, so a change of
    thresholds or of the AGR reference price applies at once) and the next one."""
    return standing_for(net_sales_cents=creator_net_sales_cents(creator=creator))


def standing_for(*, net_sales_cents: int) -> CreatorStanding:
    rules = creator_tier_rules()
    sales = net_sales_cents
    return CreatorStanding(
        tier=creator_tier_for(lifetime_net_sales=sales, rules=rules),
        next_tier=next_tier(lifetime_net_sales=sales, rules=rules),
        net_sales_cents=sales,
    )


def sale_rates(*, creator_share_bps: int) -> SaleRates:
    return _sale_rates(creator_share_bps, parameters_get(_SALE_FEE_KEYS))


# Every registry parameter a sale's rates depend on (`sale_rates_at`).
SALE_RATE_PARAMETERS = (*_TIER_PARAMETERS, *_SALE_FEE_KEYS, _AGR_PRICE)


def sale_rates_at(*, net_usd: int, net_agr: int, values: Mapping[str, int] | None = None) -> SaleRates:
    """The rates of a sale by a creator whose lifetime net sales are these (their tier's share, as
    `creator_standing` derives it, and the registry's fees), from one read of the registry: what
    every escrow release runs. `values`: the `SALE_RATE_PARAMETERS`, if the caller read them."""
    if values is None:
        values = parameters_get(SALE_RATE_PARAMETERS)
    sales = _net_sales_cents(net_usd, net_agr, values[_AGR_PRICE])
    tier = creator_tier_for(lifetime_net_sales=sales, rules=_tier_rules(values))
    return _sale_rates(tier.share_bps, values)


def _sale_rates(creator_share_bps: int, fees: Mapping[str, int]) -> SaleRates:
    return SaleRates(
        creator_share_bps=creator_share_bps,
        network_fee_bps=fees["sale.network_fee_bps"],
        treasury_bps=fees["sale.treasury_bps"],
        validator_pool_bps=fees["sale.validator_pool_bps"],
    )


def sale_rates_for_creator(*, creator: User) -> SaleRates:
    return sale_rates(creator_share_bps=creator_standing(creator=creator).tier.share_bps)


_STAKING_DISCOUNT_KEYS = {
    "silver": "staking.silver_fee_discount_bps",
    "gold": "staking.gold_fee_discount_bps",
    "platinum": "staking.platinum_fee_discount_bps",
}


def prepaid_bonus(*, amount: int) -> int:
    """The prepaid-credit bonus on a top-up of `amount` minor units (`discount.prepaid_bonus_bps`,
    rounded down): what a top-up page previews and what the deposit credits."""
    return bonus_for(amount=amount, bonus_bps=parameter_get("discount.prepaid_bonus_bps"))


def compute_rates(*, staking_tier: str | None) -> ComputeRates:
    """The compute-fee split for a provider at `staking_tier` (bronze, silver, gold, platinum or
    None); higher tiers keep more of the platform's part (SPEC §4)."""
    keys = ["compute.provider_bps", "compute.network_ops_bps", "compute.treasury_bps"]
    discount_key = _STAKING_DISCOUNT_KEYS.get(staking_tier or "")
    values = parameters_get([*keys, discount_key] if discount_key else keys)
    return ComputeRates(
        provider_bps=values["compute.provider_bps"],
        network_ops_bps=values["compute.network_ops_bps"],
        treasury_bps=values["compute.treasury_bps"],
        provider_tier_discount_bps=values[discount_key] if discount_key else 0,
    )


def volume_tiers() -> list[VolumeTier]:
    """Pay-per-inference volume discount tiers by monthly spend in US cents (below the first: 0%)."""
    keys = [f"discount.volume.tier{n}_{suffix}" for n in range(1, 5) for suffix in ("threshold_cents", "bps")]
    values = parameters_get(keys)
    return [
        VolumeTier(
            threshold=values[f"discount.volume.tier{n}_threshold_cents"],
            discount_bps=values[f"discount.volume.tier{n}_bps"],
        )
        for n in range(1, 5)
    ]


def inference_spend_cents(*, user: User, since: datetime) -> int:
    """What the buyer's metered inference calls cost since `since`, in US cents: the settled
    charges, i.e. what INFERENCE postings took from the buyer's metering hold (compute's settlement
    task is the only poster of those). Calls not yet settled are not counted."""
    total = LedgerEntry.objects.filter(
        account__owner=user,
        account__kind=AccountKind.METERING_HOLD,
        account__asset=Asset.USD,
        transaction__kind=TransactionKind.INFERENCE,
        transaction__posted_at__gte=since,
    ).aggregate(total=WideSum("amount"))["total"]
    return -int(total or 0)


def month_start(moment: datetime) -> datetime:
    """The first instant of `moment`'s calendar month (UTC): where a "monthly spend" starts."""
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def inference_compute_fee_micro(*, size: str) -> int:
    """One call's compute fee now, micro-USD, for a model of `size` (small, medium, large): the
    base rate x the size's complexity (SPEC §4), with the demand multiplier at 1.0 and the supply
    factor at 1 until the provider-economy work sets them."""
    values = parameters_get(["compute.base_rate_micro_usd", f"compute.complexity.{size}"])
    return compute_fee(
        base_rate=values["compute.base_rate_micro_usd"],
        complexity=values[f"compute.complexity.{size}"],
        demand_multiplier_bps=BPS_DENOMINATOR,
        supply_factor=1,
    )
