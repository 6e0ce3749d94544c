"""Every periodic task in the beat schedule names a task Celery actually has."""

from __future__ import annotations

from django.conf import settings

from config.celery import app


def test_every_beat_entry_names_a_registered_task() -> None:
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled, "the beat schedule is empty"
    assert scheduled <= set(app.tasks), sorted(scheduled - set(app.tasks))
