"""Reviews: verified buyers only, one per buyer per listing (editable), one creator reply, and the
listing's rating average and count kept exact."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marketplace.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import Listing, ListingStatus, OrderStatus, Review
from marketplace.services.reviews import review_delete, review_reply, review_upsert
from marketplace.services.search import listing_search_index
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import ListingFactory, paid_order, verified_buyer

pytestmark = pytest.mark.django_db


def fresh(listing: Listing) -> Listing:
    return Listing.objects.get(pk=listing.pk)


@pytest.fixture
def listing() -> Listing:
    return ListingFactory()


def test_verified_buyer_writes_a_review(listing):
    buyer = verified_buyer(listing)
    review, created = review_upsert(buyer=buyer, listing=listing, rating=4, title=" Good ", body="Fast.")
    assert created is True
    assert (review.rating, review.title, review.body) == (4, "Good", "Fast.")
    assert (fresh(listing).rating_average, fresh(listing).rating_count) == (Decimal("4.00"), 1)
    # The caller's listing object is brought up to date too.
    assert (listing.rating_average, listing.rating_count) == (Decimal("4.00"), 1)


def test_unverified_buyer_is_refused(listing):
    stranger = UserFactory()
    with pytest.raises(PermissionDenied, match=r"^Only buyers of this model can review it\.$"):
        review_upsert(buyer=stranger, listing=listing, rating=5)
    assert not Review.objects.exists()
    assert fresh(listing).rating_count == 0


@pytest.mark.parametrize("status", [OrderStatus.AWAITING_PAYMENT, OrderStatus.CANCELED, OrderStatus.REFUNDED])
def test_unpaid_or_refunded_orders_do_not_verify(listing, status):
    buyer = UserFactory()
    paid_order(buyer=buyer, listing=listing, status=status)
    with pytest.raises(PermissionDenied):
        review_upsert(buyer=buyer, listing=listing, rating=5)


def test_a_purchase_of_another_listing_does_not_verify(listing):
    buyer = verified_buyer(ListingFactory())
    with pytest.raises(PermissionDenied):
        review_upsert(buyer=buyer, listing=listing, rating=5)


def test_creator_cannot_review_own_listing(listing):
    paid_order(buyer=listing.creator, listing=listing)  # even having "bought" it
    with pytest.raises(PermissionDenied, match="your own model"):
        review_upsert(buyer=listing.creator, listing=listing, rating=5)


def test_unpublished_listing_cannot_be_reviewed(listing):
    buyer = verified_buyer(listing)
    Listing.objects.filter(pk=listing.pk).update(status=ListingStatus.SUSPENDED)
    listing_search_index(listing_id=listing.pk)
    with pytest.raises(InvalidState):
        review_upsert(buyer=buyer, listing=fresh(listing), rating=5)


@pytest.mark.parametrize("rating", [0, 6, -1, True, 4.0, "4", None])
def test_rating_must_be_a_whole_number_from_1_to_5(listing, rating):
    buyer = verified_buyer(listing)
    with pytest.raises(ValidationFailed) as caught:
        review_upsert(buyer=buyer, listing=listing, rating=rating)
    assert caught.value.detail == {"rating": ["Give a whole number from 1 to 5."]}


def test_text_limits(listing):
    buyer = verified_buyer(listing)
    with pytest.raises(ValidationFailed):
        review_upsert(buyer=buyer, listing=listing, rating=3, title="x" * 121)
    with pytest.raises(ValidationFailed):
        review_upsert(buyer=buyer, listing=listing, rating=3, body="x" * 5001)
    review, _ = review_upsert(buyer=buyer, listing=listing, rating=3, title="x" * 120, body="y" * 5000)
    assert len(review.title) == 120


def test_one_review_per_buyer_and_an_edit_updates_it(listing):
    buyer = verified_buyer(listing)
    first, created = review_upsert(buyer=buyer, listing=listing, rating=2, title="Meh")
    second, created_again = review_upsert(buyer=buyer, listing=listing, rating=5, title="Better now")
    assert (created, created_again) == (True, False)
    assert first.pk == second.pk
    assert Review.objects.filter(listing=listing).count() == 1
    stored = Review.objects.get()
    assert (stored.rating, stored.title) == (5, "Better now")
    assert (fresh(listing).rating_average, fresh(listing).rating_count) == (Decimal("5.00"), 1)


@pytest.mark.parametrize(
    ("ratings", "average"),
    [
        ([5, 4, 4], Decimal("4.33")),
        ([5, 4], Decimal("4.50")),
        ([5, 5, 4], Decimal("4.67")),  # 4.666… rounds up
        ([1, 2, 2, 2, 2, 2], Decimal("1.83")),  # 1.8333…
        ([3, 4, 4, 4, 4, 4, 4, 4], Decimal("3.88")),  # 3.875 exactly: half rounds up
        ([1], Decimal("1.00")),
    ],
)
def test_average_is_the_exact_mean_rounded_half_up(listing, ratings, average):
    for rating in ratings:
        review_upsert(buyer=verified_buyer(listing), listing=listing, rating=rating)
    stored = fresh(listing)
    assert stored.rating_average == average
    assert str(stored.rating_average) == str(average)
    assert stored.rating_count == len(ratings)


def test_an_edit_moves_the_average(listing):
    buyers = [verified_buyer(listing) for _ in range(3)]
    for buyer, rating in zip(buyers, [5, 4, 4], strict=True):
        review_upsert(buyer=buyer, listing=listing, rating=rating)
    review_upsert(buyer=buyers[2], listing=listing, rating=1)
    assert (fresh(listing).rating_average, fresh(listing).rating_count) == (Decimal("3.33"), 3)


def test_reviews_of_other_listings_do_not_count(listing):
    other = ListingFactory()
    review_upsert(buyer=verified_buyer(other), listing=other, rating=1)
    review_upsert(buyer=verified_buyer(listing), listing=listing, rating=5)
    assert fresh(listing).rating_average == Decimal("5.00")
    assert fresh(other).rating_average == Decimal("1.00")


def test_creator_replies_once(listing):
    review, _ = review_upsert(buyer=verified_buyer(listing), listing=listing, rating=3)
    replied = review_reply(creator=listing.creator, review=review, reply="  Thanks, fixed in 1.2.  ")
    assert replied.reply == "Thanks, fixed in 1.2."
    assert replied.replied_at is not None
    with pytest.raises(InvalidState, match="already replied"):
        review_reply(creator=listing.creator, review=review, reply="Again")
    assert Review.objects.get().reply == "Thanks, fixed in 1.2."


def test_only_the_creator_replies(listing):
    buyer = verified_buyer(listing)
    review, _ = review_upsert(buyer=buyer, listing=listing, rating=3)
    for intruder in (buyer, UserFactory(), ListingFactory().creator):
        with pytest.raises(PermissionDenied):
            review_reply(creator=intruder, review=review, reply="Not mine to answer")
    assert Review.objects.get().replied_at is None


def test_blank_reply_is_refused(listing):
    review, _ = review_upsert(buyer=verified_buyer(listing), listing=listing, rating=3)
    with pytest.raises(ValidationFailed):
        review_reply(creator=listing.creator, review=review, reply="   ")


def test_an_edit_keeps_the_reply(listing):
    buyer = verified_buyer(listing)
    review, _ = review_upsert(buyer=buyer, listing=listing, rating=2)
    review_reply(creator=listing.creator, review=review, reply="Sorry, try 1.1")
    review_upsert(buyer=buyer, listing=listing, rating=4)
    assert Review.objects.get().reply == "Sorry, try 1.1"


def test_author_deletes_and_the_average_is_recomputed(listing):
    keep, _ = review_upsert(buyer=verified_buyer(listing), listing=listing, rating=5)
    gone, _ = review_upsert(buyer=verified_buyer(listing), listing=listing, rating=2)
    updated = review_delete(user=gone.buyer, review=gone)
    assert list(Review.objects.values_list("pk", flat=True)) == [keep.pk]
    assert (updated.rating_average, updated.rating_count) == (Decimal("5.00"), 1)
    review_delete(user=keep.buyer, review=keep)
    assert (fresh(listing).rating_average, fresh(listing).rating_count) == (Decimal("0.00"), 0)
    with pytest.raises(NotFound):
        review_delete(user=keep.buyer, review=keep)


def test_another_users_review_cannot_be_deleted(listing):
    review, _ = review_upsert(buyer=verified_buyer(listing), listing=listing, rating=5)
    for intruder in (listing.creator, UserFactory(), verified_buyer(listing)):
        with pytest.raises(PermissionDenied):
            review_delete(user=intruder, review=review)
    assert Review.objects.filter(pk=review.pk).exists()


def test_another_buyers_upsert_never_touches_my_review(listing):
    mine, _ = review_upsert(buyer=verified_buyer(listing), listing=listing, rating=5, title="Mine")
    review_upsert(buyer=verified_buyer(listing), listing=listing, rating=1, title="Theirs")
    mine.refresh_from_db()
    assert (mine.rating, mine.title) == (5, "Mine")
    assert Review.objects.count() == 2
