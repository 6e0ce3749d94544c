from __future__ import annotations

from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = "Marketplace"

    def ready(self) -> None:
        from marketplace.services.featured import register_featured_payment_handler
        from marketplace.services.orders import register_payment_handlers
        from marketplace.services.subscriptions import register_card_renewal_handlers

        register_payment_handlers()
        register_card_renewal_handlers()
        register_featured_payment_handler()
