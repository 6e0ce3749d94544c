"""Reviews: verified buyers rate a listing once (and may edit or delete it), the creator replies once,
and the listing's denormalised rating (average and count, read by search and sorting) stays exact.

Every write locks the listing row first, so two writes on one listing's reviews run one after the
other: the buyer's get-or-create cannot race itself into the unique constraint, and the rating
refresh always reads the reviews as they are at commit.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from accounts.models import User
from marketplace.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import Listing, ListingStatus, Review
from marketplace.selectors.orders import buyer_has_purchased
from marketplace.services.search import listing_search_index

RATING_MIN = 1
RATING_MAX = 5
TITLE_MAX = 120  # Review.title max_length
TEXT_MAX = 5_000  # Review.body and Review.reply max_length


def _listing_lock(listing_id: int) -> Listing:
    try:
        return Listing.objects.select_for_update().get(pk=listing_id)
    except Listing.DoesNotExist as exc:
        raise NotFound("No such model.") from exc


def _clean_text(*, field: str, value: str, limit: int) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(detail={field: ["Enter text."]})
    text = value.strip()
    if "\x00" in text:
        raise ValidationFailed(detail={field: ["Null characters are not allowed."]})
    if len(text) > limit:
        raise ValidationFailed(
            f"Keep the {field} to {limit:,} characters or fewer.",
            detail={field: [f"Ensure this field has no more than {limit} characters."]},
        )
    return text


def _clean_rating(rating: object) -> int:
    # bool is an int subclass: True is not one star.
    if type(rating) is not int or not RATING_MIN <= rating <= RATING_MAX:
        raise ValidationFailed(
            "A rating is a whole number of stars from 1 to 5.",
            detail={"rating": ["Give a whole number from 1 to 5."]},
        )
    return rating


def _listing_rating_refresh(listing_id: int) -> Listing:
    """Recount the listing's reviews into rating_count and rating_average (the exact mean rounded
    half up to 2 places, e.g. 5,4,4 -> 4.33; 5,4 -> 4.50), under the listing's row lock."""
    with transaction.atomic():
        listing = _listing_lock(listing_id)
        totals = Review.objects.filter(listing_id=listing_id).aggregate(
            count=Count("pk"), stars=Sum("rating")
        )
        count: int = totals["count"]
        stars: int = totals["stars"] or 0
        hundredths = 0
        if count:
            # Integer division with the remainder: round half up without any float or context.
            hundredths, remainder = divmod(stars * 100, count)
            if remainder * 2 >= count:
                hundredths += 1
        listing.rating_count = count
        listing.rating_average = Decimal(hundredths).scaleb(-2)
        listing.save(update_fields=["rating_count", "rating_average", "updated_at"])
        listing_search_index(listing_id=listing_id)
        return listing


def review_upsert(
    *, buyer: User, listing: Listing, rating: int, title: str = "", body: str = ""
) -> tuple[Review, bool]:
    """Write the buyer's one review of `listing` (create, or edit the existing one) and refresh the
    listing's rating; returns (review, created). Raises PermissionDenied (the creator, or not a
    verified buyer), InvalidState (listing not published), ValidationFailed (rating or text)."""
    stars = _clean_rating(rating)
    clean_title = _clean_text(field="title", value=title, limit=TITLE_MAX)
    clean_body = _clean_text(field="body", value=body, limit=TEXT_MAX)
    with transaction.atomic():
        locked = _listing_lock(listing.pk)
        if locked.creator_id == buyer.pk:
            raise PermissionDenied("You cannot review your own model.")
        if locked.status != ListingStatus.PUBLISHED:
            raise InvalidState("This model is not on sale, so it cannot be reviewed.")
        if not buyer_has_purchased(buyer=buyer, listing=locked):
            raise PermissionDenied("Only buyers of this model can review it.")
        review, created = Review.objects.get_or_create(
            listing=locked,
            buyer=buyer,
            defaults={"rating": stars, "title": clean_title, "body": clean_body},
        )
        if not created:
            review.rating = stars
            review.title = clean_title
            review.body = clean_body
            review.save(update_fields=["rating", "title", "body", "updated_at"])
        refreshed = _listing_rating_refresh(locked.pk)
    listing.rating_count = refreshed.rating_count
    listing.rating_average = refreshed.rating_average
    return review, created


def review_reply(*, creator: User, review: Review, reply: str) -> Review:
    """Record the listing creator's one public reply to `review`. Raises PermissionDenied (not the
    listing's creator), InvalidState (already replied), ValidationFailed (blank or too long)."""
    text = _clean_text(field="reply", value=reply, limit=TEXT_MAX)
    if not text:
        raise ValidationFailed("Write a reply.", detail={"reply": ["This field may not be blank."]})
    with transaction.atomic():
        listing = _listing_lock(review.listing_id)
        if listing.creator_id != creator.pk:
            raise PermissionDenied("Only the model's creator can reply to its reviews.")
        try:
            locked = Review.objects.select_for_update().get(pk=review.pk)
        except Review.DoesNotExist as exc:
            raise NotFound("No such review.") from exc
        if locked.replied_at is not None:
            raise InvalidState("You have already replied to this review.")
        locked.reply = text
        locked.replied_at = timezone.now()
        locked.save(update_fields=["reply", "replied_at", "updated_at"])
    review.reply, review.replied_at = locked.reply, locked.replied_at
    return locked


def review_delete(*, user: User, review: Review) -> Listing:
    """Delete the user's own review and refresh the listing's rating; returns the listing.
    Raises PermissionDenied (another user's review), NotFound (already deleted)."""
    if review.buyer_id != user.pk:
        raise PermissionDenied("Only the author of a review can delete it.")
    with transaction.atomic():
        _listing_lock(review.listing_id)
        deleted, _ = Review.objects.filter(pk=review.pk, buyer=user).delete()
        if not deleted:
            raise NotFound("No such review.")
        return _listing_rating_refresh(review.listing_id)
