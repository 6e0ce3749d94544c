"""Stripe settings (filled in by the Stripe rail)."""

from __future__ import annotations
