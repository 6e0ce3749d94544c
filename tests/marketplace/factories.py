"""Catalog builders. Orders, licenses and subscriptions are made through the services (they move
money; tests/marketplace/commerce.py), except `paid_order`: a bare order row for tests of what
reads orders."""

from __future__ import annotations

from datetime import datetime

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.models import User
from marketplace.models import (
    Category,
    Listing,
    ListingStatus,
    ListingVersion,
    Order,
    OrderStatus,
    Plan,
    PlanKind,
)
from marketplace.services.search import listing_search_index
from tests.accounts.factories import UserFactory


class CategoryFactory(DjangoModelFactory[Category]):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ListingFactory(DjangoModelFactory[Listing]):
    """A published listing (use status=ListingStatus.DRAFT for a draft)."""

    class Meta:
        model = Listing
        skip_postgeneration_save = True

    creator = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Model {n}")
    slug = factory.Sequence(lambda n: f"model-{n}")
    summary = "A small model for tests."
    category = factory.SubFactory(CategoryFactory)
    status = ListingStatus.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def search_index(self, create: bool, extracted: object, **kwargs: object) -> None:
        # Written straight to the table, so index it the way the services do after their writes;
        # a test that changes the row or its tags afterwards calls listing_search_index itself.
        if create:
            listing_search_index(listing_id=self.pk)


class VersionFactory(DjangoModelFactory[ListingVersion]):
    """A version without an artefact (upload one through marketplace.services.listings)."""

    class Meta:
        model = ListingVersion

    listing = factory.SubFactory(ListingFactory)
    version = factory.Sequence(lambda n: f"1.{n}.0")
    minor = factory.Sequence(lambda n: n)
    major = 1
    triton_model_name = "identity_fp32"
    input_spec = factory.LazyFunction(lambda: [{"name": "INPUT_1", "datatype": "FP32", "shape": [-1, 4]}])
    output_spec = factory.LazyFunction(lambda: [{"name": "OUTPUT_1", "datatype": "FP32", "shape": [-1, 4]}])


class PlanFactory(DjangoModelFactory[Plan]):
    """A one-time plan at $49.00 (kind=PlanKind.SUBSCRIPTION needs interval="month")."""

    class Meta:
        model = Plan

    listing = factory.SubFactory(ListingFactory)
    kind = PlanKind.ONE_TIME
    name = "Perpetual"
    price_cents = 4_900


def paid_order(
    *,
    listing: Listing,
    buyer: User | None = None,
    status: str = OrderStatus.RELEASED,
    paid_at: datetime | None = None,
    total: int | None = None,
) -> Order:
    """The row a paid one-time card order of the listing leaves, written directly (no payment, no
    ledger): for tests of what reads orders (verified buyers, trending, the creator dashboard), not
    of how orders are paid, which go through the services (tests/marketplace/commerce.py)."""
    plan = listing.plans.first() or PlanFactory(listing=listing)
    amount = plan.price_cents if total is None else total
    return Order.objects.create(
        buyer=buyer or UserFactory(),
        plan=plan,
        listing=listing,
        kind=plan.kind,
        rail="card",
        asset="USD",
        list_amount=amount,
        total=amount,
        status=status,
        paid_at=paid_at or timezone.now(),
    )


def verified_buyer(listing: Listing) -> User:
    """A buyer with a paid order of the listing: allowed to review it."""
    buyer = UserFactory()
    paid_order(buyer=buyer, listing=listing)
    return buyer
