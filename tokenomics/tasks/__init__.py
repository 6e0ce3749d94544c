"""Celery tasks of the money app, one module per concern; imported here so autodiscovery finds them."""

from __future__ import annotations

from tokenomics.tasks import chain, epochs, escrow, payouts, staking, stripe

__all__ = ["chain", "epochs", "escrow", "payouts", "staking", "stripe"]
