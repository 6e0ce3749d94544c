"""The provider console (/provider/): the calls each of the signed-in provider's nodes served in
the last 24 hours with their latency p50/p99 as the gateway measured them (the card polls itself
with htmx, so it stays live), and the provider's earnings (the provider payable balance).

Node health, names and URLs come from compute's node registry, which is not on this branch yet;
until it is merged the console shows each node by id from the request log, and the empty state
says how to register one."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.http import authenticated_user
from compute.selectors.nodes import node_list, stats_for
from compute.selectors.provider_console import (
    STATS_WINDOW,
    provider_earnings_by_source,
    provider_node_call_stats,
)
from compute.selectors.reputation import percent_text, trust_current, trust_history, trust_part_rows
from compute.selectors.sla import provider_slashes
from compute.services.sla import slash_appeal_create
from core.charts import Chart, Series
from core.exceptions import ApplicationError
from core.types import HtmxHttpRequest
from tokenomics.errors import PermissionDenied
from tokenomics.selectors.ledger import user_balances
from tokenomics.selectors.parameters import parameters_get
from tokenomics.selectors.staking import position

# How often the nodes card refreshes itself (the health probe runs at least every 10 s).
POLL_SECONDS = 5
NODES_TARGET = "provider-nodes"


@login_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def provider_console(request: HtmxHttpRequest) -> HttpResponse:
    user = authenticated_user(request)
    now = timezone.now()
    stats = provider_node_call_stats(provider=user, now=now)
    nodes = {node.pk: node for node in node_list(provider=user)}
    rows = []
    for node_id in sorted(set(nodes) | set(stats)):
        node = nodes.get(node_id)
        row: dict[str, Any] = {"node_id": node_id, "node": node, "served": 0, "p50_ms": None, "p99_ms": None}
        if node_id in stats:
            row.update(vars(stats[node_id]))
        if node is not None:
            row["uptime_24h"] = stats_for(node_ids=[node_id]).uptime_24h
        rows.append(row)
    context: dict[str, Any] = {
        "rows": rows,
        "now": now,
        "poll_seconds": POLL_SECONDS,
        "window_hours": int(STATS_WINDOW.total_seconds() // 3600),
    }
    if request.htmx and request.htmx.target == NODES_TARGET and not request.htmx.history_restore_request:
        return render(request, "compute/provider_console.html#nodes", context)
    context["balances"] = user_balances(user=user)
    context["earnings"] = provider_earnings_by_source(provider=user)
    context["stake"] = position(user, now=now)
    context.update(_slash_context(user, now))
    context.update(_trust_context(user))
    return render(request, "compute/provider_console.html", context)


def _slash_context(user: Any, now: Any) -> dict[str, Any]:
    params = parameters_get(
        ["slashing.min_uptime_bps", "slashing.latency_factor_bps", "slashing.appeal_window_seconds"]
    )
    return {
        "slashes": provider_slashes(provider=user, now=now),
        "min_uptime_pct": params["slashing.min_uptime_bps"] / 100,
        "latency_factor": params["slashing.latency_factor_bps"] / 10_000,
        "appeal_days": params["slashing.appeal_window_seconds"] // 86_400,
    }


def trust_chart(history: list[Any]) -> Chart:
    """The provider's daily trust scores as a line (imitates the usage page's charts)."""
    labels = [f"{snapshot.day.day} {snapshot.day:%b}" for snapshot in history]
    scores = [int(snapshot.score) for snapshot in history]
    return Chart(
        chart_id="trust-history-svg",
        title=f"Trust score, last {len(history)} days scored",
        description=(
            f"Daily trust score out of 1000 (line), from {scores[0]} to {scores[-1]}."
            if scores
            else "No trust score yet."
        ),
        labels=labels,
        series=[Series(name="Trust score", values=scores, kind="line", color="#4f46e5")],
        format_value=lambda value: f"{value:,}",
        label_heading="Day",
    )


def _trust_context(user: Any) -> dict[str, Any]:
    trust = trust_current(provider_id=user.pk)
    if trust is None:
        return {"trust": None}
    params = parameters_get(
        [
            "reputation.max_quality_multiplier_bps",
            "reputation.fast_multiplier_bps",
            "reputation.fast_p50_ms",
            "reputation.uptime_bonus_multiplier_bps",
            "reputation.uptime_bonus_threshold_bps",
        ]
    )
    return {
        "trust": trust,
        "trust_parts": trust_part_rows(trust),
        "trust_chart": trust_chart(trust_history(provider_id=user.pk)),
        "quality_max": _times(params["reputation.max_quality_multiplier_bps"]),
        "fast_multiplier": _times(params["reputation.fast_multiplier_bps"]),
        "fast_p50_ms": params["reputation.fast_p50_ms"],
        "uptime_multiplier": _times(params["reputation.uptime_bonus_multiplier_bps"]),
        "uptime_threshold": percent_text(params["reputation.uptime_bonus_threshold_bps"]),
    }


def _times(bps: int) -> str:
    """A multiplier in bps as "1.2", "1.25" (trailing zeros dropped)."""
    whole, rest = divmod(bps, 10_000)
    return f"{whole}.{rest:04d}".rstrip("0").rstrip(".")


@login_required
@require_POST
def provider_slash_appeal(request: HttpRequest, slash_id: int) -> HttpResponse:
    """The provider appeals one of their slashes (another's slash answers as not theirs)."""
    try:
        slash_appeal_create(
            provider=authenticated_user(request), slash_id=slash_id, text=request.POST.get("text", "")
        )
    except PermissionDenied as exc:  # not their slash: its existence is not revealed
        raise Http404("No such slash.") from exc
    except ApplicationError as exc:
        messages.error(request, str(exc))
        return redirect("compute:provider-console")
    messages.success(request, "Your appeal was sent; staff will decide it.")
    return redirect("compute:provider-console")


urlpatterns: list[URLPattern] = [
    path("provider/", provider_console, name="provider-console"),
    path("provider/slashes/<int:slash_id>/appeal", provider_slash_appeal, name="provider-slash-appeal"),
]
