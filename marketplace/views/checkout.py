"""Checkout: choose how to pay, review the exact charge, confirm (the order is created then).

htmx requests get partials or an HX-Redirect; plain form posts a redirect, or the page again with
the error and its status."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.http import authenticated_user
from core.exceptions import ApplicationError
from core.forms import service_error_to_form
from core.types import HtmxHttpRequest
from marketplace.errors import NotFound
from marketplace.forms_buyer import (
    CheckoutForm,
)
from marketplace.models import (
    Plan,
    PlanKind,
)
from marketplace.selectors.catalog import latest_downloadable_version, plan_get_for_sale
from marketplace.selectors.orders import (
    buyer_terms,
)
from marketplace.services.orders import (
    order_create,
)
from marketplace.services.pricing import Quote, quote
from marketplace.views.buyer_common import BUYER, htmx_redirect
from tokenomics.models import Rail
from tokenomics.selectors.ledger import user_balances

# Service detail keys -> checkout form fields ("amount": a card charge outside Stripe's limits).
CHECKOUT_FIELDS = {"credit": "credit", "amount": "credit", "rail": "rail"}


# ----------------------------------------------------------------------------- checkout


def _plan_on_sale(plan_id: int) -> Plan:
    try:
        return plan_get_for_sale(plan_id=plan_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _wallet_balances(request: HttpRequest) -> dict[str, int]:
    """The signed-in buyer's prepaid balance per asset (what checkout can spend at once)."""
    return {b.asset: b.wallet for b in user_balances(user=authenticated_user(request))}


def _checkout_form(request: HttpRequest, plan: Plan, **kwargs: Any) -> CheckoutForm:
    return CheckoutForm(plan=plan, balances=_wallet_balances(request), **kwargs)


def _checkout_context(
    request: HttpRequest, plan: Plan, form: CheckoutForm, *, priced: Quote | None = None, error: str = ""
) -> dict[str, Any]:
    balance = 0
    if priced is not None and priced.from_balance:
        balance = _wallet_balances(request).get(priced.asset, 0)
    return {
        "plan": plan,
        "listing": plan.listing,
        "form": form,
        "quote": priced,
        "error": error,
        "rail": priced.rail if priced else "",
        # What the confirm form sends back: the choice made (a prepaid balance, or the rail).
        "checkout_rail": form.cleaned_data.get("rail", "") if priced else "",
        "balance": balance,
        "balance_after": balance - priced.total if priced is not None and priced.from_balance else 0,
        "credit_text": form.data.get("credit", "") if form.is_bound else "",
        "version": latest_downloadable_version(listing=plan.listing)
        if plan.kind == PlanKind.ONE_TIME
        else None,
        "own_listing": plan.listing.creator_id == getattr(request.user, "pk", None),
        "terms": buyer_terms(),
    }


def _checkout_respond(
    request: HtmxHttpRequest, plan: Plan, form: CheckoutForm, *, status: int = 200, **extra: Any
) -> HttpResponse:
    context = _checkout_context(request, plan, form, **extra)
    if request.htmx:
        return render(request, f"{BUYER}/checkout.html#review", context)
    return render(request, f"{BUYER}/checkout.html", context, status=status)


def _priced(request: HtmxHttpRequest, plan: Plan, form: CheckoutForm) -> tuple[Quote | None, str, int]:
    """The quote for a valid form, or (None, page-level message, status) with field errors added."""
    if not form.is_valid():
        return None, "", 400
    try:
        priced = quote(
            plan=plan,
            rail=form.cleaned_data["rail"],
            buyer=authenticated_user(request),
            credit_cents=form.cleaned_data["credit_cents"],
        )
    except ApplicationError as exc:
        error = service_error_to_form(form, exc, fields=CHECKOUT_FIELDS, beside="message", top_on_form=False)
        return None, error, exc.status_code
    return priced, "", 200


@login_required
@require_GET
def checkout(request: HtmxHttpRequest, plan_id: int) -> HttpResponse:
    """Step 1: the plan and listing, the rail and (pay-per-inference) the credit to buy."""
    plan = _plan_on_sale(plan_id)
    rail = request.GET.get("rail")
    initial = {"rail": rail if rail in Rail.values else Rail.CARD}
    return render(
        request,
        f"{BUYER}/checkout.html",
        _checkout_context(request, plan, _checkout_form(request, plan, initial=initial)),
    )


@login_required
@require_POST
def checkout_review(request: HtmxHttpRequest, plan_id: int) -> HttpResponse:
    """Step 2: exactly what will be charged, line by line, from pricing.quote. Nothing moves."""
    plan = _plan_on_sale(plan_id)
    form = _checkout_form(request, plan, data=request.POST)
    priced, error, status = _priced(request, plan, form)
    return _checkout_respond(request, plan, form, status=status, priced=priced, error=error)


@login_required
@require_POST
def checkout_confirm(request: HtmxHttpRequest, plan_id: int) -> HttpResponse:
    """Step 3: create the order (card: its PaymentIntent) and go to its page to pay."""
    plan = _plan_on_sale(plan_id)
    form = _checkout_form(request, plan, data=request.POST)
    if not form.is_valid():
        return _checkout_respond(request, plan, form, status=400)
    try:
        started = order_create(
            buyer=authenticated_user(request),
            plan_id=plan.pk,
            rail=form.cleaned_data["rail"],
            credit_cents=form.cleaned_data["credit_cents"],
        )
    except ApplicationError as exc:
        error = service_error_to_form(form, exc, fields=CHECKOUT_FIELDS, beside="message", top_on_form=False)
        return _checkout_respond(request, plan, form, status=exc.status_code, error=error)
    url = reverse("marketplace:order", kwargs={"order_id": started.order.pk})
    if request.htmx:
        return htmx_redirect(url)
    return redirect(url)


urlpatterns: list[URLPattern] = [
    path("checkout/<int:plan_id>/", checkout, name="checkout"),
    path("checkout/<int:plan_id>/review/", checkout_review, name="checkout-review"),
    path("checkout/<int:plan_id>/confirm/", checkout_confirm, name="checkout-confirm"),
]
