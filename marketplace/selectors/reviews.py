"""Reads of reviews: a listing's public list and star histogram, a buyer's own review, and who may
write what."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from accounts.models import User
from marketplace.errors import NotFound
from marketplace.models import Listing, ListingStatus, Review
from marketplace.selectors.orders import buyer_has_purchased


def listing_get_for_reviews(*, slug: str, user: User | None) -> Listing:
    """The listing whose reviews are read or written: published, or any status for its creator.
    Raises NotFound otherwise (an unpublished listing's existence is not revealed)."""
    listing = Listing.objects.select_related("creator").filter(slug=slug).first()
    if listing is None:
        raise NotFound("No such model.")
    if listing.status != ListingStatus.PUBLISHED and (user is None or listing.creator_id != user.pk):
        raise NotFound("No such model.")
    return listing


def review_list(*, listing: Listing) -> QuerySet[Review]:
    """The listing's reviews, newest first, with their authors."""
    return Review.objects.filter(listing=listing).select_related("buyer").order_by("-created_at", "-pk")


def review_get(*, review_id: int) -> Review:
    """One review with its listing and author. Raises NotFound."""
    review = Review.objects.select_related("listing", "buyer").filter(pk=review_id).first()
    if review is None:
        raise NotFound("No such review.")
    return review


def review_get_for_buyer(*, buyer: User, listing: Listing) -> Review | None:
    """The buyer's own review of `listing`, if they wrote one."""
    return Review.objects.filter(listing=listing, buyer=buyer).first()


@dataclass(frozen=True)
class StarCount:
    stars: int
    count: int
    percent: int  # of all reviews, whole and rounded down


def rating_histogram(*, listing: Listing) -> list[StarCount]:
    """How many reviews gave each number of stars, 5 down to 1."""
    counts = {
        row["rating"]: row["n"]
        for row in Review.objects.filter(listing=listing).values("rating").annotate(n=Count("pk")).order_by()
    }
    total = sum(counts.values())
    return [
        StarCount(
            stars=stars,
            count=counts.get(stars, 0),
            percent=counts.get(stars, 0) * 100 // total if total else 0,
        )
        for stars in range(5, 0, -1)
    ]


@dataclass(frozen=True)
class ReviewPermissions:
    is_creator: bool
    can_review: bool  # a verified buyer (not the creator) of a published listing
    own_review: Review | None


def review_permissions(*, user: User | None, listing: Listing) -> ReviewPermissions:
    """What `user` (None when anonymous) may do in the listing's reviews."""
    if user is None:
        return ReviewPermissions(is_creator=False, can_review=False, own_review=None)
    is_creator = listing.creator_id == user.pk
    can_review = (
        not is_creator
        and listing.status == ListingStatus.PUBLISHED
        and buyer_has_purchased(buyer=user, listing=listing)
    )
    return ReviewPermissions(
        is_creator=is_creator,
        can_review=can_review,
        own_review=None if is_creator else review_get_for_buyer(buyer=user, listing=listing),
    )
