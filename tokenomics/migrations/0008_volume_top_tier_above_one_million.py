"""SPEC §3's top volume tier is "> $1M": a spend of exactly $1,000,000.00 stays at 15%. Databases
seeded with the old default (100_000_000 cents, reached *at* $1M) move to 100_000_001, recorded as
a change in the parameter's history; a value governed to anything else is left alone."""

from __future__ import annotations

from django.db import migrations
from django.utils import timezone

KEY = "discount.volume.tier4_threshold_cents"
OLD, NEW = 100_000_000, 100_000_001


def forwards(apps, schema_editor):
    Parameter = apps.get_model("tokenomics", "Parameter")
    ParameterChange = apps.get_model("tokenomics", "ParameterChange")
    parameter = Parameter.objects.filter(key=KEY, value=OLD).first()
    if parameter is None:
        return
    parameter.value = NEW
    parameter.description = "Monthly spend for the fourth volume tier (more than $1M)."
    parameter.save(update_fields=["value", "description"])
    ParameterChange.objects.create(
        parameter=parameter,
        old_value=OLD,
        new_value=NEW,
        reason='SPEC §3: the 20% tier is for spend of more than $1M ("> $1M")',
        changed_at=timezone.now(),
    )


class Migration(migrations.Migration):
    dependencies = [("tokenomics", "0007_metering_hold_account")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
