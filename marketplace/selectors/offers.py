"""What a model page offers a buyer, in the buyer's terms: each plan's price with its unit and its
AGR price (one reference rate for every listing, the AGR-payment discount applied), and what the
buyer already holds of the listing, so the page says so before checkout."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from accounts.models import User
from marketplace.models import License, Listing, Plan, Subscription, SubscriptionStatus
from marketplace.models.catalog import PriceUnit, price_unit
from marketplace.selectors.catalog import agr_reference_price, plan_agr_price
from tokenomics.selectors.parameters import parameter_get
from tokenomics.splits import apply_discount


@dataclass(frozen=True)
class PlanOffer:
    plan: Plan
    unit: PriceUnit
    agr_list: int  # AGR base units: the USD price at the registry's reference rate
    agr_total: int  # AGR base units: what paying in AGR costs, the AGR-payment discount applied


def plan_offers(*, plans: Iterable[Plan]) -> list[PlanOffer]:
    """The plans as offers; reads the reference rate and the AGR discount once for all of them.
    Checkout charges the same figures (marketplace.services.pricing.quote)."""
    rate = agr_reference_price()
    discount_bps = parameter_get("discount.agr_payment_bps")
    offers = []
    for plan in plans:
        agr_list = plan_agr_price(plan=plan, agr_price_micro_usd=rate)
        offers.append(
            PlanOffer(
                plan=plan,
                unit=price_unit(kind=plan.kind, interval=plan.interval),
                agr_list=agr_list,
                agr_total=apply_discount(amount=agr_list, discount_bps=discount_bps),
            )
        )
    return offers


@dataclass(frozen=True)
class Holding:
    """What the buyer already holds of a listing: a license to its latest version, a live
    subscription; either may be None."""

    license: License | None
    subscription: Subscription | None
    # The live subscription's current paid period ends then (renewing or not, per auto_renew).
    subscribed_until: datetime | None

    @property
    def any(self) -> bool:
        return self.license is not None or self.subscription is not None


NOTHING = Holding(license=None, subscription=None, subscribed_until=None)


def listing_holding(*, buyer: User | None, listing: Listing) -> Holding:
    """What `buyer` (None: anonymous) holds of `listing`: their newest unrevoked license of it and
    their active subscription whose period has not ended. Two queries for a signed-in buyer."""
    if buyer is None or not buyer.is_authenticated:
        return NOTHING
    license_ = (
        License.objects.filter(buyer=buyer, listing=listing, revoked_at__isnull=True)
        .select_related("version")
        .order_by("-version__major", "-version__minor", "-created_at")
        .first()
    )
    subscription = (
        Subscription.objects.filter(
            buyer=buyer,
            listing=listing,
            status=SubscriptionStatus.ACTIVE,
            current_period_end__gt=timezone.now(),
        )
        .select_related("plan")
        .first()
    )
    return Holding(
        license=license_,
        subscription=subscription,
        subscribed_until=subscription.current_period_end if subscription is not None else None,
    )
