"""The body of `compute.services.gateway.inference_run` (see that module for the contract).

Hot-path rules (ARCHITECTURE.md "The inference hot path"): no database write per call, and no
database read that a short-lived process cache can answer. Listing, versions, plans and the
compute fee are cached per process for LISTING_TTL seconds; a buyer's subscription and volume
discount for BUYER_TTL seconds (so a cancellation or a new tier takes at most that long to apply);
quota, allowance and prepaid credit are exact Redis counters; the request log goes to a Redis
stream that the settlement task stores and bills.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from django.utils import timezone

from accounts.models import User
from compute import meter_store
from compute.billing import batch_price_micro, per_call_price_micro
from compute.models_gateway import Entitlement, Outcome
from compute.selectors import quota as quota_service
from compute.services import pricing, provider_tiers, quotes
from compute.services.gateway import (
    VIA_BATCH,
    VIA_PLAYGROUND,
    VIAS,
    GatewayError,
    InferenceResult,
)
from compute.services.gateway_backend import NoProvider, ProviderFailure, TensorInvalid, gateway_backend
from compute.services.metering import credit_draw_or_reserve, credit_give_back
from compute.services.settlement import log_entry_fields
from core.throttling import Hit, Rate, rate_limits_hit
from marketplace.models import (
    Listing,
    ListingStatus,
    ListingVersion,
    Plan,
    PlanKind,
    Subscription,
    SubscriptionStatus,
)
from marketplace.services.pricing import buyer_volume_discount_bps
from tokenomics.selectors.parameters import parameters_get

LISTING_TTL = 30.0
BUYER_TTL = 10.0

T = TypeVar("T")


class _TtlCache:
    """A tiny per-process cache with expiry (a dict under a lock)."""

    def __init__(self) -> None:
        self._data: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get_or_load(self, key: Any, ttl: float, load: Callable[[], T]) -> T:
        now = time.monotonic()
        found = self._data.get(key)
        if found is not None and found[0] > now:
            return found[1]  # type: ignore[no-any-return]
        value = load()
        with self._lock:
            if len(self._data) > 50_000:
                self._data.clear()
            self._data[key] = (now + ttl, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


_listings = _TtlCache()
_buyers = _TtlCache()


def gateway_caches_clear() -> None:
    """Forget every cached listing and buyer (tests; after an admin change if in a hurry)."""
    _listings.clear()
    _buyers.clear()


# --------------------------------------------------------------------------- cached contexts


@dataclass(frozen=True)
class PlanInfo:
    id: int
    name: str
    kind: str
    price_cents: int
    monthly_quota: int | None
    rate_limit_per_minute: int


@dataclass(frozen=True)
class ListingContext:
    id: int
    slug: str
    creator_id: int
    versions: dict[str, ListingVersion]  # hosted versions (with a Triton model name), by version text
    latest: ListingVersion | None
    plans: list[PlanInfo]  # active plans
    per_inference: PlanInfo | None  # the cheapest active per-inference plan
    compute_fee_micro: int
    price: pricing.PriceParts  # the compute fee's parts (compute_fee_micro is price.compute_fee_micro)
    priority_fee_bps: int  # the priority lane's fee (`compute.priority_fee_bps`)
    limits: dict[str, int]  # registry rate limits per entitlement
    free_per_day: int


@dataclass(frozen=True)
class SubscriptionInfo:
    id: int
    plan_id: int
    monthly_quota: int | None
    quota_used: int
    period_start: datetime | None
    period_end: datetime | None
    rate_limit_per_minute: int


@dataclass(frozen=True)
class BuyerContext:
    subscription: SubscriptionInfo | None
    discount_bps: int


_LIMIT_KEYS = {
    Entitlement.SUBSCRIPTION: "inference.rate_limit.subscription_per_minute",
    Entitlement.PREPAID: "inference.rate_limit.per_inference_per_minute",
    Entitlement.PLAYGROUND: "inference.rate_limit.playground_per_minute",
}


def _plan_info(plan: Plan) -> PlanInfo:
    return PlanInfo(
        id=plan.pk,
        name=plan.name,
        kind=plan.kind,
        price_cents=int(plan.price_cents),
        monthly_quota=plan.monthly_quota,
        rate_limit_per_minute=plan.rate_limit_per_minute,
    )


def _load_listing(slug: str) -> ListingContext | None:
    listing = (
        Listing.objects.filter(slug=slug, status=ListingStatus.PUBLISHED)
        .only("pk", "slug", "creator_id", "size")
        .first()
    )
    if listing is None:
        return None
    versions = [v for v in ListingVersion.objects.filter(listing=listing) if v.triton_model_name]
    plans = [_plan_info(plan) for plan in Plan.objects.filter(listing=listing, is_active=True)]
    metered = sorted(
        (p for p in plans if p.kind == PlanKind.PER_INFERENCE), key=lambda p: (p.price_cents, p.id)
    )
    params = parameters_get(
        ["playground.free_inferences_per_day", "compute.priority_fee_bps", *_LIMIT_KEYS.values()]
    )
    price = pricing.quote(listing_id=listing.pk, size=listing.size)
    return ListingContext(
        id=listing.pk,
        slug=listing.slug,
        creator_id=listing.creator_id,
        versions={v.version: v for v in versions},
        latest=versions[0] if versions else None,  # ListingVersion's ordering: newest first
        plans=plans,
        per_inference=metered[0] if metered else None,
        compute_fee_micro=price.compute_fee_micro,
        price=price,
        priority_fee_bps=params["compute.priority_fee_bps"],
        limits={kind: params[key] for kind, key in _LIMIT_KEYS.items()},
        free_per_day=params["playground.free_inferences_per_day"],
    )


def _load_buyer(user: User, listing_id: int) -> BuyerContext:
    now = timezone.now()
    sub = (
        Subscription.objects.filter(
            buyer=user, listing_id=listing_id, status=SubscriptionStatus.ACTIVE, current_period_end__gt=now
        )
        .select_related("plan")
        .first()
    )
    info = None
    if sub is not None:
        info = SubscriptionInfo(
            id=sub.pk,
            plan_id=sub.plan_id,
            monthly_quota=sub.monthly_quota,
            quota_used=int(sub.quota_used),
            period_start=sub.current_period_start,
            period_end=sub.current_period_end,
            rate_limit_per_minute=sub.plan.rate_limit_per_minute,
        )
    return BuyerContext(subscription=info, discount_bps=buyer_volume_discount_bps(buyer=user, now=now))


def listing_context(slug: str) -> ListingContext | None:
    return _listings.get_or_load(slug, LISTING_TTL, lambda: _load_listing(slug))


def buyer_context(user: User, listing_id: int) -> BuyerContext:
    return _buyers.get_or_load((user.pk, listing_id), BUYER_TTL, lambda: _load_buyer(user, listing_id))


# --------------------------------------------------------------------------- entitlement


@dataclass
class Draw:
    """What the entitlement step took (and gives back if the call fails)."""

    entitlement: str
    plan_id: int | None = None
    subscription: SubscriptionInfo | None = None
    counter: str = ""  # a capped counter taken (quota or playground allowance)
    credit_micro: int = 0  # prepaid credit drawn
    creator_price_micro: int = 0
    compute_fee_micro: int = 0  # the priority fee included
    priority: bool = False  # a priority-lane call (never a free playground run)
    priority_fee_micro: int = 0
    quota_left: int | None = None
    free_left: int | None = None
    given_back: bool = field(default=False)

    def give_back(self, user_id: int) -> None:
        if self.given_back:
            return
        self.given_back = True
        if self.counter:
            meter_store.counter_give_back(self.counter)
        credit_give_back(user_id=user_id, amount_micro=self.credit_micro)


def _api_plans(ctx: ListingContext) -> list[dict[str, Any]]:
    return [
        {"id": plan.id, "name": plan.name, "kind": plan.kind, "price_cents": str(plan.price_cents)}
        for plan in ctx.plans
        if plan.kind in (PlanKind.SUBSCRIPTION, PlanKind.PER_INFERENCE)
    ]


def _upgrade_plan(ctx: ListingContext, sub: SubscriptionInfo) -> dict[str, Any] | None:
    current = sub.monthly_quota or 0
    bigger = [
        plan
        for plan in ctx.plans
        if plan.kind == PlanKind.SUBSCRIPTION
        and plan.id != sub.plan_id
        and (plan.monthly_quota is None or plan.monthly_quota > current)
    ]
    bigger.sort(key=lambda plan: (plan.monthly_quota is None, plan.monthly_quota or 0, plan.price_cents))
    if bigger:
        plan = bigger[0]
        return {"id": plan.id, "name": plan.name, "kind": plan.kind, "monthly_quota": plan.monthly_quota}
    if ctx.per_inference is not None:
        plan = ctx.per_inference
        return {"id": plan.id, "name": plan.name, "kind": plan.kind, "monthly_quota": None}
    return None


def _tier(ctx: ListingContext, buyer: BuyerContext, via: str) -> tuple[str, int] | None:
    """The entitlement a call would most likely use and its rate limit per minute (the plan's own
    limit when lower than the registry's for that tier); None when nothing could allow it."""
    if buyer.subscription is not None:
        limit = ctx.limits[Entitlement.SUBSCRIPTION]
        return Entitlement.SUBSCRIPTION, min(limit, buyer.subscription.rate_limit_per_minute or limit)
    if ctx.per_inference is not None:
        limit = ctx.limits[Entitlement.PREPAID]
        return Entitlement.PREPAID, min(limit, ctx.per_inference.rate_limit_per_minute or limit)
    if via == VIA_PLAYGROUND:
        return Entitlement.PLAYGROUND, ctx.limits[Entitlement.PLAYGROUND]
    return None


def _over_api_limit(hits: list[Hit]) -> GatewayError | None:
    """429 `rate_limited` as DRF's throttles answer it, when an API-wide limit is over."""
    over = [hit.retry_after for hit in hits if not hit.allowed]
    if not over:
        return None
    wait = max(over)
    return GatewayError(
        "rate_limited",
        429,
        "Too many requests; slow down.",
        headers={"Retry-After": str(wait)},
        detail={"retry_after_seconds": wait},
    )


def rate_limit_check(
    *,
    user: User,
    ctx: ListingContext,
    buyer: BuyerContext,
    via: str,
    api_limits: list[tuple[str, Rate]] | None = None,
) -> None:
    """Count the call against the buyer's per-minute limit for this listing at their tier and
    against `api_limits` (the API's per-address and per-key limits deferred by the view:
    `core.throttling.DeferredThrottles`; emptied once counted), all in one atomic Redis step
    (`core.throttling.rate_limits_hit`); `429 rate_limited` with Retry-After over any of them."""
    api_limits = api_limits if api_limits is not None else []
    tier = _tier(ctx, buyer, via)
    limits = list(api_limits)
    api_count = len(api_limits)
    api_limits.clear()
    if tier is not None:  # None: nothing could allow the call, the entitlement step answers 402
        kind, limit = tier
        limits.append((f"inference:{kind}:{user.pk}:{ctx.id}", Rate(limit=limit, window=60)))
    hits = rate_limits_hit(limits)
    refused = _over_api_limit(hits[:api_count])
    if refused is not None:
        raise refused
    if tier is None:
        return
    hit = hits[-1]
    if not hit.allowed:
        raise GatewayError(
            "rate_limited",
            429,
            "Too many calls to this model; slow down.",
            headers={"Retry-After": str(hit.retry_after)},
            detail={"retry_after_seconds": hit.retry_after, "limit_per_minute": tier[1]},
        )


def _entitle(
    *,
    user: User,
    ctx: ListingContext,
    buyer: BuyerContext,
    via: str,
    now: datetime,
    batch_discount_bps: int = 0,
    priority: bool = False,
) -> Draw:
    """First match wins: subscription quota → prepaid credit (per-inference plan) → playground.
    A priority call pays the priority fee on its price, as part of the compute fee."""
    exhausted: SubscriptionInfo | None = None
    sub = buyer.subscription
    if sub is not None:
        name = quota_service.subscription_counter_name(subscription_id=sub.id, period_start=sub.period_start)
        if sub.monthly_quota is None:
            taken = meter_store.counter_take(
                name,
                limit=2**62,
                ttl_seconds=quota_service.quota_counter_ttl(period_end=sub.period_end, now=now),
                initial=sub.quota_used,
            )
            quota_left = None
        else:
            taken = meter_store.counter_take(
                name,
                limit=sub.monthly_quota,
                ttl_seconds=quota_service.quota_counter_ttl(period_end=sub.period_end, now=now),
                initial=sub.quota_used,
            )
            quota_left = sub.monthly_quota - taken if taken >= 0 else 0
        if taken >= 0:
            price = quotes.price_of(ctx, creator_price_micro=None, priority=priority)
            return Draw(
                entitlement=Entitlement.SUBSCRIPTION,
                plan_id=sub.plan_id,
                subscription=sub,
                counter=name,
                compute_fee_micro=price.compute.compute_fee_micro + price.priority_fee_micro,
                priority=priority,
                priority_fee_micro=price.priority_fee_micro,
                quota_left=quota_left,
            )
        exhausted = sub
    short_of_credit = False
    if ctx.per_inference is not None:
        creator = per_call_price_micro(
            price_per_1000_cents=ctx.per_inference.price_cents, discount_bps=buyer.discount_bps
        )
        if batch_discount_bps:
            creator = batch_price_micro(creator_price_micro=creator, batch_discount_bps=batch_discount_bps)
        price = quotes.price_of(ctx, creator_price_micro=creator, priority=priority)
        if credit_draw_or_reserve(user=user, amount_micro=price.total_micro):
            return Draw(
                entitlement=Entitlement.PREPAID,
                plan_id=ctx.per_inference.id,
                credit_micro=price.total_micro,
                creator_price_micro=creator,
                compute_fee_micro=price.compute.compute_fee_micro + price.priority_fee_micro,
                priority=priority,
                priority_fee_micro=price.priority_fee_micro,
            )
        short_of_credit = True
    free_left = None
    resets: datetime | None = None
    if via == VIA_PLAYGROUND and ctx.free_per_day > 0:
        day, resets = quota_service.playground_day(now)
        name = quota_service.playground_counter_name(user_id=user.pk, listing_id=ctx.id, day=day)
        taken = meter_store.counter_take(name, limit=ctx.free_per_day, ttl_seconds=2 * 86_400)
        if taken >= 0:
            return Draw(entitlement=Entitlement.PLAYGROUND, counter=name, free_left=ctx.free_per_day - taken)
        free_left = 0
    if exhausted is not None:
        raise GatewayError(
            "quota_exhausted",
            429,
            "This subscription's monthly quota is used up; upgrade or wait for the next period.",
            headers=_retry_after(exhausted.period_end, now),
            detail={
                "upgrade_plan": _upgrade_plan(ctx, exhausted),
                "resets_at": exhausted.period_end.isoformat() if exhausted.period_end else None,
                "quota": exhausted.monthly_quota,
            },
        )
    detail: dict[str, Any] = {"plans": _api_plans(ctx)}
    if short_of_credit:
        detail["reason"] = "insufficient_credit"
        message = "Your prepaid balance cannot pay for this call; add credit or subscribe."
    elif free_left == 0:
        detail["reason"] = "free_runs_used"
        detail["free_left"] = 0
        detail["resets_at"] = resets.isoformat() if resets is not None else None
        message = "Today's free runs of this model are used; buy a plan to keep going."
    else:
        message = "Calling this model needs a subscription or prepaid credit on a per-inference plan."
    raise GatewayError("license_required", 402, message, detail=detail)


def _retry_after(until: datetime | None, now: datetime) -> dict[str, str]:
    if until is None:
        return {}
    return {"Retry-After": str(max(int((until - now).total_seconds()), 1))}


# --------------------------------------------------------------------------- the call


def _body(body: Any, ctx: ListingContext) -> tuple[ListingVersion, list[dict[str, Any]], bool]:
    if ctx.latest is None:
        raise GatewayError(
            "not_found", 404, "This model is not hosted: it has no version that providers serve."
        )
    if not isinstance(body, dict):
        raise GatewayError(
            "validation_error",
            400,
            "Send a JSON object.",
            detail={"non_field_errors": ["Send a JSON object."]},
        )
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise GatewayError(
            "validation_error",
            400,
            "Give the input tensors.",
            detail={"inputs": ["A non-empty list of KServe v2 tensors."]},
        )
    priority = body.get("priority", False)
    if not isinstance(priority, bool):
        raise GatewayError(
            "validation_error",
            400,
            "`priority` is true or false.",
            detail={"priority": ["Must be a boolean."]},
        )
    wanted = body.get("version")
    if wanted is None:
        version = ctx.latest
    elif not isinstance(wanted, str) or wanted not in ctx.versions:
        raise GatewayError(
            "validation_error",
            400,
            "No hosted version of this model has that version number.",
            detail={"version": [f"Choose one of {', '.join(sorted(ctx.versions)) or 'none'}."]},
        )
    else:
        version = ctx.versions[wanted]
    if version is None:  # pragma: no cover - ctx.latest was checked above
        raise GatewayError("not_found", 404, "This model is not hosted.")
    return version, inputs, priority


def _log(
    *,
    request_id: str,
    user: User,
    ctx: ListingContext,
    version: ListingVersion | None,
    draw: Draw,
    via: str,
    integration_id: str,
    outcome: str,
    error_code: str = "",
    node_id: int | None = None,
    provider_id: int | None = None,
    attempts: int = 0,
    latency_us: int = 0,
    now: datetime,
) -> None:
    served = outcome == Outcome.OK
    sub = draw.subscription
    meter_store.log_append(
        log_entry_fields(
            request_id=request_id,
            user_id=user.pk,
            listing_id=ctx.id,
            version_id=version.pk if version is not None else None,
            plan_id=draw.plan_id,
            subscription_id=sub.id if sub is not None else None,
            period_start=sub.period_start if sub is not None else None,
            entitlement=draw.entitlement,
            via=via,
            integration_id=integration_id,
            node_id=node_id,
            provider_id=provider_id if served else None,
            outcome=outcome,
            error_code=error_code,
            attempts=attempts,
            latency_us=latency_us,
            creator_price_micro=draw.creator_price_micro if served else 0,
            compute_fee_micro=draw.compute_fee_micro if served else 0,
            priority=draw.priority,
            priority_fee_micro=draw.priority_fee_micro if served else 0,
            at=now,
        )
    )


def inference_run_impl(
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
    if via not in VIAS:
        raise ValueError(f"via must be one of {VIAS}, not {via!r}")
    now = timezone.now()
    ctx = listing_context(listing_slug)
    if ctx is None:
        raise GatewayError("not_found", 404, "No published model has this name.")
    version, inputs, priority = _body(body, ctx)
    buyer = buyer_context(user, ctx.id)
    if via != VIA_BATCH:  # a batch job's bounded concurrency is its limit
        rate_limit_check(user=user, ctx=ctx, buyer=buyer, via=via, api_limits=api_limits)
    quotes.max_price_check(ctx=ctx, buyer=buyer, body=body, priority=priority)  # 409, before any draw
    draw = _entitle(
        user=user,
        ctx=ctx,
        buyer=buyer,
        via=via,
        now=now,
        batch_discount_bps=batch_discount_bps,
        priority=priority,
    )
    backend = gateway_backend()
    try:
        prepared = backend.validate_inputs(version, inputs)
    except TensorInvalid as exc:
        draw.give_back(user.pk)
        raise GatewayError(
            "validation_error", 400, exc.message, detail={"tensor": exc.tensor, "inputs": [exc.message]}
        ) from exc
    request_id = request_id or str(uuid.uuid4())
    paid = provider_tiers.paid_call.set(draw.entitlement != Entitlement.PLAYGROUND)
    # The served call's node counters and its request-log entry: one Redis round trip.
    with meter_store.batched():
        try:
            routed = backend.route(version, prepared, priority=draw.priority)
        except (NoProvider, ProviderFailure) as exc:
            draw.give_back(user.pk)
            code = "no_provider_available" if isinstance(exc, NoProvider) else "provider_failed"
            _log(
                request_id=request_id,
                user=user,
                ctx=ctx,
                version=version,
                draw=draw,
                via=via,
                integration_id=integration_id or "",
                outcome=Outcome.FAILED,
                error_code=code,
                attempts=exc.attempts if isinstance(exc, ProviderFailure) else 0,
                now=now,
            )
            status = 503 if code == "no_provider_available" else 502
            message = (
                "No provider can serve this model right now; nothing was charged."
                if status == 503
                else "The providers failed to serve this call; nothing was charged."
            )
            raise GatewayError(code, status, message, detail={"request_id": request_id}) from exc
        except BaseException:
            draw.give_back(user.pk)
            raise
        finally:
            provider_tiers.paid_call.reset(paid)
        _log(
            request_id=request_id,
            user=user,
            ctx=ctx,
            version=version,
            draw=draw,
            via=via,
            integration_id=integration_id or "",
            outcome=Outcome.OK,
            node_id=routed.node_id,
            provider_id=routed.provider_id,
            attempts=routed.attempts,
            latency_us=int(routed.latency_ms * 1000),
            now=now,
        )
    charge = (
        draw.creator_price_micro + draw.compute_fee_micro if draw.entitlement == Entitlement.PREPAID else 0
    )
    return InferenceResult(
        request_id=request_id,
        outputs=routed.outputs,
        node_id=routed.node_id,
        latency_ms=routed.latency_ms,
        charge_micro=charge,
        entitlement=draw.entitlement,
        quota_left=draw.quota_left,
        free_left=draw.free_left,
        model_name=ctx.slug,
        model_version=version.version,
        attempts=routed.attempts,
    )
