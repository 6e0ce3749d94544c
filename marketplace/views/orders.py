"""The buyer's order page (pay by card or AGR, followed live; then the license, downloads, refund,
dispute) and the license and subscription actions.

Another user's order, license or subscription is a 404 on every route (the selectors and services
raise NotFound for it). htmx requests get partials (status 200, errors inside, since htmx swaps
only 2xx answers) or an HX-Redirect; plain form posts get a redirect, or the page again with the
error and its status."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.http import authenticated_user
from accounts.models import User
from core.api import error_body
from core.exceptions import ApplicationError
from core.forms import service_error_to_form
from core.types import HtmxHttpRequest
from marketplace.downloads import artefact_response
from marketplace.errors import NotFound
from marketplace.forms_buyer import (
    DisputeForm,
    RefundForm,
    SubscriptionCancelForm,
    TxHashForm,
)
from marketplace.models import (
    License,
    Order,
    OrderStatus,
    PlanKind,
    Subscription,
    SubscriptionStatus,
)
from marketplace.selectors.orders import (
    buyer_terms,
    dispute_list_for_buyer,
    license_get_for_buyer,
    license_list_for_buyer,
    order_get_for_buyer,
    order_list_for_buyer,
    order_refund_deadline,
    subscription_cancel_preview,
    subscription_get_for_buyer,
)
from marketplace.services.licenses import license_download, license_key_issue, subscription_download
from marketplace.services.orders import (
    order_cancel,
)
from marketplace.services.refunds import order_dispute_open, order_refund
from marketplace.services.subscriptions import subscription_cancel
from marketplace.views.buyer_common import BUYER, htmx_redirect, http404_of, safe_next
from tokenomics.errors import REASON_TEXT, PaymentNotVerified
from tokenomics.models import Asset, Rail
from tokenomics.selectors.payments import payment_bonus_shown, payment_instructions
from tokenomics.services.chain_rail import agr_payment_claim

# ----------------------------------------------------------------------------- the order page


def _own_order(user: User, order_id: int) -> Order:
    try:
        return order_get_for_buyer(buyer=user, order_id=order_id)
    except NotFound as exc:
        raise http404_of(exc) from exc


def _own_license(user: User, license_id: int) -> License:
    try:
        return license_get_for_buyer(buyer=user, license_id=license_id)
    except NotFound as exc:
        raise http404_of(exc) from exc


def _own_subscription(user: User, subscription_id: int) -> Subscription:
    try:
        return subscription_get_for_buyer(buyer=user, subscription_id=subscription_id)
    except NotFound as exc:
        raise http404_of(exc) from exc


def _status_context(order: Order) -> dict[str, Any]:
    payment = order.payment
    return {
        "order": order,
        "awaiting": order.status == OrderStatus.AWAITING_PAYMENT,
        "payment_status": payment.status if payment is not None else "",
    }


def _order_context(user: User, order: Order, **extra: Any) -> dict[str, Any]:
    """Everything the order page shows; `extra` carries forms with errors, a revealed key..."""
    lic = (
        license_list_for_buyer(buyer=user).filter(order=order).first()
        if order.kind == PlanKind.ONE_TIME
        else None
    )
    sub = (
        subscription_get_for_buyer(buyer=user, subscription_id=order.subscription_id)
        if order.subscription_id
        else None
    )
    dispute = dispute_list_for_buyer(buyer=user).filter(order=order).first()
    context: dict[str, Any] = _status_context(order) | {
        "license": lic,
        "subscription": sub,
        "subscription_active": sub is not None and sub.status == SubscriptionStatus.ACTIVE,
        "cancel_preview": subscription_cancel_preview(subscription=sub) if sub is not None else 0,
        "dispute": dispute,
        "refund_deadline": order_refund_deadline(order=order),
        "can_dispute": dispute is None
        and order.kind != PlanKind.PER_INFERENCE
        and order.status in (OrderStatus.IN_ESCROW, OrderStatus.RELEASED),
        "dispute_form": DisputeForm(),
        "tx_form": TxHashForm(),
        "reason_text": REASON_TEXT,
        "revealed_key": "",
        "license_error": "",
        "subscription_error": "",
        "refund_error": "",
        "dispute_error": "",
        "agr_reason": "",
        "pay_error": "",
        # Per-inference credit lands with the prepaid bonus: what the ledger granted once paid.
        "credit": int(order.total) + payment_bonus_shown(payment=order.payment, bonus_applies=True)
        if order.kind == PlanKind.PER_INFERENCE and order.payment is not None
        else 0,
        "terms": buyer_terms(),
    }
    context.update(extra)
    return context


def _payment_context(user: User, order: Order) -> dict[str, Any]:
    """How to pay an order still awaiting payment: the one pay panel of every payment (the card
    form, which calls Stripe only when the buyer pays, or the AGR transfer to make)."""
    payment = order.payment
    if order.status != OrderStatus.AWAITING_PAYMENT or payment is None:
        return {}
    return payment_instructions(
        payment=payment, user=user, bonus_applies=order.kind == PlanKind.PER_INFERENCE
    )


def _order_page(
    request: HttpRequest, user: User, order: Order, *, status: int = 200, **extra: Any
) -> HttpResponse:
    context = _order_context(user, order, **extra) | _payment_context(user, order)
    response = render(request, f"{BUYER}/order.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def order_detail(request: HtmxHttpRequest, order_id: int) -> HttpResponse:
    """The order: exact amounts; while awaiting payment, how to pay (followed live); once paid,
    the license, downloads, refund, dispute or subscription."""
    user = authenticated_user(request)
    return _order_page(request, user, _own_order(user, order_id))


@login_required
@require_GET
@never_cache
def order_status(request: HtmxHttpRequest, order_id: int) -> HttpResponse:
    """The status block, polled every 2 s while the order awaits payment. Once it is paid (or
    canceled) the block stops polling, and a poll tells htmx to reload the page, which then shows
    what the payment bought."""
    order = _own_order(authenticated_user(request), order_id)
    response = render(request, f"{BUYER}/order.html#status", _status_context(order))
    if request.htmx and order.status != OrderStatus.AWAITING_PAYMENT:
        response["HX-Refresh"] = "true"
    return response


def _agr_refused(code: str, message: str, reason: str, status: int) -> JsonResponse:
    detail = {"reason": reason} if reason else {}
    return JsonResponse(error_body(code=code, message=message, detail=detail), status=status)


@login_required
@require_POST
def order_agr_payment(request: HtmxHttpRequest, order_id: int) -> HttpResponse:
    """Verify the AGR transfer whose hash the buyer (or their wallet) submitted, and credit it.
    The pay panel's script (static/js/pay.js) posts JSON and gets JSON back: the error body with
    `detail.reason`, or where to go once paid; the hash form posts a form (htmx or plain)."""
    user = authenticated_user(request)
    order = _own_order(user, order_id)
    url = reverse("marketplace:order", kwargs={"order_id": order.pk})
    wants_json = request.content_type == "application/json"
    data: Any = request.POST
    if wants_json:
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
    form = TxHashForm(data)
    error, reason, code, status = "", "", "validation_error", 400
    if order.rail != Rail.AGR or order.payment_id is None:
        error, code = "This order is not paid in AGR.", "invalid_state"
        form.add_error(None, error)  # the order's state, not the hash: at the top of the form
    elif order.status != OrderStatus.AWAITING_PAYMENT:
        error, code, status = "This order is not waiting for a payment.", "invalid_state", 409
        form.add_error(None, error)
    elif form.is_valid():
        try:
            agr_payment_claim(payment_id=order.payment_id, tx_hash=form.cleaned_data["tx_hash"])
        except ApplicationError as exc:
            error, code, status = exc.message, exc.code, exc.status_code
            if isinstance(exc, PaymentNotVerified):
                reason = str(exc.reason)
            if not wants_json:
                # A transfer that does not pay the order is about the hash: beside it, with the
                # failed check in words; the chain being away is the page's, at the top.
                tx_field = "tx_hash" if isinstance(exc, PaymentNotVerified) else None
                service_error_to_form(form, exc, default_field=tx_field)
                if reason in REASON_TEXT:
                    form.add_error("tx_hash", f"Reason: {REASON_TEXT[reason]}.")
        else:
            messages.success(request, "Your AGR transfer is verified and credited.")
            if wants_json:
                order.refresh_from_db()
                return JsonResponse({"status": order.status, "redirect": url})
            return htmx_redirect(url) if request.htmx else redirect(url)
    elif wants_json:
        error = "Send the transfer's transaction hash."
    if wants_json:
        return _agr_refused(code, error, reason, status)
    order.refresh_from_db()
    context = _order_context(user, order, tx_form=form, agr_reason=reason)
    if request.htmx:
        return render(request, f"{BUYER}/order.html#agr-verify", context | _payment_context(user, order))
    return _order_page(request, user, order, status=status, tx_form=form, agr_reason=reason)


@login_required
@require_POST
def order_cancel_view(request: HtmxHttpRequest, order_id: int) -> HttpResponse:
    """Cancel an order that is still awaiting payment."""
    user = authenticated_user(request)
    order = _own_order(user, order_id)
    url = reverse("marketplace:order", kwargs={"order_id": order.pk})
    try:
        order_cancel(buyer=user, order_id=order.pk)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The order is canceled; nothing was charged.")
    return htmx_redirect(url) if request.htmx else redirect(url)


@login_required
@require_http_methods(["GET", "POST"])
def order_refund_view(request: HtmxHttpRequest, order_id: int) -> HttpResponse:
    """GET: the confirmation step (what comes back, and until when). POST: refund it."""
    user = authenticated_user(request)
    order = _own_order(user, order_id)
    url = reverse("marketplace:order", kwargs={"order_id": order.pk})
    form = RefundForm(request.POST) if request.method == "POST" else RefundForm()
    error, status = "", 200
    if request.method == "POST" and form.is_valid():
        try:
            order_refund(buyer=user, order_id=order.pk, reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            error = service_error_to_form(form, exc, beside="message", top_on_form=False)
            status = exc.status_code
        else:
            messages.success(
                request, "Refunded. The money goes back the way you paid; the license is revoked."
            )
            return htmx_redirect(url) if request.htmx else redirect(url)
    elif request.method == "POST":
        status = 400
    context = _order_context(user, order, refund_form=form, refund_error=error)
    if request.htmx:
        return render(request, f"{BUYER}/refund.html#refund-confirm", context)
    return render(request, f"{BUYER}/refund.html", context, status=status)


@login_required
@require_POST
def order_dispute_view(request: HtmxHttpRequest, order_id: int) -> HttpResponse:
    """Open a dispute with evidence (and an optional file); the money stays held until staff decide."""
    user = authenticated_user(request)
    order = _own_order(user, order_id)
    form = DisputeForm(request.POST, request.FILES)
    if not form.is_valid():
        return _order_page(request, user, order, status=400, dispute_form=form)
    try:
        order_dispute_open(
            buyer=user,
            order_id=order.pk,
            reason=form.cleaned_data["reason"],
            evidence=form.cleaned_data["evidence"],
            evidence_file=form.cleaned_data["evidence_file"],
        )
    except ApplicationError as exc:
        error = service_error_to_form(form, exc, beside="message", top_on_form=False)
        return _order_page(
            request, user, order, status=exc.status_code, dispute_form=form, dispute_error=error
        )
    messages.success(request, "Your dispute is open. Staff will review it; the money stays held until then.")
    return redirect("marketplace:order", order_id=order.pk)


# ----------------------------------------------------------------------------- licenses


@login_required
@require_POST
def license_key(request: HtmxHttpRequest, license_id: int) -> HttpResponse:
    """Make a new license key and show it once (only its hash is kept; an earlier key stops working)."""
    user = authenticated_user(request)
    lic = _own_license(user, license_id)
    try:
        issued = license_key_issue(buyer=user, license_id=lic.pk)
    except ApplicationError as exc:
        extra: dict[str, Any] = {"license_error": exc.message}
        status = exc.status_code
    else:
        extra, status = {"revealed_key": issued.key}, 200
    order = _own_order(user, lic.order_id)
    if request.htmx:
        response = render(request, f"{BUYER}/order.html#license-panel", _order_context(user, order, **extra))
        response["Cache-Control"] = "no-store"
        return response
    return _order_page(request, user, order, status=status, **extra)


@login_required
@require_POST
def license_download_view(request: HtmxHttpRequest, license_id: int) -> HttpResponseBase:
    """Count one download of the license and stream the decrypted artefact (the first download
    releases the payment to the creator, which ends the refund window)."""
    user = authenticated_user(request)
    lic = _own_license(user, license_id)
    try:
        version = license_download(buyer=user, license_id=lic.pk)
        return artefact_response(version)
    except ApplicationError as exc:
        order = _own_order(user, lic.order_id)
        return _order_page(request, user, order, status=exc.status_code, license_error=exc.message)


# ----------------------------------------------------------------------------- subscriptions


def _subscription_order(user: User, sub: Subscription) -> Order | None:
    """The subscription's latest order: the order page that shows it."""
    return order_list_for_buyer(buyer=user).filter(subscription=sub).first()


