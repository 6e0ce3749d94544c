"""The split engine: how a payment is divided between creator, provider and the platform's accounts.

Pure functions over integers. Nothing here reads the database or the parameter registry: every rate
is an argument, so a caller reads the registry once and the same inputs always give the same split.

Units:
- amounts are integers in minor units of one asset (USD cents, AGR base units of 10^-18 AGR, or
  micro-USD); the functions never mix or convert assets (`tokenomics.money` does that);
- rates are integers in basis points (bps): 10_000 bps = 100%.

Rounding (SPEC §4: "the parts of a split always add up exactly to the whole, the remainder goes to
the platform"):
- every part other than the platform's is `floor(amount * rate_bps / 10_000)`, computed with integer
  floor division of the exact product, so no intermediate value is ever rounded;
- the platform's part is the whole minus the other parts, so it absorbs every rounding remainder;
- since a sum of floors never exceeds the floor of the sum, and rates are validated to sum to at
  most 10_000 bps, the platform's part is never negative.

Every split dataclass checks its invariant (no negative part, parts sum to the whole) when it is
built, so a split that breaks it cannot exist. Invalid input raises `TypeError` (not an `int`;
`bool` and `float` are refused) or `ValueError` (out of range).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from tokenomics.money import require_int, require_non_negative, require_positive

# 100% in basis points.
BPS_DENOMINATOR = 10_000


def _require_bps(name: str, value: object) -> int:
    number = require_int(name, value)
    if not 0 <= number <= BPS_DENOMINATOR:
        raise ValueError(f"{name} must be between 0 and {BPS_DENOMINATOR} bps, got {number}")
    return number


def _require_bps_total(names: str, *values: int) -> None:
    total = sum(values)
    if total > BPS_DENOMINATOR:
        raise ValueError(f"{names} must sum to at most {BPS_DENOMINATOR} bps, got {total}")


def _part(amount: int, rate_bps: int) -> int:
    # floor(amount * rate / 10_000): the one rounding rule for every non-platform part.
    return amount * rate_bps // BPS_DENOMINATOR


def _check_parts(kind: str, whole_name: str, whole: int, parts: dict[str, int]) -> None:
    require_non_negative(f"{kind}.{whole_name}", whole)
    for name, value in parts.items():
        require_non_negative(f"{kind}.{name}", value)
    if sum(parts.values()) != whole:
        raise ValueError(
            f"{kind} parts sum to {sum(parts.values())}, not to the {whole_name} {whole}: {parts}"
        )


# --------------------------------------------------------------------------- creator tiers


class CreatorTier(StrEnum):
    BRONZE = "bronze"
    SILVER = "silver"
    GOLD = "gold"
    PLATINUM = "platinum"


@dataclass(frozen=True, kw_only=True)
class TierRule:
    """A creator tier: reached once lifetime net sales are >= `threshold` (USD cents equivalent)."""

    tier: CreatorTier
    threshold: int
    share_bps: int  # the creator's share of a sale's gross at this tier

    def __post_init__(self) -> None:
        if not isinstance(self.tier, CreatorTier):
            raise TypeError(f"TierRule.tier must be a CreatorTier, got {self.tier!r}")
        require_non_negative("TierRule.threshold", self.threshold)
        _require_bps("TierRule.share_bps", self.share_bps)


def _sorted_rules(rules: Sequence[TierRule]) -> list[TierRule]:
    if not rules:
        raise ValueError("rules must not be empty")
    ordered = sorted(rules, key=lambda rule: rule.threshold)
    thresholds = [rule.threshold for rule in ordered]
    # Two rules at one threshold would make the tier depend on the order they were given in.
    if len(set(thresholds)) != len(thresholds):
        raise ValueError(f"rules must have distinct thresholds, got {thresholds}")
    # A lowest threshold of 0 guarantees every creator, even one with no sales yet, has a tier.
    if thresholds[0] != 0:
        raise ValueError(f"the lowest tier threshold must be 0, got {thresholds[0]}")
    return ordered


def creator_tier_for(*, lifetime_net_sales: int, rules: Sequence[TierRule]) -> TierRule:
    """The highest tier whose threshold is <= `lifetime_net_sales` (a threshold is reached exactly at it)."""
    sales = require_non_negative("lifetime_net_sales", lifetime_net_sales)
    reached = [rule for rule in _sorted_rules(rules) if rule.threshold <= sales]
    return reached[-1]


def next_tier(*, lifetime_net_sales: int, rules: Sequence[TierRule]) -> TierRule | None:
    """The next tier up, for a progress display; None at the top tier."""
    sales = require_non_negative("lifetime_net_sales", lifetime_net_sales)
    ahead = [rule for rule in _sorted_rules(rules) if rule.threshold > sales]
    return ahead[0] if ahead else None


# --------------------------------------------------------------------------- sales


@dataclass(frozen=True, kw_only=True)
class SaleRates:
    """Every rate is a share of the sale's gross G; the platform keeps what they leave."""

    creator_share_bps: int
    network_fee_bps: int
    treasury_bps: int
    validator_pool_bps: int

    def __post_init__(self) -> None:
        _require_bps("SaleRates.creator_share_bps", self.creator_share_bps)
        _require_bps("SaleRates.network_fee_bps", self.network_fee_bps)
        _require_bps("SaleRates.treasury_bps", self.treasury_bps)
        _require_bps("SaleRates.validator_pool_bps", self.validator_pool_bps)
        _require_bps_total(
            "SaleRates creator_share + network_fee + treasury + validator_pool",
            self.creator_share_bps,
            self.network_fee_bps,
            self.treasury_bps,
            self.validator_pool_bps,
        )


