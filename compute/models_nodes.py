"""Providers' Triton nodes, the listing versions each serves, and their compact health history."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import BaseModel


class Node(BaseModel):
    """A provider's Triton server. Deleting one deregisters it (`is_active` False): the request log
    keeps pointing at it."""

    provider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="nodes")
    name = models.CharField(max_length=120)
    triton_url = models.CharField(max_length=300)  # http(s)://host:port of Triton's HTTP endpoint
    grpc_url = models.CharField(max_length=300, blank=True)
    gpu = models.CharField(max_length=120, blank=True)
    region = models.CharField(max_length=64, blank=True)
    advertised_latency_ms = models.PositiveIntegerField(default=100)
    is_active = models.BooleanField(default=True)
    # Written by the health probe (compute.services.health) only.
    healthy = models.BooleanField(default=False)
    last_probe_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["provider", "triton_url"],
                condition=Q(is_active=True),
                name="compute_node_url_per_provider",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.triton_url})"


class NodeVersion(models.Model):
    """A listing version a node serves, under the Triton model name the version declares."""

    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="served")
    version = models.ForeignKey("marketplace.ListingVersion", on_delete=models.PROTECT, related_name="+")
    model_name = models.CharField(max_length=120)
    ready = models.BooleanField(default=False)  # the model's last readiness probe

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["node", "version"], name="compute_node_version_once")
        ]

    def __str__(self) -> str:
        return f"node {self.node_id} serves version {self.version_id} as {self.model_name}"


# Upper bounds (ms) of the latency histogram's buckets; the last bucket is everything above.
LATENCY_BUCKETS_MS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)


class NodeMinute(models.Model):
    """One node's minute: probes passed / made, calls served / failed by the node's fault, and a
    latency histogram of the served calls. Uptime and percentiles over 24 h / 30 d add these up
    (43,200 rows a node a month at most), instead of a row per probe or per call."""

    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="minutes")
    minute = models.DateTimeField()
    probes_ok = models.PositiveIntegerField(default=0)
    probes = models.PositiveIntegerField(default=0)
    calls_ok = models.PositiveIntegerField(default=0)
    calls_failed = models.PositiveIntegerField(default=0)
    latency_histogram = models.JSONField(default=list)  # counts per LATENCY_BUCKETS_MS bucket (+1)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["node", "minute"], name="compute_node_minute_once")
        ]
        indexes: ClassVar = [models.Index(fields=["minute"], name="compute_nodeminute_minute")]

    def __str__(self) -> str:
        return f"node {self.node_id} at {self.minute:%Y-%m-%d %H:%M}"