def _subscription_url(user: User, sub: Subscription) -> str:
    order = _subscription_order(user, sub)
    if order is None:
        return reverse("marketplace:library") + "?tab=subscriptions"
    return reverse("marketplace:order", kwargs={"order_id": order.pk})


@login_required
@require_http_methods(["GET", "POST"])
def subscription_cancel_view(request: HtmxHttpRequest, subscription_id: int) -> HttpResponse:
    """GET: the choice, with what cancelling now refunds. POST: cancel now or at period end."""
    user = authenticated_user(request)
    sub = _own_subscription(user, subscription_id)
    back = safe_next(request, _subscription_url(user, sub))
    form = (
        SubscriptionCancelForm(request.POST)
        if request.method == "POST"
        else SubscriptionCancelForm(initial={"when": SubscriptionCancelForm.NOW})
    )
    error, status = "", 200
    if request.method == "POST" and form.is_valid():
        at_period_end = form.cleaned_data["when"] == SubscriptionCancelForm.PERIOD_END
        try:
            subscription_cancel(buyer=user, subscription_id=sub.pk, at_period_end=at_period_end)
        except ApplicationError as exc:
            error = service_error_to_form(form, exc, beside="message", top_on_form=False)
            status = exc.status_code
        else:
            messages.success(
                request,
                "Your subscription will not renew; access lasts until the period ends."
                if at_period_end
                else "Your subscription is canceled; the unused days go back the way you paid.",
            )
            return htmx_redirect(back) if request.htmx else redirect(back)
    elif request.method == "POST":
        status = 400
    order = _subscription_order(user, sub)
    context = {
        "subscription": sub,
        "order": order,
        "form": form,
        "error": error,
        "next": back,
        "cancel_preview": subscription_cancel_preview(subscription=sub),
        "asset": order.asset if order is not None else Asset.USD,
    }
    if request.htmx:
        return render(request, f"{BUYER}/subscription_cancel.html#cancel-confirm", context)
    return render(request, f"{BUYER}/subscription_cancel.html", context, status=status)