@dataclass(frozen=True, kw_only=True)
class SaleSplit:
    """A sale's gross divided; `platform` is platform revenue and holds every rounding remainder."""

    gross: int
    creator: int
    network_fee: int  # burned when paid in AGR, buy-back reserve when paid in fiat (SPEC §4)
    treasury: int
    validator_pool: int
    platform: int

    def __post_init__(self) -> None:
        _check_parts("SaleSplit", "gross", self.gross, self.parts())

    def parts(self) -> dict[str, int]:
        """Every part by name (the gross excluded); they sum exactly to `gross`."""
        return {
            "creator": self.creator,
            "network_fee": self.network_fee,
            "treasury": self.treasury,
            "validator_pool": self.validator_pool,
            "platform": self.platform,
        }

    @property
    def platform_fee(self) -> int:
        """What the creator does not get: SPEC §4's "platform fee", before its own division."""
        return self.gross - self.creator


def split_sale(*, gross: int, rates: SaleRates) -> SaleSplit:
    """Split a sale of `gross`: each part is floored, the platform gets the remainder."""
    amount = require_non_negative("gross", gross)
    if not isinstance(rates, SaleRates):
        raise TypeError(f"rates must be SaleRates, got {type(rates).__name__}")
    creator = _part(amount, rates.creator_share_bps)
    network_fee = _part(amount, rates.network_fee_bps)
    treasury = _part(amount, rates.treasury_bps)
    validator_pool = _part(amount, rates.validator_pool_bps)
    return SaleSplit(
        gross=amount,
        creator=creator,
        network_fee=network_fee,
        treasury=treasury,
        validator_pool=validator_pool,
        platform=amount - creator - network_fee - treasury - validator_pool,
    )


# --------------------------------------------------------------------------- inference calls


def compute_fee(*, base_rate: int, complexity: int, demand_multiplier_bps: int, supply_factor: int) -> int:
    """floor(base_rate * complexity * demand_multiplier / supply_factor), demand multiplier in bps.

    `base_rate` is in the minor unit the fee is wanted in (the registry holds it in micro-USD, since a
    call can cost less than a cent). One floor division of the exact product: no intermediate rounding.
    """
    rate = require_non_negative("base_rate", base_rate)
    multiplier = require_non_negative("demand_multiplier_bps", demand_multiplier_bps)
    factor = require_positive("complexity", complexity)
    supply = require_positive("supply_factor", supply_factor)
    return rate * factor * multiplier // (BPS_DENOMINATOR * supply)


@dataclass(frozen=True, kw_only=True)
class ComputeRates:
    """How a compute fee is divided.

    `provider_bps` is the provider's base share of the fee; the rest is the platform's part.
    `provider_tier_discount_bps` is the share of the platform's part that the provider's staking tier
    gives back to the provider (SPEC §4: 0, Silver 1000, Gold 2000, Platinum 3000).
    What remains of the platform's part goes to network operations and treasury in the ratio
    `network_ops_bps : treasury_bps`; with the defaults (8000/1500/500) and no discount that is exactly
    15% and 5% of the fee.
    """

    provider_bps: int
    network_ops_bps: int
    treasury_bps: int
    provider_tier_discount_bps: int

    def __post_init__(self) -> None:
        _require_bps("ComputeRates.provider_bps", self.provider_bps)
        _require_bps("ComputeRates.network_ops_bps", self.network_ops_bps)
        _require_bps("ComputeRates.treasury_bps", self.treasury_bps)
        _require_bps("ComputeRates.provider_tier_discount_bps", self.provider_tier_discount_bps)
        _require_bps_total(
            "ComputeRates provider + network_ops + treasury",
            self.provider_bps,
            self.network_ops_bps,
            self.treasury_bps,
        )


