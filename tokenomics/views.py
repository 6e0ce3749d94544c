"""Money pages: the user's wallet (balances, creator tier, ledger history), the parameter registry,
the prepaid top-up, the steps of the payouts panel, and the public transparency report."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.http import authenticated_user
from accounts.models import User
from accounts.selectors import wallet_list
from core.api import error_body
from core.charts import Chart, Series, compact_number
from core.exceptions import ApplicationError
from core.forms import service_error_to_form
from core.types import HtmxHttpRequest
from tokenomics.errors import KycRequired, PaymentNotFound
from tokenomics.forms import PayoutForm, TopUpForm
from tokenomics.models import Asset, Payment, Payout, Rail
from tokenomics.models.ledger import AccountKind
from tokenomics.money import AGR_BASE_UNITS_PER_AGR, format_amount, format_amount_short
from tokenomics.selectors.epochs import epoch_shares_for_user
from tokenomics.selectors.history import history_rows, history_transactions
from tokenomics.selectors.ledger import user_balances
from tokenomics.selectors.parameters import parameter_list, parameters_get
from tokenomics.selectors.payments import (
    payment_get_for_user,
    payment_instructions,
)
from tokenomics.selectors.payouts import payout_destination_get
from tokenomics.selectors.payouts import payout_quote as payout_quote_get
from tokenomics.selectors.rates import CreatorStanding, creator_standing, prepaid_bonus
from tokenomics.selectors.transparency import (
    BURN_HISTORY_WEEKS,
    SHARES,
    Transparency,
    emission_series,
    transparency_report,
)
from tokenomics.services.card_checkout import card_payment_confirm, card_setup_start
from tokenomics.services.chain_rail import agr_payment_start
from tokenomics.services.distribution_weights import SHARE_PARAMETER
from tokenomics.services.payments import CREDIT_TOP_UP
from tokenomics.services.payouts import payout_request
from tokenomics.services.stripe_rail import card_payment_start
from tokenomics.templatetags.payouts import payouts_panel_context

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
    page = Paginator(history_transactions(user=user, asset=asset or None), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context: dict[str, Any] = {
        "asset": asset,
        "assets": Asset.values,
        "page": page,
        "rows": history_rows(user=user, transactions=list(page.object_list), asset=asset or None),
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
        "epoch_shares": epoch_shares_for_user(user=user, limit=6),
    }
    return render(request, "tokenomics/wallet.html", context)


@require_GET
def parameters(request: HtmxHttpRequest) -> HttpResponse:
    return render(request, "tokenomics/parameters.html", {"parameters": parameter_list()})


# ----------------------------------------------------------------------------- prepaid top-up


def _own_top_up(user: User, payment_id: int) -> Payment:
    try:
        payment = payment_get_for_user(user=user, payment_id=payment_id)
    except PaymentNotFound as exc:
        raise Http404("No such top-up.") from exc
    if payment.purpose != CREDIT_TOP_UP:
        raise Http404("No such top-up.")
    return payment


def _choose(request: HtmxHttpRequest, form: TopUpForm, *, status: int = 200) -> HttpResponse:
    return render(request, "tokenomics/top_up.html", {"step": "choose", "form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def top_up(request: HtmxHttpRequest) -> HttpResponse:
    """Step 1 (GET): choose the rail and amount. Step 2 (POST): review what will happen; no money
    moves until the review's own form is submitted to `top_up_start`."""
    if request.method == "GET":
        rail = request.GET.get("rail")
        return _choose(request, TopUpForm(initial={"rail": rail if rail in Rail.values else Rail.CARD}))
    form = TopUpForm(request.POST)
    if not form.is_valid():
        return _choose(request, form, status=400)
    amount: int = form.cleaned_data["minor_units"]
    asset = Asset.USD if form.cleaned_data["rail"] == Rail.CARD else Asset.AGR
    bonus = prepaid_bonus(amount=amount)
    context: dict[str, Any] = {
        "step": "confirm",
        "form": form,
        "rail": form.cleaned_data["rail"],
        "amount_text": form.cleaned_data["amount"],
        "asset": asset,
        "amount": amount,
        "bonus": bonus,
        "total": amount + bonus,
    }
    if asset == Asset.AGR:
        context["wallets"] = list(wallet_list(user=authenticated_user(request)))
    return render(request, "tokenomics/top_up.html", context)


