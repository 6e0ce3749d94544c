"""The demo catalog loader's shared state and helpers."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import OutputWrapper
from django.core.management.color import Style
from django.db.models import QuerySet

from accounts import services as account_services
from accounts.management.commands.load_demo_data import DEMO_PASSWORD
from accounts.models import User
from marketplace.demo_catalog.cards import Event
from marketplace.demo_catalog.constants import CATEGORY_TREE
from marketplace.models import Category, License, Listing, ListingStatus, Order, Plan, Review
from tokenomics.models import Escrow


class LoaderBase:
    """The story's state and the helpers every part of it uses."""

    stdout: OutputWrapper
    style: Style
    rng: random.Random
    now: datetime
    at: datetime  # the moment of the story step being played
    staff: User
    creators: dict[str, User]
    listings: dict[str, Listing]
    plans: dict[str, list[Plan]]
    orders: dict[str, int]
    subscriptions: dict[str, int]
    reviews: dict[str, Review]
    events: list[Event]
    refund_window: timedelta

    # ------------------------------------------------------------------ setup

    def _summary(self) -> str:
        listings = Listing.objects.count()
        published = Listing.objects.filter(status=ListingStatus.PUBLISHED).count()
        return (
            f"{listings} listings ({published} published), {Order.objects.count()} orders, "
            f"{Review.objects.count()} reviews."
        )

    def _categories(self) -> dict[str, Category]:
        by_slug: dict[str, Category] = {}
        for position, (slug, name, description, children) in enumerate(CATEGORY_TREE):
            parent, _ = Category.objects.get_or_create(
                slug=slug, defaults={"name": name, "position": position, "description": description}
            )
            for child_position, (child_slug, child_name) in enumerate(children):
                by_slug[child_slug], _ = Category.objects.get_or_create(
                    slug=child_slug,
                    defaults={"name": child_name, "parent": parent, "position": child_position},
                )
        return by_slug

    def _user(self, email: str, display_name: str) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = account_services.user_create(email=email, password=DEMO_PASSWORD, email_verified=True)
            account_services.user_profile_update(user=user, display_name=display_name)
        return user

    def _at(self, event_at: datetime, run: Callable[[], None], *, durable: bool = False) -> None:
        at = min(event_at, self.now - timedelta(minutes=5))
        self.events.append(Event(at, len(self.events), run, durable))

    def _dated(self, rows: QuerySet[Any], *fields: str) -> None:
        """Date the plain timestamps (`fields`, and updated_at) of rows the current step just wrote
        at the step's moment: the services stamp them with the real clock. Never ledger rows
        (their triggers refuse any update): the services date those themselves, from `at`."""
        rows.update(**dict.fromkeys(("updated_at", *fields), self.at))

    def _dated_order(self, order_id: int, *fields: str) -> None:
        """`_dated` for an order and what goes with it: its license and its escrow."""
        self._dated(Order.objects.filter(pk=order_id), *fields)
        self._dated(License.objects.filter(order_id=order_id), *fields)
        self._dated(
            Escrow.objects.filter(pk__in=Order.objects.filter(pk=order_id).values("escrow_id")), *fields
        )

    def _live(self) -> dict[str, Listing]:
        published = set(
            Listing.objects.filter(
                status=ListingStatus.PUBLISHED, pk__in=[x.pk for x in self.listings.values()]
            ).values_list("pk", flat=True)
        )
        return {title: listing for title, listing in self.listings.items() if listing.pk in published}
