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
        from tokenomics.services.split_legs import escrow_release_deductions_register

        escrow_release_deductions_register(subscription_compute_fees)

        # Passive ejections are counted on /metrics (routing knows nothing of Prometheus).
        from compute.services import routing

        routing.ejection_observers.append(_count_ejection)
        routing.retry_observers.append(_count_retry)

        # The provider economy: stake gates and tier preference in routing, tier fee discounts.
        from compute.services import provider_tiers

        provider_tiers.register()

        # Revenue-distribution epochs: providers by volume served, integrations by traffic brought.
        distribution_weights_register("providers", provider_weights)
        distribution_weights_register("integrations", integration_developer_weights)


def _count_ejection(node_id: int) -> None:
    from compute import metrics

    metrics.ejection_observed(node_id=node_id)


def _count_retry(version: object, reason: str) -> None:
    from compute import metrics

    listing = getattr(getattr(version, "listing", None), "slug", "") or str(
        getattr(version, "listing_id", "")
    )
    metrics.retry_observed(listing=listing, reason=reason)
