from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_parameters(sender: AppConfig, **kwargs: Any) -> None:
    from django.db import connections

    from tokenomics.models import Parameter
    from tokenomics.services.parameters import parameters_sync

    using = kwargs.get("using", "default")
    # `migrate tokenomics zero` also ends with post_migrate, with the tables gone.
    if Parameter._meta.db_table in connections[using].introspection.table_names():
        parameters_sync()


class TokenomicsConfig(AppConfig):
    name = "tokenomics"
    verbose_name = "Tokenomics"

    def ready(self) -> None:
        from tokenomics.selectors.epochs import EPOCH_PREFIX, epoch_reference_info
        from tokenomics.selectors.history import history_resolver_register

        history_resolver_register(EPOCH_PREFIX, epoch_reference_info)
        post_migrate.connect(_sync_parameters, sender=self, dispatch_uid="tokenomics.parameters_sync")