@login_required
@require_POST
def top_up_start(request: HtmxHttpRequest) -> HttpResponse:
    """Step 3: record the top-up (card: create its PaymentIntent at Stripe) and go to its pay page."""
    form = TopUpForm(request.POST)
    if not form.is_valid():
        return _choose(request, form, status=400)
    user = authenticated_user(request)
    amount: int = form.cleaned_data["minor_units"]
    try:
        if form.cleaned_data["rail"] == Rail.CARD:
            payment = card_payment_start(user=user, purpose=CREDIT_TOP_UP, amount=amount).payment
        else:
            payment = agr_payment_start(user=user, purpose=CREDIT_TOP_UP, amount=amount)
    except ApplicationError as exc:  # provider down or refusing, chain not configured, bad amount
        service_error_to_form(form, exc)
        return _choose(request, form, status=exc.status_code if exc.status_code >= 500 else 400)
    return redirect("tokenomics:top-up-pay", payment_id=payment.pk)


def _pay_context(request: HtmxHttpRequest, payment: Payment) -> dict[str, Any]:
    """The pay panel and status block of a top-up: one selector for every payment's pay step; the
    bonus shown is the ledger's once paid (a top-up always earns it)."""
    return payment_instructions(payment=payment, user=authenticated_user(request), bonus_applies=True)


@login_required
@require_GET
def top_up_pay(request: HtmxHttpRequest, payment_id: int) -> HttpResponse:
    """Step 4: pay an open top-up (card form through Stripe.js, or the AGR transfer through the
    browser wallet); its status below refreshes until the money has arrived."""
    payment = _own_top_up(authenticated_user(request), payment_id)
    return render(request, "tokenomics/top_up.html", _pay_context(request, payment) | {"step": "pay"})


@login_required
@require_GET
def top_up_status(request: HtmxHttpRequest, payment_id: int) -> HttpResponse:
    """The status block of the pay page, polled by htmx while the top-up is open."""
    payment = _own_top_up(authenticated_user(request), payment_id)
    return render(request, "tokenomics/top_up.html#status", _pay_context(request, payment))


# ----------------------------------------------------------------------------- the card form
# The two calls pay.js makes for any open card payment of the signed-in user (an order or a
# top-up); JSON in and out, CSRF-checked like every POST.


def _own_card_payment(request: HtmxHttpRequest, payment_id: int) -> Payment:
    try:
        return payment_get_for_user(user=authenticated_user(request), payment_id=payment_id)
    except PaymentNotFound as exc:
        raise Http404("No such payment.") from exc


def _json_error(exc: ApplicationError) -> JsonResponse:
    return JsonResponse(
        error_body(code=exc.code, message=exc.message, detail=exc.detail), status=exc.status_code
    )


@login_required
@require_POST
def card_setup(request: HtmxHttpRequest, payment_id: int) -> JsonResponse:
    """Step 1 of paying by card: a SetupIntent's client secret for Stripe.js confirmCardSetup."""
    payment = _own_card_payment(request, payment_id)
    try:
        return JsonResponse({"client_secret": card_setup_start(payment=payment)})
    except ApplicationError as exc:
        return _json_error(exc)


@login_required
@require_POST
def card_confirm(request: HtmxHttpRequest, payment_id: int) -> JsonResponse:
    """Step 2: charge the payment with the card the browser just saved (form field setup_intent)."""
    payment = _own_card_payment(request, payment_id)
    setup_intent = request.POST.get("setup_intent", "")
    if not setup_intent.startswith("seti_"):
        return JsonResponse(
            error_body(code="validation_error", message="Send the saved card's setup_intent."), status=400
        )
    try:
        answer = card_payment_confirm(payment=payment, setup_intent_id=setup_intent)
    except ApplicationError as exc:
        return _json_error(exc)
    return JsonResponse(
        {"outcome": answer.outcome, "client_secret": answer.client_secret, "message": answer.message}
    )


