"""A listing's current per-call price, as quoted and as charged (issue 15 items 2 and 3).

The quote is made from the same cached listing context and buyer context the gateway charges from
(`compute.services.gateway_impl.listing_context` / `buyer_context`): the creator's per-call price
of the cheapest per-inference plan after the buyer's volume discount, the compute fee of the cached
dynamic price (`compute.services.pricing.quote`), and for a priority call the priority fee. So a
call made right after a quote is charged the quoted total (until the next price refresh).

`max_price` on a call (micro-USD, the quote's unit) is checked against that same total before
anything is drawn or sent to a node: `409 price_above_max`, costing nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from accounts.models import User
from compute.billing import per_call_price_micro
from compute.services.gateway import GatewayError
from compute.services.pricing import CallPrice, call_price

if TYPE_CHECKING:
    from compute.services.gateway_impl import BuyerContext, ListingContext

MAX_PRICE_LIMIT = 10**15  # micro-USD (a billion dollars): anything above is not a price


@dataclass(frozen=True)
class ListingQuote:
    slug: str
    plan_id: int | None  # the per-inference plan whose price is quoted (None: subscription only)
    plan_name: str | None
    normal: CallPrice
    priority: CallPrice


def price_of(ctx: ListingContext, *, creator_price_micro: int | None, priority: bool) -> CallPrice:
    """A call's price on the listing from its cached context (the gateway's draw uses this)."""
    return call_price(
        creator_price_micro=creator_price_micro,
        compute=ctx.price,
        priority=priority,
        priority_fee_bps=ctx.priority_fee_bps,
    )


def creator_price_for(ctx: ListingContext, buyer: BuyerContext | None) -> int | None:
    """The creator's per-call price for this buyer (None: no per-inference plan)."""
    if ctx.per_inference is None:
        return None
    return per_call_price_micro(
        price_per_1000_cents=ctx.per_inference.price_cents,
        discount_bps=buyer.discount_bps if buyer is not None else 0,
    )


def max_price_parse(body: Any) -> int | None:
    """The call's `max_price` (whole micro-USD, a number or a string of digits), None if absent;
    `400 validation_error` when it is not one."""
    value = body.get("max_price") if isinstance(body, dict) else None
    if value is None:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PRICE_LIMIT:
        raise GatewayError(
            "validation_error",
            400,
            "`max_price` is whole micro-USD, as the price endpoint quotes it.",
            detail={"max_price": ["A whole number of micro-USD (10^-6 USD), 0 or more."]},
        )
    return value


def max_price_check(*, ctx: ListingContext, buyer: BuyerContext, body: Any, priority: bool) -> None:
    """Refuse the call (`409 price_above_max`) when its current price exceeds its `max_price`."""
    limit = max_price_parse(body)
    if limit is None:
        return
    price = price_of(ctx, creator_price_micro=creator_price_for(ctx, buyer), priority=priority)
    if price.total_micro > limit:
        raise GatewayError(
            "price_above_max",
            409,
            "The current price of this call is above your max_price; nothing was charged.",
            detail={
                "price": {"amount": str(price.total_micro), "asset": "USD", "unit": "micro_usd"},
                "max_price": {"amount": str(limit), "asset": "USD", "unit": "micro_usd"},
            },
        )


def listing_quote(*, slug: str, user: User | None) -> ListingQuote | None:
    """The listing's current per-call price, normal and priority, for `user` (their volume
    discount) or for anyone (list price); None when no published, hosted listing has this slug."""
    from compute.services.gateway_impl import buyer_context, listing_context

    ctx = listing_context(slug)
    if ctx is None or ctx.latest is None:
        return None
    buyer = buyer_context(user, ctx.id) if user is not None else None
    creator = creator_price_for(ctx, buyer)
    plan = ctx.per_inference
    return ListingQuote(
        slug=ctx.slug,
        plan_id=plan.id if plan is not None else None,
        plan_name=plan.name if plan is not None else None,
        normal=price_of(ctx, creator_price_micro=creator, priority=False),
        priority=price_of(ctx, creator_price_micro=creator, priority=True),
    )
