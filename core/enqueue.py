"""Queue a Celery task by its registered name once the current transaction commits.

Services never import task modules (tasks import services, so the reverse import is a cycle, and
import-linter forbids it): they name the task instead. A name registered in this process runs
through its own task object (so eager mode in tests and loaders still applies); an unknown name is
sent to the broker for whichever worker knows it.
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.db import transaction


def task_send(name: str, /, *args: Any, **kwargs: Any) -> None:
    """Queue the task registered as `name` now (the caller decides when: usually from an on_commit hook)."""
    task_send_after(0, name, *args, **kwargs)


def task_send_after(countdown: int, name: str, /, *args: Any, **kwargs: Any) -> None:
    """Queue the task registered as `name` to run `countdown` seconds from now (0: at once)."""
    app = current_app
    if name not in app.tasks:
        # A web process has not imported the apps' task modules (a worker does at start): load them
        # once, as the worker does, so a task this code base defines runs through its own object.
        app.loader.import_default_modules()
    app.signature(name, args=args, kwargs=kwargs).apply_async(countdown=countdown or None)


def task_on_commit(name: str, /, *args: Any, **kwargs: Any) -> None:
    """Queue the task `name` after the current transaction commits (at once outside a transaction;
    dropped if it rolls back). Robust: the committed work stands if the broker cannot be reached;
    each caller's periodic sweep picks up what was not queued."""

    def enqueue_task() -> None:  # named: Django logs a robust hook's __qualname__
        task_send(name, *args, **kwargs)

    transaction.on_commit(enqueue_task, robust=True)
