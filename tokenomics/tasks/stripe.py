"""Celery tasks of the Stripe rail: event processing and reconciliation."""

from __future__ import annotations
