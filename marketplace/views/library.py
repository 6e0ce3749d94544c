"""The buyer's library: orders, licenses, subscriptions, refunds and disputes, one tab each."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from accounts.http import authenticated_user
from accounts.models import User
from core.types import HtmxHttpRequest
from marketplace.models import (
    SubscriptionStatus,
)
from marketplace.selectors.orders import (
    dispute_list_for_buyer,
    license_list_for_buyer,
    order_list_for_buyer,
    subscription_list_for_buyer,
    subscriptions_past_due,
)
from marketplace.services.subscriptions import CARD_RENEWAL_GRACE
from marketplace.views.buyer_common import BUYER

LIBRARY_PAGE_SIZE = 20
LIBRARY_TABS = {
    "orders": "Orders",
    "licenses": "Licenses",
    "subscriptions": "Subscriptions",
    "refunds": "Refunds and disputes",
}
LIBRARY_TARGET = "library-panel"
DISPUTES_PAGE_PARAM = "disputes_page"


# ----------------------------------------------------------------------------- library


def _subscription_rows(subs: Any) -> list[dict[str, Any]]:
    rows = []
    for sub in subs:
        quota = sub.monthly_quota
        rows.append(
            {
                "subscription": sub,
                "quota_left": None if quota is None else max(quota - sub.quota_used, 0),
                "active": sub.status == SubscriptionStatus.ACTIVE,
            }
        )
    return rows


def _library_context(request: HttpRequest, user: User, tab: str) -> dict[str, Any]:
    page_number = request.GET.get("page")
    context: dict[str, Any] = {
        "tab": tab,
        "tabs": LIBRARY_TABS,
        "disputes_page_param": DISPUTES_PAGE_PARAM,
        "past_due": subscriptions_past_due(buyer=user),
        "card_renewal_grace_days": CARD_RENEWAL_GRACE.days,
    }
    page: Page[Any]
    if tab == "orders":
        page = Paginator(order_list_for_buyer(buyer=user), LIBRARY_PAGE_SIZE).get_page(page_number)
        context["rows"] = page.object_list
    elif tab == "licenses":
        page = Paginator(license_list_for_buyer(buyer=user), LIBRARY_PAGE_SIZE).get_page(page_number)
        context["rows"] = page.object_list
    elif tab == "subscriptions":
        page = Paginator(subscription_list_for_buyer(buyer=user), LIBRARY_PAGE_SIZE).get_page(page_number)
        context["rows"] = _subscription_rows(page.object_list)
    else:
        refunds = order_list_for_buyer(buyer=user).filter(refunded_amount__gt=0)
        page = Paginator(refunds, LIBRARY_PAGE_SIZE).get_page(page_number)
        context["rows"] = page.object_list
        disputes = Paginator(
            dispute_list_for_buyer(buyer=user).order_by("-created_at", "-pk"), LIBRARY_PAGE_SIZE
        )
        context["disputes_page"] = disputes.get_page(request.GET.get(DISPUTES_PAGE_PARAM))
    context["page"] = page
    return context


@login_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def library(request: HtmxHttpRequest) -> HttpResponse:
    """The buyer's library, one section per tab (?tab=), each paginated (?page=)."""
    user = authenticated_user(request)
    tab = request.GET.get("tab", "orders")
    if tab not in LIBRARY_TABS:
        tab = "orders"
    context = _library_context(request, user, tab)
    if request.htmx and request.htmx.target == LIBRARY_TARGET and not request.htmx.history_restore_request:
        return render(request, f"{BUYER}/library.html#panel", context)
    return render(request, f"{BUYER}/library.html", context)


urlpatterns: list[URLPattern] = [
    path("library/", library, name="library"),
]
