"""A subscription period's compute fees, paid out of that period's escrow when it is released.

Calls under a subscription are not billed per call: the buyer paid the period, held in escrow
(marketplace). Their compute fees (recorded per call in the request log, at the fee of the moment)
are owed to the providers who served them, so every release of a subscription order's escrow pays
them first (`tokenomics.services.split_legs.escrow_release_deductions_register`, one release path),
and the creator's sale split gets the rest. Fees are summed per provider over the period and
floored to the escrow's minor unit (cents; AGR at the registry's reference price); if they exceed
what is released they are capped at it, in provider order (the listing editor warns a creator whose
quota x compute fee exceeds the price). Calls still in the stream when the escrow is released (the
settlement task stores them every few seconds) are not counted.
"""

from __future__ import annotations

from django.db.models import Sum

from accounts.models import User
from compute.models_gateway import Entitlement, InferenceRequest, Outcome
from marketplace.models import Order, PlanKind
from tokenomics.models import Asset, Escrow
from tokenomics.money import micro_usd_to_cents_floor, usd_cents_to_agr_base_units
from tokenomics.selectors.parameters import parameter_get
from tokenomics.services.split_legs import ReleaseDeduction


def subscription_compute_fees(escrow: Escrow) -> list[ReleaseDeduction]:
    """What a released subscription period owes providers for the calls it made (see above)."""
    kind, _, order_id = escrow.reference.partition(":")
    if kind != "order" or not order_id.isdigit():
        return []
    order = (
        Order.objects.filter(pk=int(order_id), kind=PlanKind.SUBSCRIPTION)
        .only("pk", "subscription_id", "period_start", "period_end")
        .first()
    )
    if (
        order is None
        or order.subscription_id is None
        or order.period_start is None
        or order.period_end is None
    ):
        return []
    rows = (
        InferenceRequest.objects.filter(
            subscription_id=order.subscription_id,
            entitlement=Entitlement.SUBSCRIPTION,
            outcome=Outcome.OK,
            provider__isnull=False,
            created_at__gte=order.period_start,
            created_at__lt=order.period_end,
        )
        .values("provider_id")
        .annotate(fee=Sum("compute_fee_micro"))
        .order_by("provider_id")
    )
    owed = {int(row["provider_id"]): micro_usd_to_cents_floor(micro_usd=int(row["fee"] or 0)) for row in rows}
    owed = {provider: cents for provider, cents in owed.items() if cents > 0}
    if not owed:
        return []
    price = parameter_get("token.agr_price_micro_usd") if escrow.asset == Asset.AGR else 0
    providers = {user.pk: user for user in User.objects.filter(pk__in=list(owed))}
    return [
        ReleaseDeduction(
            provider=providers[provider_id],
            amount=cents
            if escrow.asset == Asset.USD
            else usd_cents_to_agr_base_units(cents=cents, agr_price_micro_usd=price),
        )
        for provider_id, cents in owed.items()
    ]
