"""Money pages: the user's wallet (balances, creator tier, ledger history) and the parameter registry."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from accounts.http import authenticated_user
from core.types import HtmxHttpRequest
from tokenomics.models import Asset
from tokenomics.selectors.ledger import user_balances, user_entries
from tokenomics.selectors.parameters import parameter_list
from tokenomics.selectors.rates import CreatorStanding, creator_standing

HISTORY_PAGE_SIZE = 25
# The htmx target of the asset filter; any other htmx request for the page asks for more rows.
HISTORY_TARGET = "history"


def _tier_progress(standing: CreatorStanding) -> dict[str, int] | None:
    """How far the creator is from the current tier's threshold to the next; None at the top tier.

    `percent` is whole and rounded down, so the bar shows 100 only once the next tier is reached.
    """
    if standing.next_tier is None:
        return None
    span = standing.next_tier.threshold - standing.tier.threshold
    return {
        "percent": (standing.net_sales_cents - standing.tier.threshold) * 100 // span,
        "remaining_cents": standing.next_tier.threshold - standing.net_sales_cents,
    }


@login_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def wallet(request: HtmxHttpRequest) -> HttpResponse:
    user = authenticated_user(request)
    # An unknown asset shows everything, like the "All" tab, rather than an error page.
    asset = request.GET.get("asset", "")
    if asset not in Asset.values:
        asset = ""
    page = Paginator(user_entries(user=user, asset=asset or None), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context: dict[str, Any] = {
        "asset": asset,
        "assets": Asset.values,
        "page": page,
        "entries": page.object_list,
        "older_count": page.paginator.count - page.end_index(),
    }
    # A history restore (back button, page not in htmx's cache) wants the whole page.
    if request.htmx and not request.htmx.history_restore_request:
        # The asset tabs replace the whole history section; "Load more" appends the next rows.
        partial = "history" if request.htmx.target == HISTORY_TARGET else "history-rows"
        return render(request, f"tokenomics/wallet.html#{partial}", context)
    standing = creator_standing(creator=user)
    context |= {
        "balances": user_balances(user=user),
        "standing": standing,
        "tier_progress": _tier_progress(standing),
    }
    return render(request, "tokenomics/wallet.html", context)


@require_GET
def parameters(request: HtmxHttpRequest) -> HttpResponse:
    return render(request, "tokenomics/parameters.html", {"parameters": parameter_list()})
