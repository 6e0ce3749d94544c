"""The demo catalog loader: the story's parts put together, played in time order."""

from __future__ import annotations

import random
from contextlib import nullcontext
from datetime import timedelta
from itertools import groupby
from typing import Any

from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.mail import emails_paused
from marketplace.demo_catalog.cards import Event, plan_specs_for
from marketplace.demo_catalog.constants import BUYERS, CREATORS, DEMO_BUYER, DEMO_CREATOR, SEED, STAFF
from marketplace.demo_catalog.hosted import HostedMixin
from marketplace.demo_catalog.listing_specs import LISTINGS
from marketplace.demo_catalog.listings import ListingsMixin
from marketplace.demo_catalog.sales import SalesMixin
from marketplace.demo_catalog.showcase import ShowcaseMixin
from marketplace.demo_catalog.story_data import MARKER_SLUG
from marketplace.models import Listing, Plan, Review
from marketplace.services import search as search_services
from tokenomics.selectors.parameters import parameter_get


class CatalogLoader(ListingsMixin, SalesMixin, HostedMixin, ShowcaseMixin):
    """The whole story, played by `load_demo_catalog` (a management command supplies stdout and style)."""

    def handle(self, *args: Any, **options: Any) -> None:
        # Four months of made-up sales, refunds and disputes are history, not news: no receipts.
        with emails_paused():
            self._load()

    def _load(self) -> None:
        if Listing.objects.filter(slug=MARKER_SLUG).exists():
            # Added since some demo databases were loaded: the hosted models are checked every run.
            created = self._hosted_models()
            self.stdout.write(
                "Demo catalog already loaded"
                + (
                    f"; added the hosted demo models {', '.join(created)}. "
                    if created
                    else "; nothing to do. "
                )
                + self._summary()
            )
            return
        required = {DEMO_CREATOR, DEMO_BUYER, STAFF}
        found = {u.email: u for u in User.objects.filter(email__in=required)}
        if set(found) != required:
            raise CommandError("Run `manage.py load_demo_data` first: the demo accounts are missing.")
        self.rng = random.Random(SEED)  # noqa: S311  (demo data, not secrets)
        self.now = timezone.now()
        self.at = self.now  # the moment of the story step being played (set by the loop below)
        self.staff = found[STAFF]
        self.creators: dict[str, User] = {"demo": found[DEMO_CREATOR]}
        self.listings: dict[str, Listing] = {}
        self.plans: dict[str, list[Plan]] = {}
        self.orders: dict[str, int] = {}
        self.subscriptions: dict[str, int] = {}
        self.reviews: dict[str, Review] = {}
        self.events: list[Event] = []

        with transaction.atomic():
            categories = self._categories()
            for key, email, name in CREATORS:
                self.creators[key] = self._user(email, name)
            buyers = [found[DEMO_BUYER]] + [self._user(email, name) for email, name in BUYERS]
        self.refund_window = timedelta(seconds=parameter_get("escrow.refund_window_seconds"))
        agr_price_micro_usd = parameter_get("token.agr_price_micro_usd")
        plan_specs = {spec.title: plan_specs_for(spec, self.rng, agr_price_micro_usd) for spec in LISTINGS}
        published = self._schedule_listings(categories, plan_specs)
        self._schedule_sales(buyers, plan_specs, published)
        for durable, group in groupby(sorted(self.events), key=lambda event: event.durable):
            with nullcontext() if durable else transaction.atomic():
                for event in group:
                    self.at = event.at  # the moment the step happens, read by the step
                    event.run()
        self._collections_and_featured()
        self._daily_views()
        self._hosted_models()
        search_services.listings_search_index_all()
        search_services.listings_trending_refresh()
        self.stdout.write(self.style.SUCCESS("Demo catalog ready: " + self._summary()))
