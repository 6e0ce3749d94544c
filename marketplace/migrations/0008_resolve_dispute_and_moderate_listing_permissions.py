"""Staff permissions for money and moderation actions (issue 13 item 3)."""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0007_listing_min_price_unit"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="dispute",
            options={
                "permissions": [("resolve_dispute", "Can resolve disputes (refunds or releases the money)")]
            },
        ),
        migrations.AlterModelOptions(
            name="listing",
            options={
                "permissions": [
                    (
                        "moderate_listing",
                        "Can suspend, take down, restore and set the quality tier of listings",
                    )
                ]
            },
        ),
    ]
