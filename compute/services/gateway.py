"""The metered inference gateway: one call from a buyer to a provider's Triton and back, billed.

`inference_run` is the only entry (the API view, the KServe v2 views and the playground all call
it). Order of work (issue 17 item 6):

1. the caller authenticated (the view: an API key with the `inference` scope, or a browser session
   for `via="playground"`);
2. entitlement, first match wins: an active subscription with quota left → prepaid USD credit and
   a per-inference plan → the playground allowance (browser session only) → `402 license_required`
   naming the plans that would allow the call. Quota and allowance are Redis counters taken
   atomically *before* the call and given back if it fails, so they cut off exactly at the limit;
   prepaid credit is drawn from a Redis reservation the same way (see `compute.services.metering`);
   rate limits per plan tier (`core.throttling.rate_limit_hit`);
3. validate inputs against the version's tensor spec (`400 validation_error` naming the tensor);
4. route and call (`compute.services.routing.route_infer`: retries, deadline, output validation);
5. meter: the request-log entry goes to a Redis stream; the settlement task bills it in batches;
6. respond.

A failed call costs nothing (its draw is given back) and a served call is charged exactly once
(its request id is the log row's unique key, settled in exactly one batch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from accounts.models import User
from core.exceptions import ApplicationError
from core.throttling import Rate

VIA_API = "api"
VIA_KSERVE = "kserve"
VIA_PLAYGROUND = "playground"
VIA_BATCH = "batch"  # an item of a batch job (compute.services.batch), run by a Celery worker
VIAS = (VIA_API, VIA_KSERVE, VIA_PLAYGROUND, VIA_BATCH)


class GatewayError(ApplicationError):
    """A refusal or failure of a call, with its stable code, HTTP status and response headers
    (e.g. `Retry-After` on `429 rate_limited`). Rendered by core.api's error envelope; the views
    add `headers`."""

    def __init__(
        self,
        code: str,
        status: int,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, detail=detail)
        self.code = code
        self.status_code = status
        self.headers = headers or {}


@dataclass(frozen=True)
class InferenceResult:
    """What a served call answers (API.md "Inference")."""

    request_id: str  # UUID of the request-log row
    outputs: list[dict[str, Any]]  # KServe v2 output tensors as JSON
    node_id: int
    latency_ms: float  # the provider call (routing's measure), not the whole request
    charge_micro: (
        int  # micro-USD charged for this call (0 under a subscription's creator part or the playground)
    )
    entitlement: str  # compute.models_gateway.Entitlement
    quota_left: int | None  # subscription calls left this period (None: unlimited or not a subscription)
    free_left: int | None  # playground calls left today (playground only)
    model_name: str = ""  # the listing slug, as KServe v2 answers `model_name`
    model_version: str = ""  # the version served
    attempts: int = 1
    headers: dict[str, str] = field(default_factory=dict)


def inference_run(
    *,
    user: User,
    listing_slug: str,
    body: Any,
    via: str,
    integration_id: str | None = None,
    request_id: str | None = None,
    batch_discount_bps: int = 0,
    api_limits: list[tuple[str, Rate]] | None = None,
) -> InferenceResult:
    """Run one inference for `user` on the listing `listing_slug`.

    `body` is the KServe v2 request body of API.md: `{"inputs": [...], "outputs": [...]?,
    "version": "1.2.0"?, "priority": bool?, "max_price": micro-USD?}` (`compute.services.quotes`).
    `via` is "api", "kserve" or "playground" (the playground allowance is only for "playground", a
    browser session). `integration_id` is the
    `Agora-Integration` header, recorded in the request log. `api_limits` are the API's
    per-address and per-key limits a view deferred (`core.throttling.DeferredThrottles`), counted
    with the tier limit in one Redis round trip.

    Batch jobs only (`via="batch"`): `request_id` is the item's own (so a re-run after a crashed
    worker logs, and is billed, once), `batch_discount_bps` discounts the creator's price
    (`compute.billing.batch_price_micro`), and the per-minute rate limit does not apply (the job's
    bounded concurrency is the limit).

    Raises GatewayError with code: not_found (404), validation_error (400, detail names the
    tensor), license_required (402, detail.plans), quota_exhausted (429, detail.upgrade_plan,
    detail.resets_at), rate_limited (429, headers Retry-After), price_above_max (409: the current
    price is above `max_price`, refused before any draw), no_provider_available (503),
    provider_failed (502). Any refusal or failure costs nothing.
    """
    from compute import metrics
    from compute.services.gateway_impl import inference_run_impl

    try:
        result = inference_run_impl(
            user=user,
            listing_slug=listing_slug,
            body=body,
            via=via,
            integration_id=integration_id,
            request_id=request_id,
            batch_discount_bps=batch_discount_bps,
            api_limits=api_limits,
        )
    except GatewayError as exc:
        # An unknown slug is not a label value (anyone could mint series by typing names).
        listing = metrics.UNKNOWN_LISTING if exc.code == "not_found" else listing_slug
        metrics.call_observed(listing=listing, node_id=None, outcome=exc.code)
        raise
    metrics.call_observed(
        listing=listing_slug, node_id=result.node_id, outcome="ok", latency_s=result.latency_ms / 1000
    )
    return result
