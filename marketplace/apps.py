from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = "Marketplace"

    def ready(self) -> None:
        from marketplace.selectors.epochs import creator_demand_weights
        from marketplace.selectors.history import ORDER_PREFIX, order_reference_info
        from marketplace.services.featured import register_featured_payment_handler
        from marketplace.services.orders import register_payment_handlers
        from marketplace.services.subscriptions import register_card_renewal_handlers
        from tokenomics.selectors.history import history_resolver_register
        from tokenomics.services.distribution_weights import distribution_weights_register

        register_payment_handlers()
        register_card_renewal_handlers()
        register_featured_payment_handler()
        history_resolver_register(ORDER_PREFIX, order_reference_info)
        distribution_weights_register("creators", creator_demand_weights)
        # A flush ends with post_migrate: SQLite's full-text tables drop the rows it left behind.
        post_migrate.connect(_prune_fulltext, sender=self)


def _prune_fulltext(sender: AppConfig, using: str, **kwargs: Any) -> None:
    from marketplace.services.search import fulltext_prune

    fulltext_prune(using=using)