@dataclass(frozen=True, kw_only=True)
class ComputeSplit:
    """A compute fee divided; `platform` is platform revenue and holds every rounding remainder."""

    fee: int
    provider: int  # the base share plus the staking-tier reduction
    network_ops: int  # network operations (validators)
    treasury: int
    platform: int

    def __post_init__(self) -> None:
        _check_parts("ComputeSplit", "fee", self.fee, self.parts())

    def parts(self) -> dict[str, int]:
        """Every part by name (the fee excluded); they sum exactly to `fee`."""
        return {
            "provider": self.provider,
            "network_ops": self.network_ops,
            "treasury": self.treasury,
            "platform": self.platform,
        }


def split_compute(*, fee: int, rates: ComputeRates) -> ComputeSplit:
    """Split a compute fee between provider, network operations, treasury and the platform.

    provider_base = floor(fee * provider_bps / 10_000); platform_part = fee - provider_base;
    tier reduction = floor(platform_part * discount / 10_000), to the provider;
    the rest of platform_part goes network_ops : treasury, each floored; the remainder to `platform`.
    """
    amount = require_non_negative("fee", fee)
    if not isinstance(rates, ComputeRates):
        raise TypeError(f"rates must be ComputeRates, got {type(rates).__name__}")
    provider_base = _part(amount, rates.provider_bps)
    platform_part = amount - provider_base
    tier_reduction = _part(platform_part, rates.provider_tier_discount_bps)
    remaining = platform_part - tier_reduction
    ratio_total = rates.network_ops_bps + rates.treasury_bps
    if ratio_total:
        network_ops = remaining * rates.network_ops_bps // ratio_total
        treasury = remaining * rates.treasury_bps // ratio_total
    else:
        # Neither has a share: what is left is the platform's.
        network_ops = treasury = 0
    return ComputeSplit(
        fee=amount,
        provider=provider_base + tier_reduction,
        network_ops=network_ops,
        treasury=treasury,
        platform=remaining - network_ops - treasury,
    )


@dataclass(frozen=True, kw_only=True)
class InferenceSplit:
    """One call's price = the creator's per-call price (split like a sale) + the compute fee."""

    price: int
    creator_price: int
    compute: ComputeSplit
    creator_sale: SaleSplit

    def __post_init__(self) -> None:
        _check_parts(
            "InferenceSplit",
            "price",
            self.price,
            {"creator_price": self.creator_price, "compute_fee": self.compute.fee},
        )
        if self.creator_sale.gross != self.creator_price:
            raise ValueError(
                f"InferenceSplit.creator_sale.gross {self.creator_sale.gross} "
                f"is not the creator_price {self.creator_price}"
            )


def split_inference(
    *, creator_price: int, compute_fee: int, compute_rates: ComputeRates, sale_rates: SaleRates
) -> InferenceSplit:
    """Split one inference call: the creator's price as a sale, the compute fee by `split_compute`."""
    creator_amount = require_non_negative("creator_price", creator_price)
    fee = require_non_negative("compute_fee", compute_fee)
    return InferenceSplit(
        price=creator_amount + fee,
        creator_price=creator_amount,
        compute=split_compute(fee=fee, rates=compute_rates),
        creator_sale=split_sale(gross=creator_amount, rates=sale_rates),
    )


# --------------------------------------------------------------------------- discounts and bonuses


def apply_discount(*, amount: int, discount_bps: int) -> int:
    """The price after a discount of `discount_bps`.

    The discount itself is floored, so the buyer pays the ceiling of the exact discounted price: the
    platform never gives away a fraction of a unit more than the rate says.
    """
    price = require_non_negative("amount", amount)
    rate = _require_bps("discount_bps", discount_bps)
    return price - _part(price, rate)


def bonus_for(*, amount: int, bonus_bps: int) -> int:
    """The bonus credit for a prepaid top-up of `amount`, floored (the platform funds the bonus)."""
    top_up = require_non_negative("amount", amount)
    rate = _require_bps("bonus_bps", bonus_bps)
    return _part(top_up, rate)


@dataclass(frozen=True, kw_only=True)
class VolumeTier:
    """A pay-per-inference volume discount, reached once monthly spend is >= `threshold`."""

    threshold: int
    discount_bps: int

    def __post_init__(self) -> None:
        require_non_negative("VolumeTier.threshold", self.threshold)
        _require_bps("VolumeTier.discount_bps", self.discount_bps)


