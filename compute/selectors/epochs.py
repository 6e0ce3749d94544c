"""What compute tells the revenue-distribution epochs: the providers' and the integrations' weights.

Registered with tokenomics (compute.apps) as the weights of two shares of each epoch's pool, from the
gateway's request log (`compute.selectors.usage`):
- **providers**: the calls each provider served successfully in `[start, end)` (volume served),
  times the provider's reward multiplier in bps (SPEC §6: 1.2x for a p50 under 100 ms, up to 1.5x
  for quality from the trust score, a bonus above 99.5% uptime; `compute.selectors.reputation`).
  So two providers that served as much receive shares in the ratio of their multipliers, and the
  epoch still distributes exactly its pool and emission (tokenomics splits the weights);
- **integrations**: the calls that carried a registered integration's id in the
  `Agora-Integration` header, credited to the developer who registered it (unknown ids count for
  nobody).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from accounts.selectors import integrations_by_public_id
from compute.selectors.reputation import reward_multiplier
from compute.selectors.usage import calls_by_integration, calls_by_provider


def provider_weights(start: datetime, end: datetime) -> dict[int, int]:
    """{provider user id: calls served x reward multiplier (bps)} in `[start, end)`."""
    return {
        provider_id: calls * reward_multiplier(provider_id=provider_id, start=start, end=end).total_bps
        for provider_id, calls in calls_by_provider(start, end).items()
    }


def integration_developer_weights(start: datetime, end: datetime) -> dict[int, int]:
    """{developer user id: calls their integrations brought} in `[start, end)`."""
    calls = calls_by_integration(start, end)
    known = integrations_by_public_id(calls)
    weights: dict[int, int] = defaultdict(int)
    for public_id, count in calls.items():
        integration = known.get(public_id)
        if integration is not None:
            weights[integration.owner_id] += count
    return dict(weights)
