"""A creator's lifetime net sales as running totals, so the tier is read, not recomputed."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.fields import WideIntegerField


class CreatorSales(models.Model):
    """Lifetime net sales per asset (released gross less clawbacks), in minor units.

    Written only by the escrow service, under this row's lock, in the same transaction as the sale
    or clawback it counts: releases of one creator queue on this row (and only on it), so the tier a
    release is split at always includes every release before it, even when many run at once.
    `ledger_check` verifies the totals against the ledger's SALE and SALE_CLAWBACK entries.
    """

    creator = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.PROTECT, related_name="+"
    )
    net_usd = WideIntegerField(default=0)  # US cents
    net_agr = WideIntegerField(default=0)  # AGR base units
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"sales of user {self.creator_id}: {self.net_usd} USD cents, {self.net_agr} AGR units"
