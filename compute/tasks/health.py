"""Celery task of the node health probe: one service call."""

from __future__ import annotations

from celery import shared_task

from compute.services.health import nodes_probe_all


@shared_task(name="compute.probe_nodes", acks_late=True, expires=10)
def probe_nodes() -> dict[str, int]:
    """Probe every node (live, ready, each model) and move routing's counters into the history."""
    return nodes_probe_all()
