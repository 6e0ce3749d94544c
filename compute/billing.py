"""The price of one metered call, and how whole cents are carved out of sub-cent charges. Pure.

Units: a call is priced in micro-USD (10^-6 USD; 10_000 micro-USD = 1 US cent), because a call
usually costs less than a cent. The ledger moves whole cents; `carry_settle` is the one rounding
step between the two.

Rounding (documented, SPEC §4 "rounding is explicit"):
- the creator's per-call list price is the plan's per-1,000 price / 1,000: a per-1,000 price in
  cents is exactly 10 micro-USD per cent, so this step is exact;
- the buyer's volume discount (SPEC §3) is taken with `tokenomics.splits.apply_discount`: the
  discount is floored, so the buyer pays the ceiling of the exact discounted price in micro-USD;
- the compute fee is `compute.services.pricing.quote`: base rate x complexity x the cached demand
  multiplier / the supply factor, one floor of the exact product;
- settlement bills each (buyer, listing, payee) pair floor(Σ its charges / 10_000) cents over
  time, carrying the sub-cent rest to the next batch, so nobody is ever charged more than consumed
  and a payee's rounding loss is under one cent per pair for ever, not per batch.
"""

from __future__ import annotations

from tokenomics.money import MICRO_USD_PER_CENT, require_non_negative
from tokenomics.splits import apply_discount

MICRO_PER_CENT = MICRO_USD_PER_CENT  # 10_000
# A per-1,000-calls price of 1 cent is 10,000 micro-USD / 1,000 calls = 10 micro-USD per call.
MICRO_PER_CALL_PER_CENT_PER_1000 = MICRO_PER_CENT // 1000


def per_call_price_micro(*, price_per_1000_cents: int, discount_bps: int) -> int:
    """The creator's per-call price in micro-USD after the buyer's volume discount (exact list
    price; the discount floored, i.e. the buyer pays the ceiling of the discounted price)."""
    price = require_non_negative("price_per_1000_cents", price_per_1000_cents)
    return apply_discount(amount=price * MICRO_PER_CALL_PER_CENT_PER_1000, discount_bps=discount_bps)


def batch_price_micro(*, creator_price_micro: int, batch_discount_bps: int) -> int:
    """The creator's per-call price in a batch job: the batch discount (registry
    `discount.batch_bps`) taken after the volume discount, floored like it (the buyer pays the
    ceiling of the exact price). The quote and the gateway's draw both use this, so they agree."""
    return apply_discount(amount=creator_price_micro, discount_bps=batch_discount_bps)


def carry_settle(*, carry_micro: int, amount_micro: int) -> tuple[int, int]:
    """(whole cents to move now, the new carry) for `amount_micro` of new charges on top of a
    carry below one cent: cents = floor((carry + amount) / 10_000); carry + amount == cents x
    10_000 + new carry, and 0 <= new carry < 10_000."""
    carry = require_non_negative("carry_micro", carry_micro)
    amount = require_non_negative("amount_micro", amount_micro)
    if carry >= MICRO_PER_CENT:
        raise ValueError(f"a carry is under one cent, got {carry} micro-USD")
    cents, rest = divmod(carry + amount, MICRO_PER_CENT)
    return cents, rest
