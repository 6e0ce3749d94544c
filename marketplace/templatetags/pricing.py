"""`{{ plan|price_unit }}`: what a plan's USD price buys, as shown beside it ("one-time",
"/ month", "/ 1,000 calls"), the same words the model page and catalog cards use."""

from __future__ import annotations

from django import template

from marketplace.models import Plan
from marketplace.models.catalog import price_unit as _price_unit

register = template.Library()


@register.filter
def price_unit(plan: Plan) -> str:
    return str(_price_unit(kind=plan.kind, interval=plan.interval).label)
