"""The parameter registry: every economic number of SPEC.md, with bounds and full history."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

from core.fields import WideIntegerField
from core.models import BaseModel


class ParameterUnit(models.TextChoices):
    BPS = "bps", "basis points (1/100 of a percent)"
    USD_CENTS = "usd_cents", "US cents"
    MICRO_USD = "micro_usd", "millionths of a US dollar"
    AGR_BASE_UNITS = "agr_base_units", "AGR base units (10^-18 AGR)"
    SECONDS = "seconds", "seconds"
    MILLISECONDS = "milliseconds", "milliseconds"
    COUNT = "count", "count"
    SCORE = "score", "score points"
    BYTES = "bytes", "bytes"


class Parameter(BaseModel):
    """One governable number. All values are integers in `unit`; rates are basis points."""

    key = models.CharField(max_length=80, unique=True)
    category = models.CharField(max_length=40, db_index=True)
    value = WideIntegerField()
    unit = models.CharField(max_length=20, choices=ParameterUnit.choices)
    min_value = WideIntegerField()
    max_value = WideIntegerField()
    description = models.TextField()

    Unit: ClassVar[type[ParameterUnit]] = ParameterUnit

    class Meta:
        ordering: ClassVar = ["category", "key"]

    def __str__(self) -> str:
        return f"{self.key} = {self.value} {self.unit}"


class ParameterChange(models.Model):
    """Append-only history: one row per value the parameter ever held, the first included."""

    parameter = models.ForeignKey(Parameter, on_delete=models.PROTECT, related_name="changes")
    old_value = WideIntegerField(null=True, blank=True)  # None for the initial default
    new_value = WideIntegerField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The governance proposal that changed it, as "proposal:<id>"; a string so that tokenomics
    # does not import governance (ARCHITECTURE.md).
    proposal_ref = models.CharField(max_length=80, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    emergency = models.BooleanField(default=False)
    changed_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering: ClassVar = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.parameter_id}: {self.old_value} → {self.new_value}"
