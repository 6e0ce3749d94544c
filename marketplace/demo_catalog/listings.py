"""Listings of the demo story: created, versioned, published, tiered, suspended."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from django.core.files.base import ContentFile

from marketplace.demo_catalog.base import LoaderBase
from marketplace.demo_catalog.cards import PlanSpec, days_between, model_card
from marketplace.demo_catalog.constants import IDENTITY_INPUT, IDENTITY_OUTPUT, LICENSES, TRITON_MODEL
from marketplace.demo_catalog.listing_specs import LISTINGS, ListingSpec
from marketplace.demo_catalog.story_data import CHANGELOGS, SUSPENSION_REASON
from marketplace.models import Category, Listing, ListingStatus, ListingVersion, Plan, QualityTier
from marketplace.services import listings as listing_services
from marketplace.services import plans as plan_services
from marketplace.services import versions as version_services


class ListingsMixin(LoaderBase):
    # ------------------------------------------------------------------ listings

    def _schedule_listings(
        self, categories: dict[str, Category], plan_specs: dict[str, list[PlanSpec]]
    ) -> dict[str, datetime]:
        """Schedule each listing's creation, versions, publishing and moderation; returns when
        each published listing went on sale."""
        rng, now = self.rng, self.now
        published: dict[str, datetime] = {}
        for spec in LISTINGS:
            live = now - (days_between(rng, 12, 40) if spec.recent else days_between(rng, 125, 200))
            created = live - days_between(rng, 1, 6)
            if spec.state == ListingStatus.DRAFT:
                # The demo creator's draft still lacks a version, so its checklist shows what is missing.
                versions = 0 if spec.creator == "demo" else 1
            else:
                versions = rng.choice((1, 2, 2, 3))
            category = categories[spec.category]
            self._at(created, partial(self._create_listing, spec, category, plan_specs[spec.title]))
            version_times = [created + timedelta(hours=1)]
            for _ in range(1, versions):
                version_times.append(version_times[-1] + days_between(rng, 35, 80))
            version_times = version_times[:versions]
            for number, at in enumerate(version_times):
                if at < now - timedelta(days=1):
                    self._at(at, partial(self._upload_version, spec, number))
            if spec.state == ListingStatus.DRAFT:
                continue
            self._at(live, partial(self._publish, spec))
            if spec.tier != QualityTier.COMMUNITY:
                self._at(live + days_between(rng, 0.5, 6), partial(self._tier, spec))
            if spec.state == ListingStatus.SUSPENDED:
                self._at(live + days_between(rng, 2, 6), partial(self._suspend, spec))
                continue
            published[spec.title] = live
        return published

    def _create_listing(self, spec: ListingSpec, category: Category, plans: list[PlanSpec]) -> None:
        creator = self.creators[spec.creator]
        listing = listing_services.listing_create(
            creator=creator,
            title=spec.title,
            summary=spec.summary,
            category=category,
            model_card=model_card(spec, plans),
            tags=spec.tags,
            task=spec.task,
            size=spec.size,
            license_terms=LICENSES[spec.license],
            sample_io=[{"input": given, "output": answer} for given, answer in spec.samples],
            benchmarks=[
                {"name": name, "score": score, "unit": unit} for name, score, unit in spec.benchmarks
            ],
        )
        self.listings[spec.title] = listing
        self._dated(Listing.objects.filter(pk=listing.pk), "created_at")
        self.plans[spec.title] = [
            plan_services.plan_add(
                listing=listing,
                actor=creator,
                kind=plan.kind,
                name=plan.name,
                price_cents=plan.price_cents,
                price_agr=plan.price_agr,
                interval=plan.interval,
                monthly_quota=plan.monthly_quota,
                rate_limit_per_minute=plan.rate_limit_per_minute,
                description=plan.description,
            )
            for plan in plans
        ]
        self._dated(Plan.objects.filter(listing=listing), "created_at")

    def _upload_version(self, spec: ListingSpec, number: int) -> None:
        listing = self.listings[spec.title]
        version = ("1.0.0", "1.1.0", "2.0.0")[number]
        # A small stand-in for the weights: a header naming the model, then seeded bytes.
        content = f"AGORA-DEMO-MODEL {listing.slug} {version}\n".encode() + self.rng.randbytes(
            self.rng.randint(2_048, 6_144)
        )
        uploaded = version_services.version_upload(
            listing=listing,
            actor=listing.creator,
            version=version,
            changelog=CHANGELOGS[number],
            file=ContentFile(content, name=f"{listing.slug}-{version}.onnx"),
            triton_model_name=TRITON_MODEL if spec.hosted else "",
            input_spec=IDENTITY_INPUT if spec.hosted else [],
            output_spec=IDENTITY_OUTPUT if spec.hosted else [],
        )
        self._dated(ListingVersion.objects.filter(pk=uploaded.pk), "created_at")
        self._dated(Listing.objects.filter(pk=listing.pk))

    def _publish(self, spec: ListingSpec) -> None:
        listing = self.listings[spec.title]
        self.listings[spec.title] = listing_services.listing_publish(listing=listing, actor=listing.creator)
        self._dated(Listing.objects.filter(pk=listing.pk), "published_at")

    def _tier(self, spec: ListingSpec) -> None:
        self.listings[spec.title] = listing_services.listing_quality_tier_set(
            listing=self.listings[spec.title], actor=self.staff, tier=spec.tier
        )
        self._dated(Listing.objects.filter(pk=self.listings[spec.title].pk))

    def _suspend(self, spec: ListingSpec) -> None:
        self.listings[spec.title] = listing_services.listing_moderate(
            listing=self.listings[spec.title],
            staff_user=self.staff,
            status=ListingStatus.SUSPENDED,
            reason=SUSPENSION_REASON,
        )
        self._dated(Listing.objects.filter(pk=self.listings[spec.title].pk))
