"""Entitlement, first match wins: subscription quota → prepaid credit → playground → 402; exact
counters under concurrency (PostgreSQL + Redis, real threads)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from compute.models_gateway import Entitlement
from compute.services.gateway import VIA_API, VIA_PLAYGROUND, GatewayError
from compute.services.gateway_impl import Draw, _entitle, buyer_context, listing_context, rate_limit_check
from tests.compute.gateway.conftest import active_subscription, per_inference_plan, subscription_plan
from tests.tokenomics.concurrency.threads import race
from tests.tokenomics.factories import funded_wallet
from tokenomics.selectors.parameters import parameter_get


def entitle(user: Any, slug: str, via: str = VIA_API) -> Draw:
    ctx = listing_context(slug)
    assert ctx is not None
    return _entitle(user=user, ctx=ctx, buyer=buyer_context(user, ctx.id), via=via, now=timezone.now())


@pytest.mark.django_db
def test_subscription_with_quota_comes_first(hosted: Any, buyer: Any) -> None:
    listing, _ = hosted
    per_inference_plan(listing)
    funded_wallet(user=buyer, amount=1_000)
    active_subscription(buyer=buyer, plan=subscription_plan(listing, quota=2))
    first = entitle(buyer, listing.slug)
    assert first.entitlement == Entitlement.SUBSCRIPTION
    assert first.quota_left == 1
    assert first.creator_price_micro == 0  # the subscription pays the creator; no per-call price
    assert entitle(buyer, listing.slug).quota_left == 0
    # Quota used up, prepaid credit and a per-inference plan: the next match.
    third = entitle(buyer, listing.slug)
    assert third.entitlement == Entitlement.PREPAID
    assert third.credit_micro == 5_000 + 100  # $5.00 / 1,000 calls + the small model's compute fee


@pytest.mark.django_db
def test_playground_after_credit_then_license_required(hosted: Any, buyer: Any) -> None:
    listing, _ = hosted
    per_inference_plan(listing)
    subscription_plan(listing, quota=1000)
    free = parameter_get("playground.free_inferences_per_day")
    draws = [entitle(buyer, listing.slug, via=VIA_PLAYGROUND) for _ in range(free)]
    assert [d.entitlement for d in draws] == [Entitlement.PLAYGROUND] * free
    assert [d.free_left for d in draws] == list(range(free - 1, -1, -1))
    with pytest.raises(GatewayError) as used_up:
        entitle(buyer, listing.slug, via=VIA_PLAYGROUND)
    assert (used_up.value.code, used_up.value.status_code) == ("license_required", 402)
    assert used_up.value.detail["reason"] == "insufficient_credit"
    # An API key never gets the playground allowance; the 402 names the plans that would allow it.
    with pytest.raises(GatewayError) as api:
        entitle(buyer, listing.slug, via=VIA_API)
    assert api.value.code == "license_required"
    assert sorted(plan["kind"] for plan in api.value.detail["plans"]) == ["per_inference", "subscription"]


@pytest.mark.django_db
def test_quota_exhausted_names_the_upgrade_and_the_reset(hosted: Any, buyer: Any) -> None:
    listing, _ = hosted
    sub = active_subscription(buyer=buyer, plan=subscription_plan(listing, quota=1))
    pro = subscription_plan(listing, quota=10_000, name="Pro", price_cents=9_900)
    entitle(buyer, listing.slug)
    with pytest.raises(GatewayError) as exhausted:
        entitle(buyer, listing.slug)
    assert (exhausted.value.code, exhausted.value.status_code) == ("quota_exhausted", 429)
    assert exhausted.value.detail["upgrade_plan"]["id"] == pro.pk
    assert exhausted.value.detail["resets_at"] == sub.current_period_end.isoformat()
    assert int(exhausted.value.headers["Retry-After"]) > 0


@pytest.mark.django_db
def test_a_failed_call_gives_its_draw_back(hosted: Any, buyer: Any) -> None:
    listing, _ = hosted
    active_subscription(buyer=buyer, plan=subscription_plan(listing, quota=1))
    draw = entitle(buyer, listing.slug)
    draw.give_back(buyer.pk)
    draw.give_back(buyer.pk)  # twice changes nothing
    assert entitle(buyer, listing.slug).quota_left == 0  # the one call is still available


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_quota_cuts_off_exactly_at_the_limit_under_50_concurrent_callers(hosted: Any, buyer: Any) -> None:
    listing, _ = hosted
    active_subscription(buyer=buyer, plan=subscription_plan(listing, quota=30))
    outcomes = race(50, lambda _: entitle(buyer, listing.slug))
    served = [o for o in outcomes if o.ok]
    refused = [o for o in outcomes if not o.ok]
    assert len(served) == 30
    assert sorted(o.value.quota_left for o in served) == list(range(30))
    assert len(refused) == 20
    assert all(isinstance(o.error, GatewayError) and o.error.code == "quota_exhausted" for o in refused)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_prepaid_credit_is_drawn_exactly_under_50_concurrent_callers(hosted: Any, buyer: Any) -> None:
    listing, _ = hosted
    per_inference_plan(listing)
    funded_wallet(user=buyer, amount=10)  # 10 cents = 100,000 micro-USD: 19 calls of 5,100
    outcomes = race(50, lambda _: entitle(buyer, listing.slug))
    assert sum(o.ok for o in outcomes) == 19
    assert all(o.error.code == "license_required" for o in outcomes if not o.ok)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_rate_limit_never_overshoots_under_concurrency(hosted: Any, buyer: Any) -> None:
    listing, _ = hosted
    plan = subscription_plan(listing, quota=None)
    plan.rate_limit_per_minute = 20  # the plan's own limit, below the registry's tier limit
    plan.save(update_fields=["rate_limit_per_minute"])
    active_subscription(buyer=buyer, plan=plan)
    ctx = listing_context(listing.slug)
    assert ctx is not None
    context = buyer_context(buyer, ctx.id)
    outcomes = race(50, lambda _: rate_limit_check(user=buyer, ctx=ctx, buyer=context, via=VIA_API))
    assert sum(o.ok for o in outcomes) == 20
    refused = [o.error for o in outcomes if not o.ok]
    assert all(isinstance(e, GatewayError) and e.code == "rate_limited" for e in refused)
    assert all(0 < int(e.headers["Retry-After"]) <= 60 for e in refused if isinstance(e, GatewayError))
