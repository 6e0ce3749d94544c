"""Staff permissions for money and moderation actions (issue 13 item 3)."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tokenomics", "0005_payouts"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="payout",
            options={
                "ordering": ("-created_at", "-id"),
                "permissions": [("settle_payout", "Can approve, cancel and settle payouts")],
            },
        ),
        migrations.AddField(
            model_name="payout",
            name="reviewed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
