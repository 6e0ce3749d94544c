"""What compute tells the revenue-distribution epochs: the providers' and the integrations' weights.

Registered with tokenomics (compute.apps) as the weights of two shares of each epoch's pool, from the
gateway's request log (`compute.selectors.usage`):
- **providers**: the calls each provider served successfully in `[start, end)` (volume served).
  SPEC §4 weighs uptime too; the node registry's uptime record is the provider-economy issue's, and
  multiplies in here when it exists (TODO(provider): uptime x volume);
- **integrations**: the calls that carried a registered integration's id in the
  `Agora-Integration` header, credited to the developer who registered it (unknown ids count for
  nobody).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from accounts.selectors import integrations_by_public_id
from compute.selectors.usage import calls_by_integration, calls_by_provider


def provider_weights(start: datetime, end: datetime) -> dict[int, int]:
    """{provider user id: calls served} in `[start, end)`."""
    return calls_by_provider(start, end)


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
