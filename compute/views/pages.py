"""compute's pages and htmx partials: the playground of a hosted listing (reached from the listing
page by hx-get), the buyer's usage page, and the creator's inference revenue (reached from the
creator dashboard by hx-get). Thin: the gateway runs the call, selectors read the log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from accounts.http import authenticated_user
from compute.forms import PlaygroundForm
from compute.models_gateway import Entitlement
from compute.selectors.playground import (
    PAD_MAX,
    PlaygroundModel,
    playground_free_left,
    playground_free_per_day,
    playground_model,
)
from compute.selectors.reputation import recent_calls_to_rate
from compute.selectors.usage import usage_summary
from compute.selectors.usage_pages import creator_inference_revenue, prepaid_credit, usage_daily
from compute.services.gateway import VIA_PLAYGROUND, GatewayError, InferenceResult, inference_run
from compute.services.settlement import log_drain
from compute.templatetags.inference import micro_usd
from core.forms import service_error_to_form
from core.types import HtmxHttpRequest
from marketplace.charts import Chart, Series
from marketplace.errors import NotFound
from marketplace.selectors.catalog import listing_get_public

USAGE_DAYS = 30
REVENUE_DAYS = 30


def _model(request: HtmxHttpRequest, slug: str) -> PlaygroundModel:
    viewer = request.user if request.user.is_authenticated else None
    try:
        listing = listing_get_public(slug=slug, viewer=viewer)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    model = playground_model(listing=listing)
    if model is None or not listing.is_published:
        raise Http404("This model is not hosted.")
    return model


def _flat_data(output: dict[str, Any]) -> list[Any]:
    data = output.get("data", [])
    flat: list[Any] = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        else:
            flat.append(item)
    return flat


def result_view(model: PlaygroundModel, result: InferenceResult) -> dict[str, Any]:
    """What the result partial shows: each output's values, class probabilities as bars."""
    outputs = []
    for index, output in enumerate(result.outputs):
        values = _flat_data(output)
        bars = []
        numeric = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if index == 0 and model.labels and len(numeric) == len(values) == len(model.labels):
            top = max(numeric) if numeric else 0
            for label, value in zip(model.labels, numeric, strict=True):
                width = max(0, min(100, round(abs(value) * 100))) if abs(value) <= 1 else 100
                bars.append({"label": label, "value": f"{value:.4f}", "width": width, "top": value == top})
        outputs.append(
            {
                "name": output.get("name", ""),
                "datatype": output.get("datatype", ""),
                "values": ", ".join(str(v) for v in values[:64]),
                "bars": bars,
            }
        )
    return {"outputs": outputs, "result": result, "entitlement_label": Entitlement(result.entitlement).label}


@require_GET
def playground(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The playground partial of a hosted listing (the listing page loads it by hx-get)."""
    model = _model(request, slug)
    context: dict[str, Any] = {"model": model, "pad_range": range(PAD_MAX + 1)}
    if request.user.is_authenticated:
        context["free_left"] = playground_free_left(user=authenticated_user(request), listing=model.listing)
        context["free_per_day"] = playground_free_per_day()
    else:
        listing_url = reverse("marketplace:listing", args=[model.listing.slug])
        context["login_url"] = f"{reverse('account_login')}?{urlencode({'next': listing_url})}"
    return render(request, "compute/playground.html", context)


@require_POST
def playground_run(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Run the model once through the gateway (via="playground": the browser session's
    entitlement, then the free allowance) and answer the result partial. A refusal is put on the
    form (core.forms.service_error_to_form): beside the tensor it names, else at the form's top;
    the partial swaps those places out of band."""
    model = _model(request, slug)
    if not request.user.is_authenticated:
        return render(request, "compute/_playground_result.html", {"signed_out": True}, status=200)
    user = authenticated_user(request)
    form = PlaygroundForm(request.POST, model=model)
    context: dict[str, Any] = {"model": model, "form": form, "error_code": "validation_error"}
    if form.is_valid():
        try:
            result = inference_run(
                user=user, listing_slug=model.listing.slug, body=form.cleaned_data["body"], via=VIA_PLAYGROUND
            )
        except GatewayError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {}
            tensor = detail.get("tensor")
            # The message is the person's; the detail (the tensor's name, the plans) is context.
            service_error_to_form(
                form, exc, beside="message", default_field=form.field_name(tensor) if tensor else None
            )
            context |= {"error_code": exc.code, "plans": detail.get("plans", [])}
        else:
            context |= result_view(model, result)
    context["free_left"] = playground_free_left(user=user, listing=model.listing)
    context["free_per_day"] = playground_free_per_day()
    # htmx swaps 2xx answers only: a refusal is content here, its code in data-error-code.
    return render(request, "compute/_playground_result.html", context)


def usage_charts(days: list[Any]) -> tuple[Chart, Chart]:
    labels = [f"{point.day.day} {point.day:%b}" for point in days]
    calls = Chart(
        chart_id="usage-calls-svg",
        title=f"Calls per day, last {len(days)} days",
        description=f"Served calls per day (bars): {sum(p.calls for p in days)} in all.",
        labels=labels,
        series=[Series(name="Calls", values=[p.calls for p in days], kind="bar")],
        format_value=lambda value: f"{value:,}",
        label_heading="Day",
    )
    spend = Chart(
        chart_id="usage-spend-svg",
        title=f"Spend per day, last {len(days)} days",
        description=(
            "What the calls cost per day in US dollars (line): "
            f"{micro_usd(sum(p.spend_micro for p in days))} in all."
        ),
        labels=labels,
        series=[Series(name="Spend", values=[p.spend_micro for p in days], kind="line", color="#059669")],
        format_value=micro_usd,
        label_heading="Day",
    )
    return calls, spend


@login_required
@require_GET
def usage_page(request: HtmxHttpRequest) -> HttpResponse:
    user = authenticated_user(request)
    log_drain()  # as the usage API: the calls just made are counted (the stream is stored first)
    days = usage_daily(user=user, days=USAGE_DAYS)
    calls_chart, spend_chart = usage_charts(days)
    return render(
        request,
        "compute/usage.html",
        {
            "summary": usage_summary(user=user),
            "credit": prepaid_credit(user=user),
            "days": days,
            "calls_chart": calls_chart,
            "spend_chart": spend_chart,
            "usage_days": USAGE_DAYS,
            "recent_calls": recent_calls_to_rate(user=user, now=timezone.now()),
        },
    )


@login_required
@require_GET
def creator_inference_revenue_partial(request: HtmxHttpRequest) -> HttpResponse:
    """The creator dashboard's "Inference revenue" section (loaded by hx-get)."""
    log_drain()
    rows = creator_inference_revenue(creator=authenticated_user(request), days=REVENUE_DAYS)
    return render(request, "compute/_creator_inference_revenue.html", {"rows": rows, "days": REVENUE_DAYS})


urlpatterns: list[URLPattern] = [
    path("compute/playground/<slug:slug>/", playground, name="playground"),
    path("compute/playground/<slug:slug>/run", playground_run, name="playground-run"),
    path("usage/", usage_page, name="usage"),
    path(
        "compute/creator/inference-revenue/",
        creator_inference_revenue_partial,
        name="creator-inference-revenue",
    ),
]
