"""What a buyer pays for a plan through a rail, line by line, before any money moves (SPEC §3).

One function prices every checkout, so the confirmation page, the API and the order agree to the
unit. Amounts are minor units of the rail's asset: US cents for card, AGR base units for agr.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from accounts.models import User
from marketplace.errors import ValidationFailed
from marketplace.models import Plan, PlanKind
from marketplace.selectors.catalog import plan_agr_price
from tokenomics.models import Asset, Rail
from tokenomics.money import format_amount, usd_cents_to_agr_base_units
from tokenomics.selectors.parameters import parameter_get
from tokenomics.selectors.rates import inference_spend_cents, month_start, prepaid_bonus, volume_tiers
from tokenomics.services.payments import RAIL_ASSET
from tokenomics.services.stripe_rail import CARD_MAXIMUM_CENTS
from tokenomics.splits import apply_discount, volume_discount_bps

# Prepaid credit for pay-per-inference plans: from the registry's minimum (orders.credit_minimum_cents)
# up to what one card charge may be, on either rail.
CREDIT_MAXIMUM_CENTS = CARD_MAXIMUM_CENTS


# Checkout may also spend prepaid balance: priced exactly as the external rail of the same asset
# (the AGR discount included), then paid at once from the buyer's wallet instead of by a payment.
BALANCE = "balance"  # the US dollar balance
AGR_BALANCE = "agr_balance"
BALANCE_RAILS = {BALANCE: Rail.CARD, AGR_BALANCE: Rail.AGR}
CHECKOUT_RAILS = (Rail.CARD.value, Rail.AGR.value, BALANCE, AGR_BALANCE)


@dataclass(frozen=True)
class Quote:
    plan: Plan
    rail: str  # the rail whose asset it is priced in: card (USD) or agr; an order's rail
    asset: str
    list_amount: int  # the plan's list price (or the credit asked for) in the rail's asset
    agr_discount: int  # paying in AGR: discount.agr_payment_bps of the list price (floored)
    volume_discount: int  # always 0 at checkout: volume discounts apply per call (shown as a rate)
    total: int  # what the buyer pays: list - discounts
    prepaid_bonus: int  # per-inference credit: the bonus added on arrival
    volume_discount_bps: int  # the buyer's current pay-per-inference volume tier
    from_balance: bool = False  # paid from the buyer's prepaid balance of `asset`, not through the rail

    @property
    def credit(self) -> int:
        """What lands in the buyer's wallet for a per-inference order (total plus the bonus)."""
        return self.total + self.prepaid_bonus


def buyer_volume_discount_bps(*, buyer: User | None, now: datetime | None = None) -> int:
    """The buyer's pay-per-inference volume tier (SPEC §3) from their real spend on metered calls
    this calendar month (UTC), as settled in the ledger (`inference_spend_cents`); an anonymous
    buyer has spent nothing."""
    if buyer is None or buyer.pk is None:
        return volume_discount_bps(monthly_spend=0, tiers=volume_tiers())
    since = month_start(now or timezone.now())
    spend = inference_spend_cents(user=buyer, since=since)
    return volume_discount_bps(monthly_spend=spend, tiers=volume_tiers())


def quote(*, plan: Plan, rail: str, buyer: User | None = None, credit_cents: int | None = None) -> Quote:
    """Price `plan` through `rail` ("card", "agr", or prepaid "balance" / "agr_balance", priced as
    card / agr). Per-inference plans sell prepaid credit of `credit_cents` US cents (converted for
    AGR), which prepaid balance cannot buy. Raises ValidationFailed. No side effects."""
    if rail not in CHECKOUT_RAILS:
        raise ValidationFailed(
            "Pay by card, in AGR, or from your prepaid balance.",
            detail={"rail": [f"Choose one of {', '.join(CHECKOUT_RAILS)}."]},
        )
    from_balance = rail in BALANCE_RAILS
    if from_balance and plan.kind == PlanKind.PER_INFERENCE:
        raise ValidationFailed(
            "Prepaid balance already pays for calls: it cannot buy more credit.",
            detail={"rail": ["Choose card or agr to add credit."]},
        )
    rail = Rail(BALANCE_RAILS.get(rail, rail))
    asset = RAIL_ASSET[rail]
    bonus = 0
    if plan.kind == PlanKind.PER_INFERENCE:
        minimum = parameter_get("orders.credit_minimum_cents")
        if type(credit_cents) is not int or not minimum <= credit_cents <= CREDIT_MAXIMUM_CENTS:
            least = format_amount(amount=minimum, asset=Asset.USD)
            raise ValidationFailed(
                f"Choose how much prepaid credit to buy, from {least}.",
                detail={"credit": [f"Enter {minimum} to {CREDIT_MAXIMUM_CENTS} US cents."]},
            )
        if rail == Rail.AGR:
            list_amount = usd_cents_to_agr_base_units(
                cents=credit_cents, agr_price_micro_usd=parameter_get("token.agr_price_micro_usd")
            )
        else:
            list_amount = credit_cents
        # Credit is not discounted: the AGR discount and volume tiers apply to each call's price.
        total = list_amount
        bonus = prepaid_bonus(amount=total)
        agr_discount = 0
    else:
        if credit_cents is not None:
            raise ValidationFailed(
                "Only pay-per-inference plans sell credit.", detail={"credit": ["Leave it out."]}
            )
        if rail == Rail.AGR:
            list_amount = plan_agr_price(plan=plan)
            total = apply_discount(amount=list_amount, discount_bps=parameter_get("discount.agr_payment_bps"))
            agr_discount = list_amount - total
        else:
            list_amount = plan.price_cents
            total = list_amount
            agr_discount = 0
    return Quote(
        plan=plan,
        rail=rail,
        asset=asset,
        list_amount=list_amount,
        agr_discount=agr_discount,
        volume_discount=0,
        total=total,
        prepaid_bonus=bonus,
        volume_discount_bps=buyer_volume_discount_bps(buyer=buyer),
        from_balance=from_balance,
    )