# ----------------------------------------------------------------------------- payouts

PAYOUT_ACCOUNTS = {"creator": AccountKind.CREATOR_PAYABLE, "provider": AccountKind.PROVIDER_PAYABLE}
PANEL = "tokenomics/_payouts_panel.html"


def _payout_form_response(
    request: HtmxHttpRequest,
    form: PayoutForm,
    *,
    partial: str = "payout-form",
    valid: bool = False,
    refused_status: int = 400,
    kyc_refused: bool = False,
) -> HttpResponse:
    # htmx swaps only 2xx answers, so a refused form is a 200 to htmx and a 4xx to anything else.
    status = 200 if valid or request.htmx else refused_status
    context = payouts_panel_context(user=authenticated_user(request), form=form, kyc_refused=kyc_refused)
    return render(request, f"{PANEL}#{partial}", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def payout_quote(request: HtmxHttpRequest) -> HttpResponse:
    """The payouts panel's form. GET: empty. POST: the confirmation step (amount, fee, what arrives
    and where) with a Confirm button posting to `payout_create`; no money moves here."""
    if request.method == "GET":
        return _payout_form_response(request, PayoutForm(), valid=True)
    user = authenticated_user(request)
    form = PayoutForm(request.POST)
    if not form.is_valid():
        return _payout_form_response(request, form)
    try:
        quote = payout_quote_get(
            user=user,
            asset=form.cleaned_data["asset"],
            amount=form.cleaned_data["minor_units"],
            instant=True,
            account_kind=PAYOUT_ACCOUNTS[form.cleaned_data["account"]],
        )
    except ApplicationError as exc:  # below the minimum, more than the payable balance
        service_error_to_form(form, exc, default_field="amount")
        return _payout_form_response(request, form)
    recipient = ""
    if quote.asset == Asset.AGR:
        try:  # only to the user's own wallets past their cool-down: say so before Confirm
            recipient = payout_destination_get(
                user=user, to_address=form.cleaned_data.get("to_address") or ""
            )
        except ApplicationError as exc:
            service_error_to_form(form, exc, default_field="to_address")
            return _payout_form_response(request, form)
    confirm = {
        "account": form.cleaned_data["account"],
        "asset": form.cleaned_data["asset"],
        "amount": form.cleaned_data["amount"],
        "to_address": form.cleaned_data.get("to_address") or "",
        "reference": uuid.uuid4().hex,  # one payout, however often Confirm is pressed
    }
    context = payouts_panel_context(user=user, form=form, quote=quote, confirm=confirm)
    context["recipient"] = recipient
    return render(request, f"{PANEL}#payout-form", context)


def _payout_notice(payout: Payout) -> str:
    net = format_amount(amount=payout.net, asset=payout.asset)
    if payout.status == Payout.Status.NEEDS_REVIEW:
        return (
            f"Payout requested. It is above the review threshold, so our staff check it before {net} is sent."
        )
    if payout.asset == Asset.AGR:
        return f"Payout requested: {net} is being sent to {payout.to_address}."
    return f"Payout requested: {net} will be paid to you through Stripe."


@login_required
@require_POST
def payout_create(request: HtmxHttpRequest) -> HttpResponse:
    """Confirm: request the payout quoted (once per its reference) and answer with the whole panel,
    balances and history updated. Without htmx, go back to the page the panel is on."""
    user = authenticated_user(request)
    form = PayoutForm(request.POST)
    if not form.is_valid() or not form.cleaned_data.get("reference"):
        if form.is_valid():
            form.add_error(None, "Review the payout first.")
        return _payout_form_response(request, form, partial="panel")
    try:
        payout = payout_request(
            user=user,
            asset=form.cleaned_data["asset"],
            amount=form.cleaned_data["minor_units"],
            account_kind=PAYOUT_ACCOUNTS[form.cleaned_data["account"]],
            instant=True,
            to_address=form.cleaned_data.get("to_address") or "",
            reference=f"payout:{form.cleaned_data['reference']}",
        )
    except KycRequired as exc:  # explained next to the form, not as a generic error
        return _payout_form_response(
            request, form, partial="panel", refused_status=exc.status_code, kyc_refused=True
        )
    except ApplicationError as exc:
        service_error_to_form(form, exc)
        return _payout_form_response(request, form, partial="panel")
    if not request.htmx:
        back = request.headers.get("Referer", "")
        allowed = url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure())
        return redirect(back if back and allowed else "tokenomics:wallet")
    context = payouts_panel_context(user=user, notice=_payout_notice(payout))
    return render(request, f"{PANEL}#panel", context)


