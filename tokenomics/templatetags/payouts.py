"""The payouts panel of the creator dashboard: payable balances, the payout form with its
confirmation step, and the payout history.

    {% load payouts %}{% payouts_panel request.user %}

It renders on its own (no view context needed), so any page can include it; the htmx steps of its
form are answered by `tokenomics.views.payout_quote` and `payout_create` with partials of the same
template.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from accounts.models import User
from tokenomics.forms import PayoutForm
from tokenomics.selectors.ledger import user_balances
from tokenomics.selectors.parameters import parameters_get
from tokenomics.selectors.payouts import (
    PayoutQuote,
    kyc_verified,
    payout_destinations,
    payout_list_for_user,
    payout_minimum,
)

register = template.Library()

HISTORY_SIZE = 10
_PARAMETERS = (
    "payout.instant_fee_bps",
    "payout.schedule_seconds",
    "payout.kyc_threshold_cents",
    "payout.new_wallet_cooldown_seconds",
)


def payouts_panel_context(
    *,
    user: User,
    form: PayoutForm | None = None,
    quote: PayoutQuote | None = None,
    confirm: dict[str, str] | None = None,
    notice: str = "",
    kyc_refused: bool = False,
) -> dict[str, Any]:
    """What `tokenomics/_payouts_panel.html` shows for `user`; `quote` and `confirm` (the values the
    Confirm button posts) make its form the confirmation step. A quote above the KYC threshold for
    a person staff have not verified shows why it cannot be confirmed instead of the Confirm button;
    `kyc_refused` (a request refused with kyc_required) shows the same explanation above the form."""
    values = parameters_get(_PARAMETERS)
    now = timezone.now()
    return {
        "balances": user_balances(user=user),
        "form": form if form is not None else PayoutForm(),
        "quote": quote,
        "confirm": confirm or {},
        "notice": notice,
        "kyc_verified": kyc_verified(user=user),
        "kyc_refused": kyc_refused,
        "payouts": list(payout_list_for_user(user=user).select_related("chain_payout")[:HISTORY_SIZE]),
        "minimum_usd": payout_minimum(asset="USD"),
        "minimum_agr": payout_minimum(asset="AGR"),
        "fee_bps": values["payout.instant_fee_bps"],
        "schedule_seconds": values["payout.schedule_seconds"],
        "kyc_threshold_cents": values["payout.kyc_threshold_cents"],
        "cooldown_seconds": values["payout.new_wallet_cooldown_seconds"],
        "destinations": [(d, d.usable(now)) for d in payout_destinations(user=user)],
    }


@register.inclusion_tag("tokenomics/_payouts_panel.html", takes_context=True)
def payouts_panel(context: template.Context, user: Any) -> dict[str, Any]:
    """The whole panel for `user` (nothing for an anonymous visitor)."""
    if not isinstance(user, User):
        return {"anonymous": True}
    return payouts_panel_context(user=user) | {"csrf_token": context.get("csrf_token")}
