from __future__ import annotations

from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = "Marketplace"

    def ready(self) -> None:
        from marketplace.selectors.history import ORDER_PREFIX, order_reference_info
        from marketplace.services.orders import register_payment_handlers
        from tokenomics.selectors.history import history_resolver_register

        register_payment_handlers()
        history_resolver_register(ORDER_PREFIX, order_reference_info)
