"""Who receives each share of a revenue-distribution epoch: weights registered by the apps that know.

The platform-revenue pool of an epoch is divided into four shares (SPEC §4, `distribution.*_bps`):
providers (uptime and volume served: compute knows), creators (demand for their models: marketplace
knows), integrations (API traffic a developer's integration brought: compute's request log knows)
and community (governance participation: governance knows). tokenomics may import none of those
apps (ARCHITECTURE.md), so each registers a weight function for its share from its
AppConfig.ready(), as payment purposes register handlers (`tokenomics.services.payments`):

    distribution_weights_register("creators", creator_weights)

A weight function is called with the epoch's bounds `[start, end)` (aware datetimes) and answers
`{user_id: weight}`: non-negative integers in any unit the app likes (calls, cents, seconds times
calls); only their ratios matter. A share whose app has registered nothing, or whose function
answers no positive weight, has no recipients this epoch: see `tokenomics.services.epochs` for
where its money goes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from tokenomics.models.epochs import Share as Share  # re-exported: the registry is keyed by it
from tokenomics.money import require_int

# The registry parameter holding each share's rate (bps of the pool).
SHARE_PARAMETER: dict[Share, str] = {
    Share.PROVIDERS: "distribution.providers_bps",
    Share.CREATORS: "distribution.creators_bps",
    Share.INTEGRATIONS: "distribution.developers_bps",
    Share.COMMUNITY: "distribution.community_bps",
}

WeightsFn = Callable[[datetime, datetime], Mapping[int, int]]
_weights: dict[Share, WeightsFn] = {}


def distribution_weights_register(share: str, fn: WeightsFn) -> None:
    """Let `fn(start, end) -> {user_id: weight}` decide who receives `share` (providers, creators,
    integrations or community) of each epoch. Called from an AppConfig.ready(); registering a share
    again replaces its function."""
    _weights[Share(share)] = fn


def distribution_weights_registered(share: str) -> bool:
    """Whether an app has registered the weights of `share`."""
    return Share(share) in _weights


def distribution_weights(share: str, start: datetime, end: datetime) -> dict[int, int]:
    """The positive weights of `share` for the epoch `[start, end)`, by user id, in user-id order;
    empty when nothing is registered. Raises TypeError/ValueError when a registered function answers
    something other than integer user ids to non-negative integer weights."""
    fn = _weights.get(Share(share))
    if fn is None:
        return {}
    weights: dict[int, int] = {}
    for user_id, weight in fn(start, end).items():
        require_int(f"{share} weight's user id", user_id)
        if require_int(f"{share} weight of user {user_id}", weight) < 0:
            raise ValueError(f"{share} weight of user {user_id} is negative: {weight}")
        if weight:
            weights[user_id] = weight
    return dict(sorted(weights.items()))
