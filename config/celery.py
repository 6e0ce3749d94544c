from __future__ import annotations

import os

from celery import Celery
from celery.signals import beat_init, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.django.local")

app = Celery("agora")
# Every Celery setting lives in config/settings/celery.py with the CELERY_ prefix.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _refuse_development_defaults(**kwargs: object) -> None:
    # A worker moves money (escrow releases, payouts): it refuses development defaults as the web does.
    from django.conf import settings

    if settings.AGORA_REFUSE_DEVELOPMENT_DEFAULTS:
        from core.checks import refuse_development_defaults

        refuse_development_defaults()


worker_init.connect(_refuse_development_defaults, weak=False)
beat_init.connect(_refuse_development_defaults, weak=False)
