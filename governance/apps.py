"""Proposals, votes, delegation, tallies and timelocked execution of parameter changes."""

from __future__ import annotations

from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance"

    def ready(self) -> None:
        from governance.selectors import votes_cast_between
        from tokenomics.services.distribution_weights import distribution_weights_register

        # The community share of each revenue epoch goes to holders by participation: votes cast
        # in the epoch (one per proposal voted on, first cast time in [start, end)).
        distribution_weights_register("community", votes_cast_between)
