"""Four weeks of metered calls to the hosted demo models, for `make demo`.

Runs after load_demo_catalog and before load_demo_epochs, so that the usage page, the creator's
inference revenue, the provider's earnings, trending and the epochs' provider and integration
weights all have a history on first start. The calls are written as the gateway writes them (one
request-log entry per call, priced by the gateway's own context and billing functions, prepaid
credit drawn through the metering service) and then stored and settled by the settlement service,
exactly as the beat task does; only their timestamps are in the past. Nothing reaches a Triton
server: the demo providers start after the loaders (their live calls add to this history).

Idempotent: the first call's request id is derived from a fixed seed, and a database holding it is
left alone.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.models import Integration, User
from accounts.services import integration_create
from compute import meter_store
from compute.billing import per_call_price_micro
from compute.models_gateway import Entitlement, InferenceRequest, Outcome, Via
from compute.models_reputation import CallRating
from compute.services.gateway_impl import buyer_context, listing_context
from compute.services.metering import credit_draw_or_reserve, reservations_release
from compute.services.reputation import call_rate, provider_trust_snapshot
from compute.services.settlement import log_entry_fields, metering_settle
from marketplace.hosted_demo import REAL_MODELS
from marketplace.models import Listing, Subscription, SubscriptionStatus

DAYS = 29
SEED = 2026
NAMESPACE = uuid.UUID("6f1c1d0e-5a7b-4e43-9d61-0a9e0f7c2b11")
PROVIDER = "provider@agora.local"
CREATOR = "creator@agora.local"
# (caller, average calls a weekday per hosted listing they use); weekends see a third of it.
CALLERS = (
    ("buyer@agora.local", 14),
    ("alex.moreno@agora.local", 9),
    ("priya.nair@agora.local", 6),
    ("mei.chen@agora.local", 4),
)
INTEGRATION_OWNER = "priya.nair@agora.local"
INTEGRATION_NAME = "Support inbox triage"
FAILURE_RATE = 0.015
# Buyers rate about one served call in eight, mostly well (stars, weight).
RATED_SHARE = 0.125
STARS = ((5, 55), (4, 30), (3, 10), (2, 4), (1, 1))


class Command(BaseCommand):
    help = "Record four weeks of metered calls to the hosted demo models and settle them."

    def handle(self, *args: Any, **options: Any) -> None:
        if InferenceRequest.objects.filter(request_id=uuid.uuid5(NAMESPACE, "0")).exists():
            self.stdout.write("Demo inference history already loaded.")
            return
        provider = User.objects.get(email=PROVIDER)
        integration = self._integration()
        rng = random.Random(SEED)  # noqa: S311 - a reproducible story, not a secret
        now = timezone.now()
        sequence = 0
        calls = failed = 0
        listings = [Listing.objects.get(creator__email=CREATOR, title=m.title) for m in REAL_MODELS]
        for email, per_day in CALLERS:
            user = User.objects.filter(email=email).first()
            if user is None:
                continue
            for listing in listings:
                ctx = listing_context(listing.slug)
                if ctx is None or ctx.latest is None:
                    continue
                buyer = buyer_context(user, ctx.id)
                subscription = (
                    Subscription.objects.filter(
                        buyer=user, listing=listing, status=SubscriptionStatus.ACTIVE
                    ).first()
                    if buyer.subscription is not None
                    else None
                )
                if subscription is None and ctx.per_inference is None:
                    continue
                creator_micro = (
                    per_call_price_micro(
                        price_per_1000_cents=ctx.per_inference.price_cents, discount_bps=buyer.discount_bps
                    )
                    if ctx.per_inference is not None
                    else 0
                )
                for day in range(DAYS, -1, -1):
                    start = (now - timedelta(days=day)).replace(hour=0, minute=0, second=0, microsecond=0)
                    weekday = start.weekday() < 5
                    for _ in range(rng.randint(0, 2 * per_day if weekday else per_day // 2 + 1)):
                        at = start + timedelta(seconds=rng.randint(6 * 3600, 22 * 3600))
                        if at >= now - timedelta(minutes=5):
                            continue
                        ok = rng.random() >= FAILURE_RATE
                        covered = (
                            subscription
                            if subscription is not None
                            and subscription.current_period_start is not None
                            and at >= subscription.current_period_start
                            else None
                        )
                        if covered is not None:
                            entitlement, plan_id = Entitlement.SUBSCRIPTION, covered.plan_id
                            creator_price = 0
                        elif ctx.per_inference is not None:
                            price = creator_micro + ctx.compute_fee_micro
                            if ok and not credit_draw_or_reserve(user=user, amount_micro=price):
                                break  # out of prepaid credit: the rest of the history goes unmade
                            entitlement, plan_id = Entitlement.PREPAID, ctx.per_inference.id
                            creator_price = creator_micro
                        else:
                            continue
                        meter_store.log_append(
                            log_entry_fields(
                                request_id=str(uuid.uuid5(NAMESPACE, str(sequence))),
                                user_id=user.pk,
                                listing_id=ctx.id,
                                version_id=ctx.latest.pk,
                                plan_id=plan_id,
                                subscription_id=covered.pk if covered else None,
                                period_start=covered.current_period_start if covered else None,
                                entitlement=entitlement,
                                via=rng.choice((Via.API, Via.API, Via.KSERVE)),
                                integration_id=integration.public_id
                                if email == INTEGRATION_OWNER or rng.random() < 0.2
                                else "",
                                node_id=None,
                                provider_id=provider.pk if ok else None,
                                outcome=Outcome.OK if ok else Outcome.FAILED,
                                error_code="" if ok else "provider_failed",
                                attempts=1 if ok else 3,
                                latency_us=rng.randint(6_000, 45_000) if ok else 0,
                                creator_price_micro=creator_price if ok else 0,
                                compute_fee_micro=ctx.compute_fee_micro if ok else 0,
                                at=at,
                            )
                        )
                        sequence += 1
                        calls += 1
                        failed += 0 if ok else 1
        settled = metering_settle(max_batches=10_000)
        returned = reservations_release()
        rated = self._ratings(rng, provider)
        scored = self._trust_history(provider, now)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo inference history: {calls} calls over {DAYS + 1} days ({failed} failed, not charged); "
                f"{settled['batches']} settlement batches; {returned} cents of unused reservations returned; "
                f"{rated} calls rated; {scored} daily trust scores."
            )
        )

    def _ratings(self, rng: random.Random, provider: User) -> int:
        """Buyers rate some of their served calls through the rating service, an hour after each."""
        calls = (
            InferenceRequest.objects.filter(provider=provider, outcome=Outcome.OK)
            .exclude(entitlement=Entitlement.PLAYGROUND)
            .select_related("user")
            .order_by("created_at")
        )
        stars, weights = zip(*STARS, strict=True)
        rated = 0
        for call in calls:
            if rng.random() >= RATED_SHARE:
                continue
            at = call.created_at + timedelta(hours=1)
            rating = call_rate(
                buyer=call.user, request_id=str(call.request_id), stars=rng.choices(stars, weights)[0], now=at
            )
            # The rating's own timestamp is when it was made in this story, not when the loader ran:
            # the trust score counts ratings by the day they were given.
            CallRating.objects.filter(pk=rating.pk).update(created_at=at)
            rated += 1
        return rated

    def _trust_history(self, provider: User, now: datetime) -> int:
        """The provider's daily trust-score snapshots for the days of the history (the beat task
        stores each new day once the demo runs)."""
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        for day in range(DAYS - 1, -1, -1):
            provider_trust_snapshot(provider_id=provider.pk, end=midnight - timedelta(days=day))
        return DAYS

    def _integration(self) -> Integration:
        owner = User.objects.get(email=INTEGRATION_OWNER)
        found = Integration.objects.filter(owner=owner, name__iexact=INTEGRATION_NAME).first()
        return found or integration_create(
            user=owner, name=INTEGRATION_NAME, url="https://example.com/triage"
        )
