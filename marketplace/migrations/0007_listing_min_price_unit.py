# Listing.min_price_unit: what the catalog card's "from $x" buys, backfilled from each listing's
# cheapest active plan (the same rule as marketplace.services.listings.listing_pricing_refresh).

from __future__ import annotations

from django.db import migrations, models

# Frozen copy of marketplace.models.catalog.price_unit: a migration must not import app code.
UNITS = {"per_inference": "per_1000_calls", "one_time": "one_time"}


def backfill(apps, schema_editor):  # type: ignore[no-untyped-def]
    Listing = apps.get_model("marketplace", "Listing")
    Plan = apps.get_model("marketplace", "Plan")
    for listing_id in Listing.objects.values_list("pk", flat=True):
        cheapest = (
            Plan.objects.filter(listing_id=listing_id, is_active=True)
            .order_by("price_cents", "position", "pk")
            .values("kind", "interval")
            .first()
        )
        if cheapest is None:
            continue
        unit = UNITS.get(cheapest["kind"]) or ("year" if cheapest["interval"] == "year" else "month")
        Listing.objects.filter(pk=listing_id).update(min_price_unit=unit)


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0006_search_category_task_and_sqlite_fulltext"),
    ]

    operations = [
        migrations.AddField(
            model_name="listing",
            name="min_price_unit",
            field=models.CharField(
                blank=True,
                choices=[
                    ("one_time", "one-time"),
                    ("month", "/ month"),
                    ("year", "/ year"),
                    ("per_1000_calls", "/ 1,000 calls"),
                ],
                max_length=16,
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
