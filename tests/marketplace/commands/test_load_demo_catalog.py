"""`manage.py load_demo_catalog` after the other demo loaders, as `make demo` runs them: a catalog
worth browsing, made through the services (so the ledger verifies and the denormalised columns
agree), with a sales history the creator dashboard can chart, and a second run that changes nothing.

One test runs the loaders once and checks everything: the catalog takes a few seconds to load."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db.models import Count, Max, Min

from accounts.models import User
from marketplace.hosted_demo import DIGITS, REAL_MODELS
from marketplace.models import (
    Category,
    Collection,
    Dispute,
    FeaturedPlacement,
    License,
    Listing,
    ListingDailyStat,
    ListingStatus,
    ListingVersion,
    Order,
    OrderStatus,
    PlanKind,
    Review,
    Subscription,
    SubscriptionStatus,
)
from marketplace.selectors.dashboard import earnings_series
from tokenomics.models import LedgerTransaction
from tokenomics.selectors.ledger import ledger_verify

pytestmark = pytest.mark.django_db


def _load() -> str:
    out = io.StringIO()
    call_command("load_demo_data", stdout=io.StringIO())
    call_command("load_demo_ledger", stdout=io.StringIO())
    call_command("load_demo_catalog", stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            User,
            Category,
            Listing,
            ListingVersion,
            Order,
            License,
            Subscription,
            Review,
            Dispute,
            Collection,
            FeaturedPlacement,
            ListingDailyStat,
            LedgerTransaction,
        )
    }


def test_the_demo_catalog_is_worth_browsing_and_loads_once(django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks() as after_commit:
        output = _load()
    assert "Demo catalog ready" in output
    # Its months of made-up sales, refunds and disputes queue no mail (core.mail.emails_paused).
    assert not [hook for hook in after_commit if hook.__qualname__.endswith("enqueue_email")]

    # A catalog: dozens of listings across the category tree, in every state a creator can see.
    published = Listing.objects.filter(status=ListingStatus.PUBLISHED)
    assert Listing.objects.count() >= 40
    assert published.count() >= 40
    assert Category.objects.filter(parent=None).count() == 5
    assert Category.objects.filter(listings__status=ListingStatus.PUBLISHED).distinct().count() >= 15
    assert Listing.objects.filter(status=ListingStatus.DRAFT).exists()
    assert Listing.objects.filter(status=ListingStatus.SUSPENDED).exists()
    assert Listing.objects.values("creator").distinct().count() >= 8
    demo_creator = User.objects.get(email="creator@agora.local")
    assert Listing.objects.filter(creator=demo_creator).count() >= 5
    assert {"draft", "published", "suspended"} <= set(
        Listing.objects.filter(creator=demo_creator).values_list("status", flat=True)
    )
    assert published.filter(has_one_time=True).exists()
    assert published.filter(has_subscription=True).exists()
    assert published.filter(has_per_inference=True).exists()
    assert published.exclude(quality_tier="community").exists()
    for listing in published:
        assert "<table>" in listing.model_card_html
        assert listing.versions.exclude(artefact="").exists()
        assert listing.benchmarks
        assert listing.sample_io
        assert listing.tags.exists()

    # Sales history: orders in several states over months, from several buyers.
    statuses = set(Order.objects.values_list("status", flat=True))
    assert {
        OrderStatus.PAID,
        OrderStatus.IN_ESCROW,
        OrderStatus.RELEASED,
        OrderStatus.REFUNDED,
        OrderStatus.DISPUTED,
    } <= statuses
    assert set(Order.objects.values_list("kind", flat=True)) == set(PlanKind.values)
    assert set(Order.objects.values_list("asset", flat=True)) == {"USD", "AGR"}
    assert Order.objects.values("buyer").distinct().count() >= 10
    span = Order.objects.aggregate(first=Min("paid_at"), last=Max("paid_at"))
    assert (span["last"] - span["first"]).days >= 60
    assert {SubscriptionStatus.ACTIVE, SubscriptionStatus.CANCELED} <= set(
        Subscription.objects.values_list("status", flat=True)
    )
    assert Dispute.objects.count() == 1
    demo_buyer = User.objects.get(email="buyer@agora.local")
    assert Order.objects.filter(buyer=demo_buyer).count() >= 4

    # The creator dashboard's earnings chart reads the ledger: sales on many days, not only today.
    series = earnings_series(creator=demo_creator, asset="USD", days=90)
    assert sum(1 for point in series.points if point.gross) >= 5
    assert series.earnings > 0

    # Reviews from verified buyers, with replies, and the denormalised rating in step.
    assert Review.objects.count() >= 50
    assert len(set(Review.objects.values_list("rating", flat=True))) >= 3
    assert Review.objects.exclude(reply="").exists()
    counts = dict(Review.objects.values_list("listing").annotate(n=Count("pk")).order_by())
    for listing in Listing.objects.all():
        assert listing.rating_count == counts.get(listing.pk, 0), listing.title
    for review in Review.objects.select_related("listing"):
        assert Order.objects.filter(buyer=review.buyer_id, listing=review.listing_id).exists()

    # The storefront: collections, featured listings, daily views for conversion.
    assert Collection.objects.filter(items__isnull=False).distinct().count() == 3
    assert Listing.objects.filter(featured_until__isnull=False).count() >= 2
    assert ListingDailyStat.objects.values("day").distinct().count() == 30

    # The three models `make demo` really serves, each declaring its Triton model and tensors.
    for model in REAL_MODELS:
        hosted = published.get(creator=demo_creator, title=model.title)
        version = hosted.versions.get()
        assert (version.triton_model_name, version.input_spec, version.output_spec) == (
            model.triton_name,
            model.input_spec,
            model.output_spec,
        )
    assert Subscription.objects.filter(
        buyer=demo_buyer, listing__title=DIGITS.title, status=SubscriptionStatus.ACTIVE
    ).exists()

    assert ledger_verify().ok

    # Running the loaders again changes nothing.
    before = _counts()
    again = _load()
    assert "already loaded" in again
    assert _counts() == before
    assert ledger_verify().ok