@login_required
@require_POST
def subscription_download_view(request: HtmxHttpRequest, subscription_id: int) -> HttpResponseBase:
    """A subscriber's download of the listing's newest version."""
    user = authenticated_user(request)
    sub = _own_subscription(user, subscription_id)
    try:
        version = subscription_download(buyer=user, subscription_id=sub.pk)
        return artefact_response(version)
    except ApplicationError as exc:
        order = _subscription_order(user, sub)
        if order is None:
            messages.error(request, exc.message)
            return redirect(reverse("marketplace:library") + "?tab=subscriptions")
        return _order_page(request, user, order, status=exc.status_code, subscription_error=exc.message)


urlpatterns: list[URLPattern] = [
    path("orders/<int:order_id>/", order_detail, name="order"),
    path("orders/<int:order_id>/status/", order_status, name="order-status"),
    path("orders/<int:order_id>/agr-payment/", order_agr_payment, name="order-agr-payment"),
    path("orders/<int:order_id>/cancel/", order_cancel_view, name="order-cancel"),
    path("orders/<int:order_id>/refund/", order_refund_view, name="order-refund"),
    path("orders/<int:order_id>/dispute/", order_dispute_view, name="order-dispute"),
    path("licenses/<int:license_id>/key/", license_key, name="license-key"),
    path("licenses/<int:license_id>/download/", license_download_view, name="license-download"),
    path("subscriptions/<int:subscription_id>/cancel/", subscription_cancel_view, name="subscription-cancel"),
    path(
        "subscriptions/<int:subscription_id>/download/",
        subscription_download_view,
        name="subscription-download",
    ),
]
