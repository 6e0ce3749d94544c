from __future__ import annotations

from django.conf import settings
from django.db import migrations


def name_the_site(apps, schema_editor):
    # allauth's emails say "Hello from <site name>"; the default would be example.com.
    Site = apps.get_model("sites", "Site")
    Site.objects.update_or_create(id=settings.SITE_ID, defaults={"domain": settings.SITE_DOMAIN, "name": "Agora"})


class Migration(migrations.Migration):
    dependencies = [("sites", "0002_alter_domain_unique")]

    operations = [migrations.RunPython(name_the_site, migrations.RunPython.noop)]
