"""Celery tasks of the AGR rail: Transfer-log scans and payout broadcasts."""

from __future__ import annotations