# ----------------------------------------------------------------------------- transparency

SHARE_LABELS = {
    "providers": "Providers",
    "creators": "Creators",
    "integrations": "Integrations",
    "community": "Community",
}


def _agr_short(amount: int) -> str:
    return format_amount_short(amount=amount, asset=Asset.AGR)[0]


def _agr_tick(amount: int) -> str:
    """An axis label: whole AGR, compact ("15M AGR"); below one AGR, the short form."""
    if 0 < abs(amount) < AGR_BASE_UNITS_PER_AGR:
        return _agr_short(amount)
    return f"{compact_number(amount // AGR_BASE_UNITS_PER_AGR)} AGR"


def _transparency_charts(report: Transparency) -> dict[str, Chart]:
    burned = Chart(
        chart_id="burned-chart",
        title="AGR burned, cumulative",
        description=(
            f"AGR burned by the end of each of the last {BURN_HISTORY_WEEKS} weeks: "
            f"{_agr_short(report.burned)} in all."
        ),
        labels=[f"{point.at.day} {point.at:%b}" for point in report.burned_history],
        series=[Series(name="Burned", values=[point.value for point in report.burned_history])],
        format_value=_agr_short,
        format_tick=_agr_tick,
        label_heading="Week of",
    )
    emission_points = emission_series(report)
    emission = Chart(
        chart_id="emission-chart",
        title="Provider rewards emitted against the schedule",
        description=(
            "Cumulative AGR emitted to providers at the end of each epoch (line) and what the schedule "
            f"allowed by then (bars): {_agr_short(report.emitted)} emitted of "
            f"{_agr_short(report.emission_scheduled)} scheduled to date."
        ),
        labels=[f"Epoch {point.number}" for point in emission_points],
        series=[
            Series(name="Scheduled", values=[point.scheduled for point in emission_points], kind="bar"),
            Series(name="Emitted", values=[point.emitted for point in emission_points]),
        ],
        format_value=_agr_short,
        format_tick=_agr_tick,
        label_heading="Epoch",
    )
    rows = report.epochs[::-1]
    distributions = Chart(
        chart_id="distribution-chart",
        title="Revenue distributed per epoch, US dollars",
        description="Each epoch's US-dollar platform revenue pool as paid to each share.",
        labels=[f"Epoch {row.number}" for row in rows],
        series=[
            Series(
                name=SHARE_LABELS[share],
                values=[row.distribution.get(Asset.USD, {}).get(share, 0) for row in rows],
                kind="bar",
            )
            for share in SHARES
        ],
        format_value=lambda cents: format_amount(amount=cents, asset=Asset.USD),
        label_heading="Epoch",
    )
    return {"burned_chart": burned, "emission_chart": emission, "distribution_chart": distributions}


@require_GET
def transparency(request: HtmxHttpRequest) -> HttpResponse:
    report = transparency_report()
    rates = parameters_get([*SHARE_PARAMETER.values(), "sale.network_fee_bps"])
    context = {
        "report": report,
        "share_labels": SHARE_LABELS,
        "distribution_rates": {share.value: rates[key] for share, key in SHARE_PARAMETER.items()},
        "network_fee_bps": rates["sale.network_fee_bps"],
        **_transparency_charts(report),
    }
    return render(request, "tokenomics/transparency.html", context)
