from __future__ import annotations

from django.apps import AppConfig


class ComputeConfig(AppConfig):
    name = "compute"
    verbose_name = "Compute"

    def ready(self) -> None:
        # A subscription period's compute fees are paid from its escrow on release (SPEC §4).
        from compute.selectors.epochs import integration_developer_weights, provider_weights
        from compute.services.subscription_fees import subscription_compute_fees
        from tokenomics.services.distribution_weights import distribution_weights_register
        from tokenomics.services.escrow import escrow_release_deductions_register

        escrow_release_deductions_register(subscription_compute_fees)
        # Revenue-distribution epochs: providers by volume served, integrations by traffic brought.
        distribution_weights_register("providers", provider_weights)
        distribution_weights_register("integrations", integration_developer_weights)
