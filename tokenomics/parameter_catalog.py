"""Every economic number of SPEC.md, as the registry's defaults, units, bounds and descriptions.

This is the only place these literals appear: code reads values through
`tokenomics.selectors.parameters.parameter_get`, and `parameters_sync` (run after every migrate)
creates any entry missing from the database with the default below. Changing a default here does
not change a live value; governance (or an emergency change by staff) does, with history.
Rates are basis points (10,000 = 100%); durations are seconds; money carries its unit in the key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tokenomics.money import agr

DAY = 86_400
BPS_100 = 10_000


@dataclass(frozen=True)
class ParameterSpec:
    key: str
    category: str
    default: int
    unit: str
    min_value: int
    max_value: int
    description: str


def _bps(
    key: str, category: str, default: int, description: str, lo: int = 0, hi: int = BPS_100
) -> ParameterSpec:
    return ParameterSpec(key, category, default, "bps", lo, hi, description)


def _cents(
    key: str, category: str, default: int, description: str, lo: int = 0, hi: int = 10**12
) -> ParameterSpec:
    return ParameterSpec(key, category, default, "usd_cents", lo, hi, description)


def _agr(
    key: str, category: str, whole: int, description: str, lo: int = 0, hi: int = agr(10**9)
) -> ParameterSpec:
    return ParameterSpec(key, category, agr(whole), "agr_base_units", lo, hi, description)


def _seconds(
    key: str, category: str, default: int, description: str, lo: int = 60, hi: int = 730 * DAY
) -> ParameterSpec:
    return ParameterSpec(key, category, default, "seconds", lo, hi, description)


def _count(
    key: str, category: str, default: int, description: str, lo: int = 0, hi: int = 1_000_000
) -> ParameterSpec:
    return ParameterSpec(key, category, default, "count", lo, hi, description)


CATALOG: tuple[ParameterSpec, ...] = (
    # --- Sales: creator share by creator tier, and the platform fee's parts (SPEC §4).
    _bps("sale.creator_share.bronze_bps", "sales", 8000, "Creator share of a sale at Bronze.", 5000, 9400),
    _bps("sale.creator_share.silver_bps", "sales", 8200, "Creator share of a sale at Silver.", 5000, 9400),
    _bps("sale.creator_share.gold_bps", "sales", 8500, "Creator share of a sale at Gold.", 5000, 9400),
    _bps(
        "sale.creator_share.platinum_bps", "sales", 8800, "Creator share of a sale at Platinum.", 5000, 9400
    ),
    _cents(
        "creator_tier.silver_threshold_cents",
        "sales",
        100_000,
        "Lifetime net sales (USD equivalent) for Silver.",
    ),
    _cents(
        "creator_tier.gold_threshold_cents",
        "sales",
        1_000_000,
        "Lifetime net sales (USD equivalent) for Gold.",
    ),
    _cents(
        "creator_tier.platinum_threshold_cents",
        "sales",
        10_000_000,
        "Lifetime net sales (USD equivalent) for Platinum.",
    ),
    _bps(
        "sale.network_fee_bps",
        "sales",
        200,
        "Network fee, of the gross: burned when paid in AGR, else buy-back reserve.",
        0,
        1000,
    ),
    _bps("sale.treasury_bps", "sales", 300, "Treasury's part of the gross of a sale.", 0, 1000),
    _bps("sale.validator_pool_bps", "sales", 50, "Validator pool's part of the gross of a sale.", 0, 1000),
    # --- Inference pricing and the compute fee (SPEC §4, §6).
    ParameterSpec(
        "compute.base_rate_micro_usd",
        "compute",
        100,
        "micro_usd",
        1,
        1_000_000,
        "Base compute fee per inference call, before complexity, demand and supply.",
    ),
    _count("compute.complexity.small", "compute", 1, "Complexity multiplier of a small model.", 1, 100),
    _count("compute.complexity.medium", "compute", 3, "Complexity multiplier of a medium model.", 1, 100),
    _count("compute.complexity.large", "compute", 10, "Complexity multiplier of a large model.", 1, 100),
    _bps(
        "compute.demand_multiplier.min_bps", "compute", 8000, "Lowest demand multiplier (0.8x).", 1000, 50_000
    ),
    _bps(
        "compute.demand_multiplier.max_bps",
        "compute",
        20_000,
        "Highest demand multiplier (2.0x).",
        1000,
        50_000,
    ),
    _count(
        "compute.supply_factor.min",
        "compute",
        1,
        "Smallest supply factor (healthy providers serving a model).",
        1,
        1000,
    ),
    _bps("compute.provider_bps", "compute", 8000, "Provider's part of the compute fee.", 5000, 9500),
    _bps(
        "compute.network_ops_bps",
        "compute",
        1500,
        "Network operations' (validators') part of the compute fee.",
        0,
        5000,
    ),
    _bps("compute.treasury_bps", "compute", 500, "Treasury's part of the compute fee.", 0, 5000),
    _bps(
        "compute.priority_fee.min_bps",
        "compute",
        500,
        "Lowest priority-lane fee, on the call price.",
        0,
        5000,
    ),
    _bps(
        "compute.priority_fee.max_bps",
        "compute",
        2000,
        "Highest priority-lane fee, on the call price.",
        0,
        5000,
    ),
    _bps(
        "compute.priority_fee_bps",
        "compute",
        1000,
        "Priority-lane fee on the call price (paid as part of the compute fee, split like it).",
        500,
        2000,
    ),
    _bps(
        "compute.priority_reserved_bps",
        "compute",
        2000,
        "Share of each node's concurrent calls kept for priority calls (normal calls use the rest).",
        0,
        9000,
    ),
    _count(
        "compute.node_concurrency",
        "compute",
        16,
        "Calls in flight a node admits from one gateway process (priority calls may use them all).",
        1,
        10_000,
    ),
    # --- The metered inference gateway (compute.services.gateway, metering, settlement).
    _cents(
        "inference.reservation_chunk_cents",
        "compute",
        100,
        "Prepaid credit moved from a buyer's wallet to the metering hold at a time (calls draw on it).",
        1,
        1_000_000,
    ),
    _count(
        "inference.rate_limit.subscription_per_minute",
        "compute",
        600,
        "Most calls a minute per buyer and listing under a subscription (a plan's own limit may be lower).",
        1,
        1_000_000,
    ),
    _count(
        "inference.rate_limit.per_inference_per_minute",
        "compute",
        600,
        "Most calls a minute per buyer and listing on prepaid credit (a plan's own limit may be lower).",
        1,
        1_000_000,
    ),
    _count(
        "inference.rate_limit.playground_per_minute",
        "compute",
        10,
        "Most free playground calls a minute per user and listing.",
        1,
        1000,
    ),
    _count(
        "inference.settlement_batch_size",
        "compute",
        2000,
        "Most calls one settlement batch bills (one ledger posting set per batch).",
        1,
        100_000,
    ),
    ParameterSpec(
        "inference.deadline_ms",
        "compute",
        10_000,
        "milliseconds",
        100,
        120_000,
        "End-to-end deadline of one inference call through the gateway, retries included.",
    ),
    # --- Buyer discounts (SPEC §3).
    _bps(
        "discount.agr_payment_bps", "discounts", 1500, "Discount on list price when paying in AGR.", 0, 5000
    ),
    _bps("discount.prepaid_bonus_bps", "discounts", 1000, "Bonus credit added to a prepaid top-up.", 0, 5000),
    _cents(
        "discount.volume.tier1_threshold_cents",
        "discounts",
        100_000,
        "Monthly spend for the first volume tier.",
    ),
    _cents(
        "discount.volume.tier2_threshold_cents",
        "discounts",
        1_000_000,
        "Monthly spend for the second volume tier.",
    ),
    _cents(
        "discount.volume.tier3_threshold_cents",
        "discounts",
        10_000_000,
        "Monthly spend for the third volume tier.",
    ),
    # SPEC §3: "$100,000-1M 15%; > $1M 20%": exactly $1,000,000.00 is still 15%, so the fourth tier
    # starts one cent above it (a threshold is reached exactly at it).
    _cents(
        "discount.volume.tier4_threshold_cents",
        "discounts",
        100_000_001,
        "Monthly spend for the fourth volume tier (more than $1M).",
    ),
    _bps(
        "discount.volume.tier1_bps",
        "discounts",
        500,
        "Pay-per-inference discount at the first volume tier.",
        0,
        5000,
    ),
    _bps(
        "discount.volume.tier2_bps",
        "discounts",
        1000,
        "Pay-per-inference discount at the second volume tier.",
        0,
        5000,
    ),
    _bps(
        "discount.volume.tier3_bps",
        "discounts",
        1500,
        "Pay-per-inference discount at the third volume tier.",
        0,
        5000,
    ),
    _bps(
        "discount.volume.tier4_bps",
        "discounts",
        2000,
        "Pay-per-inference discount at the fourth volume tier.",
        0,
        5000,
    ),
    # --- Orders, licenses, escrow, refunds, payouts (SPEC §3, §4, §8).
    _seconds(
        "escrow.refund_window_seconds",
        "orders",
        7 * DAY,
        "Refund window of a one-time purchase; escrow releases at its end.",
    ),
    _count("license.download_limit", "orders", 5, "Downloads allowed per one-time license.", 1, 1000),
    _cents(
        "orders.credit_minimum_cents",
        "orders",
        500,
        "Smallest prepaid credit a pay-per-inference checkout sells.",
        50,
        100_000,
    ),
    _count(
        "playground.free_inferences_per_day",
        "orders",
        5,
        "Free playground inferences per user per listing per day.",
        0,
        1000,
    ),
    _seconds("payout.schedule_seconds", "payouts", 7 * DAY, "Interval of scheduled payouts.", DAY, 90 * DAY),
    _bps("payout.instant_fee_bps", "payouts", 150, "Fee on an on-demand (instant) withdrawal.", 0, 1000),
    _cents(
        "payout.kyc_threshold_cents", "payouts", 60_000, "Payouts above this need the KYC flag set by staff."
    ),
    _count(
        "payments.agr_confirmations",
        "payments",
        12,
        "Blocks an AGR transfer's block needs (itself included) before it counts, or a payout is confirmed.",
        1,
        1000,
    ),
    _cents("payout.minimum_cents", "payouts", 1_000, "Smallest payout."),
    _seconds(
        "payout.new_wallet_cooldown_seconds",
        "payouts",
        2 * DAY,
        "How long a newly linked wallet waits before it may receive AGR payouts (as exchanges hold "
        "new withdrawal addresses), so a stolen session cannot link a wallet and drain earnings at once.",
        3_600,
        30 * DAY,
    ),
    ParameterSpec(
        "token.agr_price_micro_usd",
        "token",
        100_000,
        "micro_usd",
        1,
        10**12,
        "Reference price of 1 AGR, for USD equivalents (creator tiers, AGR prices of USD plans).",
    ),
    # --- Revenue distribution epochs (SPEC §4).
    _seconds(
        "distribution.epoch_seconds",
        "distribution",
        7 * DAY,
        "Length of a revenue distribution epoch.",
        DAY,
        90 * DAY,
    ),
    _bps(
        "distribution.providers_bps",
        "distribution",
        4000,
        "Share of the platform-revenue pool for providers.",
    ),
    _bps(
        "distribution.creators_bps", "distribution", 3000, "Share of the platform-revenue pool for creators."
    ),
    _bps(
        "distribution.developers_bps",
        "distribution",
        2000,
        "Share of the platform-revenue pool for integration developers.",
    ),
    _bps(
        "distribution.community_bps",
        "distribution",
        1000,
        "Share of the platform-revenue pool for the community.",
    ),
    # --- Token supply and emission (SPEC §4): fixed by the contract, reported here.
    _agr(
        "token.total_supply",
        "token",
        1_000_000_000,
        "Total AGR supply.",
        agr(1_000_000_000),
        agr(1_000_000_000),
    ),
    _bps("emission.provider_rewards_bps", "token", 3500, "Share of the supply emitted as provider rewards."),
    _agr("emission.year1", "token", 70_000_000, "Provider rewards emitted in year 1."),
    _agr("emission.year2", "token", 52_500_000, "Provider rewards emitted in year 2."),
    _agr("emission.year3_4", "token", 35_000_000, "Provider rewards emitted in each of years 3 and 4."),
    _agr("emission.year5_10", "token", 21_000_000, "Provider rewards emitted in each of years 5 to 10."),
    _count(
        "emission.halving_years", "token", 4, "After year 10, emission halves every this many years.", 1, 20
    ),
    # --- Provider staking tiers and slashing (SPEC §6).
    _agr("staking.bronze_min", "staking", 10_000, "Stake for Bronze, the minimum for paid traffic."),
    _agr("staking.silver_min", "staking", 50_000, "Stake for Silver (priority routing)."),
    _agr("staking.gold_min", "staking", 250_000, "Stake for Gold (premium routing)."),
    _agr("staking.platinum_min", "staking", 1_000_000, "Stake for Platinum (exclusive models)."),
    _bps(
        "staking.silver_fee_discount_bps",
        "staking",
        1000,
        "Cut of the platform's compute-fee part given back at Silver.",
        0,
        5000,
    ),
    _bps(
        "staking.gold_fee_discount_bps",
        "staking",
        2000,
        "Cut of the platform's compute-fee part given back at Gold.",
        0,
        5000,
    ),
    _bps(
        "staking.platinum_fee_discount_bps",
        "staking",
        3000,
        "Cut of the platform's compute-fee part given back at Platinum.",
        0,
        5000,
    ),
    _bps("staking.bronze_max_slash_bps", "staking", 500, "Largest slash of a Bronze stake.", 0, 5000),
    _bps("staking.silver_max_slash_bps", "staking", 1000, "Largest slash of a Silver stake.", 0, 5000),
    _bps("staking.gold_max_slash_bps", "staking", 1500, "Largest slash of a Gold stake.", 0, 5000),
    _bps("staking.platinum_max_slash_bps", "staking", 2000, "Largest slash of a Platinum stake.", 0, 5000),
    _seconds(
        "staking.unstake_cooldown_seconds", "staking", 14 * DAY, "Cool-down between unstaking and withdrawal."
    ),
    _bps("slashing.minor_min_bps", "slashing", 100, "Smallest minor slash.", 0, 5000),
    _bps("slashing.minor_max_bps", "slashing", 500, "Largest minor slash.", 0, 5000),
    _bps("slashing.major_min_bps", "slashing", 500, "Smallest major slash.", 0, 5000),
    _bps("slashing.major_max_bps", "slashing", 1500, "Largest major slash.", 0, 5000),
    _bps("slashing.severe_min_bps", "slashing", 1500, "Smallest severe slash (with a ban).", 0, 5000),
    _bps("slashing.severe_max_bps", "slashing", 2000, "Largest severe slash (with a ban).", 0, 5000),
    _bps(
        "slashing.latency_factor_bps",
        "slashing",
        20_000,
        "Latency over this multiple of advertised for a day is minor.",
        10_000,
        100_000,
    ),
    _bps("slashing.min_uptime_bps", "slashing", 9500, "Uptime under this over 24 h is minor.", 5000, 10_000),
    _count(
        "slashing.repeat_count",
        "slashing",
        2,
        "Earlier minor SLA slashes within the repeat window that make the next offence major.",
        1,
        100,
    ),
    _seconds(
        "slashing.repeat_window_seconds",
        "slashing",
        30 * DAY,
        "How far back earlier minor SLA slashes count as repeats.",
        DAY,
        365 * DAY,
    ),
    _seconds(
        "slashing.appeal_window_seconds",
        "slashing",
        7 * DAY,
        "How long after a slash its provider may appeal.",
        3600,
        90 * DAY,
    ),
    # --- Batch jobs (SPEC §6).
    _bps(
        "discount.batch_bps",
        "discounts",
        1000,
        "Discount on the creator's per-call price in a batch job.",
        0,
        5000,
    ),
    _count("batch.max_items", "batch", 100_000, "Most items one batch job may carry.", 1, 10_000_000),
    ParameterSpec(
        "batch.max_upload_bytes",
        "batch",
        50 * 1024 * 1024,
        "bytes",
        1024,
        1024**3,
        "Largest JSON Lines file (or JSON body) a batch job may be created from.",
    ),
    _count(
        "batch.concurrency_per_node", "batch", 4, "Items of one batch job in flight per serving node.", 1, 256
    ),
    _count(
        "batch.webhook_max_attempts",
        "batch",
        8,
        "Deliveries of a completion webhook before giving up.",
        1,
        30,
    ),
    # --- Reputation (SPEC §6).
    ParameterSpec("reputation.max_score", "reputation", 1000, "score", 1000, 1000, "Highest trust score."),
    _seconds(
        "reputation.window_seconds",
        "reputation",
        90 * DAY,
        "Rolling window of the trust score.",
        DAY,
        365 * DAY,
    ),
    ParameterSpec(
        "reputation.fast_p50_ms",
        "reputation",
        100,
        "milliseconds",
        1,
        10_000,
        "p50 latency under this earns the speed multiplier.",
    ),
    _bps(
        "reputation.fast_multiplier_bps",
        "reputation",
        12_000,
        "Reward multiplier for a fast p50.",
        10_000,
        30_000,
    ),
    _bps(
        "reputation.max_quality_multiplier_bps",
        "reputation",
        15_000,
        "Highest reward multiplier for quality.",
        10_000,
        30_000,
    ),
    _bps(
        "reputation.uptime_bonus_threshold_bps",
        "reputation",
        9950,
        "Uptime over this earns the uptime bonus.",
        9000,
        10_000,
    ),
    _bps(
        "reputation.uptime_bonus_multiplier_bps",
        "reputation",
        11_000,
        "Reward multiplier for uptime over the bonus threshold.",
        10_000,
        30_000,
    ),
    # The trust score's parts and their weights (they add up to 100%; compute.selectors.reputation).
    _bps(
        "reputation.weight.latency_bps",
        "reputation",
        2000,
        "Trust score weight of latency against advertised.",
    ),
    _bps("reputation.weight.uptime_bps", "reputation", 2000, "Trust score weight of uptime (probes passed)."),
    _bps(
        "reputation.weight.success_bps", "reputation", 2500, "Trust score weight of the calls' success rate."
    ),
    _bps(
        "reputation.weight.attestations_bps",
        "reputation",
        1500,
        "Trust score weight of the health checker's attestations (minutes attested healthy).",
    ),
    _bps(
        "reputation.weight.ratings_bps", "reputation", 2000, "Trust score weight of buyers' ratings of calls."
    ),
    _seconds(
        "reputation.rating_window_seconds",
        "reputation",
        30 * DAY,
        "How long after a served call its buyer may rate it.",
        3600,
        365 * DAY,
    ),
    # --- Governance (SPEC §7).
    _bps(
        "governance.threshold.technical_bps",
        "governance",
        6000,
        "Approval needed by a technical proposal.",
        5000,
        10_000,
    ),
    _bps(
        "governance.threshold.economic_bps",
        "governance",
        5500,
        "Approval needed by an economic-parameter proposal.",
        5000,
        10_000,
    ),
    _bps(
        "governance.threshold.treasury_bps",
        "governance",
        5000,
        "Approval needed by a treasury-spending proposal.",
        5000,
        10_000,
    ),
    _bps(
        "governance.threshold.emergency_bps",
        "governance",
        7500,
        "Approval needed by an emergency proposal.",
        5000,
        10_000,
    ),
    _bps(
        "governance.threshold.emergency_beyond_limit_bps",
        "governance",
        8000,
        "Approval needed by an emergency parameter change beyond the quarterly limit.",
        5000,
        10_000,
    ),
    _bps("governance.quorum_bps", "governance", 400, "Quorum, as a share of circulating supply.", 1, 10_000),
    _agr("governance.proposal_bond", "governance", 100_000, "Bond locked to submit a proposal."),
    _seconds("governance.discussion_seconds", "governance", 7 * DAY, "Discussion period.", 3600),
    _seconds("governance.voting_seconds", "governance", 14 * DAY, "Voting period.", 3600),
    _seconds(
        "governance.timelock_seconds",
        "governance",
        7 * DAY,
        "Timelock before a passed proposal executes.",
        3600,
    ),
    _seconds(
        "governance.emergency_timelock_seconds",
        "governance",
        2 * DAY,
        "Timelock of an emergency proposal.",
        3600,
    ),
    _bps(
        "governance.staked_weight_bps", "governance", 15_000, "Voting weight of staked AGR.", 10_000, 30_000
    ),
    _bps(
        "governance.long_staked_weight_bps",
        "governance",
        20_000,
        "Voting weight of AGR staked over the long-stake age.",
        10_000,
        30_000,
    ),
    _seconds(
        "governance.long_stake_seconds", "governance", 365 * DAY, "Stake age for the long-stake weight.", DAY
    ),
    _bps(
        "governance.max_quarterly_change_bps",
        "governance",
        2000,
        "Most a parameter may move within the change window, except by an emergency change.",
        0,
        10_000,
    ),
    _seconds(
        "governance.change_window_seconds",
        "governance",
        90 * DAY,
        "The rolling window (a quarter) of the change limit.",
        DAY,
        365 * DAY,
    ),
    # --- Featured placement a creator buys for a published listing (SPEC §2).
    _cents(
        "featured.price_cents_per_day",
        "featured",
        500,
        "Price of one day of featured (sponsored) placement in the catalog.",
        1,
        1_000_000,
    ),
)

CATALOG_BY_KEY: dict[str, ParameterSpec] = {spec.key: spec for spec in CATALOG}


# Relations between parameters that no single bound can hold: a change that breaks one is refused,
# so the split engine never meets shares over 100% or a minimum above its maximum.
def _sum_at_most(
    keys: tuple[str, ...], limit: int, label: str
) -> tuple[tuple[str, ...], str, Callable[[int], bool]]:
    return keys, f"{label} must not exceed {limit // 100}%", lambda total: total <= limit


def _sum_exactly(
    keys: tuple[str, ...], limit: int, label: str
) -> tuple[tuple[str, ...], str, Callable[[int], bool]]:
    return keys, f"{label} must add up to exactly {limit // 100}%", lambda total: total == limit


_SALE_FEES = ("sale.network_fee_bps", "sale.treasury_bps", "sale.validator_pool_bps")
SUM_RULES = (
    *(
        _sum_at_most((share, *_SALE_FEES), BPS_100, "A creator share plus the sale fees")
        for share in (
            "sale.creator_share.bronze_bps",
            "sale.creator_share.silver_bps",
            "sale.creator_share.gold_bps",
            "sale.creator_share.platinum_bps",
        )
    ),
    _sum_exactly(
        ("compute.provider_bps", "compute.network_ops_bps", "compute.treasury_bps"),
        BPS_100,
        "The compute-fee parts",
    ),
    _sum_exactly(
        (
            "distribution.providers_bps",
            "distribution.creators_bps",
            "distribution.developers_bps",
            "distribution.community_bps",
        ),
        BPS_100,
        "The revenue distribution shares",
    ),
    _sum_exactly(
        (
            "reputation.weight.latency_bps",
            "reputation.weight.uptime_bps",
            "reputation.weight.success_bps",
            "reputation.weight.attestations_bps",
            "reputation.weight.ratings_bps",
        ),
        BPS_100,
        "The trust score's weights",
    ),
)
# Each tuple must be non-decreasing (tier thresholds and shares, min/max pairs).
ORDER_RULES: tuple[tuple[str, ...], ...] = (
    (
        "creator_tier.silver_threshold_cents",
        "creator_tier.gold_threshold_cents",
        "creator_tier.platinum_threshold_cents",
    ),
    (
        "sale.creator_share.bronze_bps",
        "sale.creator_share.silver_bps",
        "sale.creator_share.gold_bps",
        "sale.creator_share.platinum_bps",
    ),
    ("compute.demand_multiplier.min_bps", "compute.demand_multiplier.max_bps"),
    ("compute.priority_fee.min_bps", "compute.priority_fee_bps", "compute.priority_fee.max_bps"),
    (
        "discount.volume.tier1_threshold_cents",
        "discount.volume.tier2_threshold_cents",
        "discount.volume.tier3_threshold_cents",
        "discount.volume.tier4_threshold_cents",
    ),
    ("staking.bronze_min", "staking.silver_min", "staking.gold_min", "staking.platinum_min"),
    # Unbonding lasts at least a vote (G6): stake counted at a proposal's snapshot cannot leave
    # before the vote ends, and can still be slashed until then.
    ("governance.voting_seconds", "staking.unstake_cooldown_seconds"),
    ("slashing.minor_min_bps", "slashing.minor_max_bps"),
    ("slashing.major_min_bps", "slashing.major_max_bps"),
    ("slashing.severe_min_bps", "slashing.severe_max_bps"),
    # G6: stake cannot vote and leave mid-proposal (the cool-down outlasts a vote).
    ("governance.voting_seconds", "staking.unstake_cooldown_seconds"),
)


def relation_violations(values: Mapping[str, int]) -> list[str]:
    """Messages for every relation between parameters that `values` breaks (empty when none)."""
    problems = [message for keys, message, ok in SUM_RULES if not ok(sum(values[key] for key in keys))]
    for keys in ORDER_RULES:
        ordered = [values[key] for key in keys]
        if ordered != sorted(ordered):
            problems.append(f"{', '.join(keys)} must be in ascending order")
    return problems
