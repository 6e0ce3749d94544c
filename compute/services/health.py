"""The health probe: every node, every 10 seconds (compute.tasks.health, Celery beat).

One probe asks Triton whether it is live and ready and whether each served model is ready; the
result is written on the node (what routing reads), counted in the node's minute, and an ejected
node whose cool-down has passed is let back only when this probe passed. The probe also moves the
minute counters routing kept in Redis into `NodeMinute` rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from compute import node_state
from compute.models_nodes import LATENCY_BUCKETS_MS, Node, NodeMinute, NodeVersion
from compute.services.routing import PROBE_PERIOD_SECONDS, candidates_forget
from compute.triton_client import TritonError, model_ready, server_live, server_ready

PROBE_TIMEOUT_S = min(3.0, PROBE_PERIOD_SECONDS / 3)


@dataclass(frozen=True)
class ProbeResult:
    node_id: int
    ok: bool
    error: str
    models_ready: dict[int, bool]  # NodeVersion pk -> ready


def node_probe(node: Node) -> ProbeResult:
    """Probe one node (no writes)."""
    served = list(node.served.all())
    try:
        if not server_live(node.triton_url, timeout_s=PROBE_TIMEOUT_S):
            return ProbeResult(node.pk, False, "not live", {s.pk: False for s in served})
        if not server_ready(node.triton_url, timeout_s=PROBE_TIMEOUT_S):
            return ProbeResult(node.pk, False, "not ready", {s.pk: False for s in served})
        ready = {s.pk: model_ready(node.triton_url, s.model_name, timeout_s=PROBE_TIMEOUT_S) for s in served}
    except TritonError as exc:
        return ProbeResult(
            node.pk, False, f"{type(exc).__name__}: {exc}"[:300], {s.pk: False for s in served}
        )
    ok = all(ready.values()) if ready else True
    return ProbeResult(node.pk, ok, "" if ok else "a served model is not ready", ready)


def _minute_add(node_id: int, minute: datetime, **counts: int) -> None:
    row, _ = NodeMinute.objects.get_or_create(node_id=node_id, minute=minute)
    updates = {field: F(field) + value for field, value in counts.items() if field != "histogram" and value}
    if updates:
        NodeMinute.objects.filter(pk=row.pk).update(**updates)


def _drain_calls(node_id: int) -> None:
    for epoch, counts in node_state.minutes_drain(node_id).items():
        minute = datetime.fromtimestamp(epoch, tz=UTC)
        with transaction.atomic():
            row, _ = NodeMinute.objects.select_for_update().get_or_create(node_id=node_id, minute=minute)
            histogram = list(row.latency_histogram) or [0] * (len(LATENCY_BUCKETS_MS) + 1)
            for index in range(len(histogram)):
                histogram[index] += counts.get(f"b{index}", 0)
            row.calls_ok += counts.get("ok", 0)
            row.calls_failed += counts.get("failed", 0)
            row.latency_histogram = histogram
            row.save(update_fields=["calls_ok", "calls_failed", "latency_histogram"])


def nodes_probe_all() -> dict[str, int]:
    """Probe every active node once; returns counts of healthy and unhealthy nodes."""
    now = timezone.now()
    minute = now.replace(second=0, microsecond=0)
    healthy = unhealthy = 0
    for node in Node.objects.filter(is_active=True).prefetch_related("served"):
        result = node_probe(node)
        Node.objects.filter(pk=node.pk).update(healthy=result.ok, last_probe_at=now, last_error=result.error)
        for served_id, ready in result.models_ready.items():
            NodeVersion.objects.filter(pk=served_id).exclude(ready=ready).update(ready=ready)
        _minute_add(node.pk, minute, probes=1, probes_ok=1 if result.ok else 0)
        node_state.readmit_if_due(node.pk, probe_ok=result.ok)
        _drain_calls(node.pk)
        healthy += result.ok
        unhealthy += not result.ok
    candidates_forget()
    return {"healthy": healthy, "unhealthy": unhealthy}
