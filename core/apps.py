from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created


def _register_sqlite_functions(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        from core.fields import SqliteWideSum

        connection.connection.create_aggregate("agora_wide_sum", 1, SqliteWideSum)


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from core import checks  # noqa: F401  (registers the deployment checks)

        connection_created.connect(_register_sqlite_functions, dispatch_uid="core.sqlite_functions")
        # Registers the checks that refuse development defaults in production.
