"""The creator dashboard: earnings over time (server-drawn chart, range and asset switched by htmx),
revenue and conversion per listing, tier progress, payable balances and payouts, and reviews."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from accounts.http import authenticated_user
from accounts.models import User
from core.charts import Chart, Series
from core.types import HtmxHttpRequest
from marketplace.selectors.dashboard import (
    EarningsSeries,
    conversion,
    creator_has_listings,
    earnings_series,
    per_listing_revenue,
    recent_reviews,
    tier_progress,
)
from tokenomics.models import Asset
from tokenomics.money import format_amount
from tokenomics.selectors.epochs import epoch_shares_for_user
from tokenomics.selectors.ledger import user_balances

# The range switch: query value -> (days, label).
RANGES: dict[str, tuple[int, str]] = {
    "30d": (30, "30 days"),
    "90d": (90, "90 days"),
    "12m": (365, "12 months"),
}
DEFAULT_RANGE = "30d"
CONVERSION_DAYS = 30
# The htmx target of the range and asset switches; the response is then the chart partial alone.
CHART_TARGET = "earnings-chart"


def earnings_chart(series: EarningsSeries, *, range_label: str) -> Chart:
    """The dashboard's chart of a series: gross sales as bars, the creator's earnings as a line."""
    weekly = series.interval == "week"
    labels = [f"{point.start.day} {point.start:%b}" for point in series.points]
    asset_name = "US dollars" if series.asset == Asset.USD else "AGR"
    return Chart(
        chart_id=CHART_TARGET + "-svg",
        title=f"Sales and earnings in {series.asset}, last {range_label}",
        description=(
            f"{'Weekly' if weekly else 'Daily'} gross sales (bars) and your earnings (line) in {asset_name}: "
            f"{format_amount(amount=series.gross, asset=series.asset)} gross, "
            f"{format_amount(amount=series.earnings, asset=series.asset)} earned."
        ),
        labels=labels,
        series=[
            Series(name="Gross sales", values=[p.gross for p in series.points], kind="bar"),
            Series(name="Your earnings", values=[p.earnings for p in series.points], kind="line"),
        ],
        format_value=lambda amount: format_amount(amount=amount, asset=series.asset),
        label_heading="Week starting" if weekly else "Day",
    )


def _chart_context(user: User, *, range_key: str, asset: str) -> dict[str, Any]:
    days, label = RANGES[range_key]
    series = earnings_series(creator=user, asset=asset, days=days)
    return {
        "range_key": range_key,
        "range_label": label,
        "ranges": [(key, text) for key, (_, text) in RANGES.items()],
        "asset": asset,
        "assets": Asset.values,
        "series": series,
        "chart": earnings_chart(series, range_label=label),
    }


@login_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def creator_dashboard(request: HtmxHttpRequest) -> HttpResponse:
    user = authenticated_user(request)
    # Unknown values show the defaults, like the wallet's asset tabs, rather than an error page.
    range_key = request.GET.get("range", DEFAULT_RANGE)
    if range_key not in RANGES:
        range_key = DEFAULT_RANGE
    asset = request.GET.get("asset", Asset.USD)
    if asset not in Asset.values:
        asset = Asset.USD
    context = _chart_context(user, range_key=range_key, asset=asset)
    if request.htmx and request.htmx.target == CHART_TARGET and not request.htmx.history_restore_request:
        return render(request, "marketplace/dashboard.html#chart", context)
    context |= {
        "has_listings": creator_has_listings(creator=user),
        "balances": user_balances(user=user),
        "tier": tier_progress(creator=user),
        "revenue": per_listing_revenue(creator=user),
        "conversion": conversion(creator=user, days=CONVERSION_DAYS),
        "awaiting_reply": recent_reviews(creator=user, awaiting_reply=True),
        "recent_reviews": recent_reviews(creator=user, limit=5),
        "epoch_shares": epoch_shares_for_user(user=user, limit=6),
    }
    return render(request, "marketplace/dashboard.html", context)


urlpatterns: list[URLPattern] = [path("creator/", creator_dashboard, name="creator-dashboard")]
