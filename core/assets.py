"""The assets money is counted in: the vocabulary shared by the ledger's models and every API's
money object (`core.api.MoneySerializer`). Amounts are integers in each asset's minor unit."""

from __future__ import annotations

from django.db import models


class Asset(models.TextChoices):
    USD = "USD", "US dollar (cents)"
    AGR = "AGR", "AGR token (base units, 10^-18)"
