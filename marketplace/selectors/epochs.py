"""What marketplace tells the revenue-distribution epochs: the demand for each creator's models.

Registered with tokenomics as the creators' share weights (marketplace.apps): a creator's weight
for `[start, end)` is the money buyers paid for their models in it, net of what was refunded, in
US cents (AGR at the registry's reference price `token.agr_price_micro_usd`, rounded down). That
covers one-time purchases, subscription periods and pay-per-inference credit, the inference volume
marketplace knows of (the gateway's own call counts weigh providers and integrations).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from marketplace.models import Order
from marketplace.selectors.orders import PURCHASED_STATUSES
from tokenomics.models import Asset
from tokenomics.money import agr_base_units_to_usd_cents
from tokenomics.selectors.parameters import parameter_get


def creator_demand_weights(start: datetime, end: datetime) -> dict[int, int]:
    """{creator id: net paid in US cents} for orders paid in `[start, end)` (refunded ones in full
    drop out; partial refunds are taken off)."""
    price = parameter_get("token.agr_price_micro_usd")
    rows = Order.objects.filter(
        status__in=PURCHASED_STATUSES, paid_at__gte=start, paid_at__lt=end
    ).values_list("listing__creator_id", "asset", "total", "refunded_amount")
    weights: dict[int, int] = defaultdict(int)
    for creator_id, asset, total, refunded in rows.iterator():
        net = max(int(total) - int(refunded), 0)
        if asset == Asset.AGR:
            net = agr_base_units_to_usd_cents(base_units=net, agr_price_micro_usd=price)
        weights[int(creator_id)] += net
    return {creator: weight for creator, weight in weights.items() if weight}
