"""The storefront around the listings: collections, featured slots, daily views."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Sum
from django.utils import timezone

from marketplace.demo_catalog.base import LoaderBase
from marketplace.demo_catalog.constants import VIEW_DAYS
from marketplace.demo_catalog.listing_specs import LISTINGS
from marketplace.demo_catalog.story_data import COLLECTIONS, FEATURED, FOR_DEVELOPERS, STAFF_PICKS
from marketplace.models import Collection, CollectionItem, FeaturedPlacement, Listing, ListingDailyStat


class ShowcaseMixin(LoaderBase):
    # ------------------------------------------------------------------ storefront

    def _collections_and_featured(self) -> None:
        live = self._live()
        fast = [
            spec.title
            for spec in LISTINGS
            if spec.size == "small" and spec.title in live and ("P" in spec.plans or "S" in spec.plans)
        ][:8]
        members = {
            "staff-picks": STAFF_PICKS,
            "fast-and-small": tuple(fast),
            "for-developers": FOR_DEVELOPERS,
        }
        for position, (slug, title, description) in enumerate(COLLECTIONS):
            collection, _ = Collection.objects.get_or_create(
                slug=slug, defaults={"title": title, "description": description, "position": position}
            )
            for item_position, listing_title in enumerate(members[slug]):
                if listing_title in live:
                    CollectionItem.objects.get_or_create(
                        collection=collection,
                        listing=live[listing_title],
                        defaults={"position": item_position},
                    )
        for days_left, title in zip((12, 9, 5), FEATURED, strict=True):
            listing = live[title]
            starts, ends = self.now - timedelta(days=14 - days_left), self.now + timedelta(days=days_left)
            # Granted by staff (nothing paid), so no ledger transaction goes with it.
            FeaturedPlacement.objects.create(listing=listing, starts_at=starts, ends_at=ends, amount_cents=0)
            Listing.objects.filter(pk=listing.pk).update(featured_until=ends)

    def _daily_views(self) -> None:
        """Page views per listing per day for the last 30 days, in line with each one's sales."""
        today = timezone.localdate(self.now)
        popularity = {spec.title: spec.popularity for spec in LISTINGS}
        rows: list[ListingDailyStat] = []
        for title, listing in self._live().items():
            base = 2 + popularity[title] * 6
            for ago in range(VIEW_DAYS):
                day = today - timedelta(days=ago)
                weekend = 0.7 if day.weekday() >= 5 else 1.0
                views = int(base * weekend * self.rng.uniform(0.6, 1.5))
                if views:
                    rows.append(ListingDailyStat(listing=listing, day=day, views=views))
        ListingDailyStat.objects.bulk_create(rows)
        totals = ListingDailyStat.objects.values("listing_id").annotate(total=Sum("views")).order_by()
        for row in totals:
            # Older views than the daily table keeps: about as many again.
            Listing.objects.filter(pk=row["listing_id"]).update(view_count=row["total"] * 2)