def volume_discount_bps(*, monthly_spend: int, tiers: Sequence[VolumeTier]) -> int:
    """The discount of the highest tier whose threshold is <= `monthly_spend`; 0 below every tier.

    A threshold is reached exactly at it: with SPEC §3's tiers, $1,000.00 of spend gets 5% and
    $999.99 gets nothing.
    """
    spend = require_non_negative("monthly_spend", monthly_spend)
    thresholds = sorted(tier.threshold for tier in tiers)
    if len(set(thresholds)) != len(thresholds):
        raise ValueError(f"tiers must have distinct thresholds, got {thresholds}")
    reached = [tier for tier in tiers if tier.threshold <= spend]
    if not reached:
        return 0
    return max(reached, key=lambda tier: tier.threshold).discount_bps


# --------------------------------------------------------------------------- refunds


def prorated_refund(*, amount: int, period_seconds: int, unused_seconds: int) -> int:
    """floor(amount * unused / period), clamped to [0, amount].

    Rounds down: the fraction of a unit stays on the platform's side, as in every split. Unused time
    outside [0, period] (clock skew, a late cancellation) is clamped rather than refused.
    """
    paid = require_non_negative("amount", amount)
    period = require_positive("period_seconds", period_seconds)
    unused = min(max(require_int("unused_seconds", unused_seconds), 0), period)
    return paid * unused // period


def split_partial_refund(*, gross: int, refund: int, rates: SaleRates) -> tuple[int, SaleSplit]:
    """Give `refund` back to the buyer and split what is kept (gross - refund) as a sale.

    Returns (refund, split of the kept part); refund + split.gross == gross.
    """
    paid = require_non_negative("gross", gross)
    refunded = require_non_negative("refund", refund)
    if refunded > paid:
        raise ValueError(f"refund {refunded} exceeds the gross {paid}")
    return refunded, split_sale(gross=paid - refunded, rates=rates)


# --------------------------------------------------------------------------- revenue distribution
#
# An epoch's platform-revenue pool is divided in two steps, each with the module's one rounding
# rule (floor of the exact product) and one remainder rule: what the floors leave is `carried`,
# which stays in the platform-revenue pool and is distributed with the next epoch's (SPEC §4: "the
# remainder goes to the platform"). So `sum(parts) + carried == whole`, exactly, every time.


@dataclass(frozen=True, kw_only=True)
class PoolSplit:
    """A pool divided into named shares; `carried` is the rounding remainder left in the pool."""

    pool: int
    shares: dict[str, int]
    carried: int

    def __post_init__(self) -> None:
        _check_parts("PoolSplit", "pool", self.pool, {**self.shares, "carried": self.carried})


def split_pool(*, pool: int, rates_bps: dict[str, int]) -> PoolSplit:
    """Each share is floor(pool * rate / 10_000); rates sum to at most 10_000 bps; the rest is carried."""
    amount = require_non_negative("pool", pool)
    for name, rate in rates_bps.items():
        _require_bps(f"rates_bps[{name!r}]", rate)
    _require_bps_total("rates_bps", *rates_bps.values())
    shares = {name: _part(amount, rate) for name, rate in rates_bps.items()}
    return PoolSplit(pool=amount, shares=shares, carried=amount - sum(shares.values()))


@dataclass(frozen=True, kw_only=True)
class WeightedSplit:
    """An amount divided among recipients by weight; `carried` is what the floors left over (all of
    it when there is no recipient)."""

    amount: int
    parts: dict[int, int]  # recipient (a user id) -> amount; recipients whose part is 0 are left out
    carried: int

    def __post_init__(self) -> None:
        whole = {f"recipient {key}": value for key, value in self.parts.items()}
        _check_parts("WeightedSplit", "amount", self.amount, {**whole, "carried": self.carried})


def split_by_weights(*, amount: int, weights: dict[int, int]) -> WeightedSplit:
    """Recipient r gets floor(amount * weight_r / total_weight); nobody with weight 0 gets anything.

    Weights are non-negative integers in any unit (only ratios matter). The floors leave less than
    one unit per recipient, carried; with no positive weight the whole amount is carried.
    """
    whole = require_non_negative("amount", amount)
    for recipient, weight in weights.items():
        require_non_negative(f"weights[{recipient!r}]", weight)
    total = sum(weights.values())
    if not total:
        return WeightedSplit(amount=whole, parts={}, carried=whole)
    parts = {recipient: whole * weight // total for recipient, weight in weights.items()}
    parts = {recipient: part for recipient, part in parts.items() if part}
    return WeightedSplit(amount=whole, parts=parts, carried=whole - sum(parts.values()))
