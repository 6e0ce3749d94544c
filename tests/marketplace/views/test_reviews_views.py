"""The reviews section: what each visitor sees (summary, histogram, replies, the forms they may use),
and the htmx posts that write, edit, reply and delete."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string
from django.test import RequestFactory

from accounts.models import User
from marketplace.models import Listing, ListingStatus, Review
from marketplace.services.reviews import review_reply, review_upsert
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import ListingFactory, verified_buyer

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "reviews"}


def section(listing: Listing, user: User | None) -> str:
    """`_section.html` as the listing page includes it (listing and request in the context)."""
    request = RequestFactory().get(f"/models/{listing.slug}/")
    request.user = user or AnonymousUser()
    return render_to_string(
        "marketplace/reviews/_section.html", {"listing": listing, "reviews": []}, request=request
    )


def submit_url(listing: Listing) -> str:
    return f"/models/{listing.slug}/reviews/submit/"


@pytest.fixture
def listing() -> Listing:
    return ListingFactory()


def test_section_shows_average_count_histogram_and_replies(listing):
    ratings = [5, 4, 4]
    reviews = [review_upsert(buyer=verified_buyer(listing), listing=listing, rating=r)[0] for r in ratings]
    review_reply(creator=listing.creator, review=reviews[0], reply="Glad it helps")
    html = section(Listing.objects.get(pk=listing.pk), None)
    assert "<strong data-rating-average>4.33</strong> out of 5" in html
    assert "3 reviews" in html
    counts = dict(re.findall(r'data-stars="(\d)">(\d+)<', html))
    assert counts == {"5": "1", "4": "2", "3": "0", "2": "0", "1": "0"}
    assert "Reply from the creator" in html
    assert "Glad it helps" in html
    assert 'aria-label="4 out of 5 stars"' in html


def test_anonymous_and_unverified_see_no_form(listing):
    for user in (None, UserFactory()):
        html = section(listing, user)
        assert "review-form" not in html
        assert "Only buyers of this model can review it" in html
        assert "No reviews yet." in html


def test_verified_buyer_sees_the_form_then_it_is_prefilled(listing):
    buyer = verified_buyer(listing)
    html = section(listing, buyer)
    assert "Review this model" in html
    assert 'name="csrfmiddlewaretoken"' in html or "csrf" in html
    review_upsert(buyer=buyer, listing=listing, rating=2, title="Slow <b>cold</b> start", body="Meh")
    html = section(Listing.objects.get(pk=listing.pk), buyer)
    assert "Edit your review" in html
    assert 'value="2" required checked' in html
    assert 'value="Slow &lt;b&gt;cold&lt;/b&gt; start"' in html  # escaped
    assert ">Meh</textarea>" in html
    assert "Delete my review" in html


def test_creator_sees_reply_forms_only_for_unanswered_reviews(listing):
    answered, _ = review_upsert(buyer=verified_buyer(listing), listing=listing, rating=5)
    open_review, _ = review_upsert(buyer=verified_buyer(listing), listing=listing, rating=1)
    review_reply(creator=listing.creator, review=answered, reply="Thanks")
    html = section(listing, listing.creator)
    assert f"/reviews/{open_review.pk}/reply/" in html
    assert f"/reviews/{answered.pk}/reply/" not in html
    assert "review-form" not in html


def test_htmx_post_creates_and_returns_the_section(client, listing):
    buyer = verified_buyer(listing)
    client.force_login(buyer)
    response = client.post(submit_url(listing), {"rating": "4", "title": "Good", "body": "Fast"}, **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="reviews"')
    assert "your review is published" in html
    assert "<strong data-rating-average>4.00</strong>" in html
    assert Review.objects.get().title == "Good"


def test_htmx_post_edits(client, listing):
    buyer = verified_buyer(listing)
    review_upsert(buyer=buyer, listing=listing, rating=5)
    client.force_login(buyer)
    response = client.post(submit_url(listing), {"rating": "3"}, **HX)
    assert "Your review is updated." in response.content.decode()
    assert Review.objects.get().rating == 3
    assert Listing.objects.get(pk=listing.pk).rating_average == Decimal("3.00")


def test_plain_post_redirects_back(client, listing):
    client.force_login(verified_buyer(listing))
    response = client.post(submit_url(listing), {"rating": "5", "next": f"/models/{listing.slug}/"})
    assert response.status_code == 302
    assert response["Location"] == f"/models/{listing.slug}/#reviews"
    evil = client.post(submit_url(listing), {"rating": "4", "next": "https://evil.example/"})
    assert evil["Location"] == f"/models/{listing.slug}/reviews/#reviews"


def test_unverified_post_shows_the_error_and_writes_nothing(client, listing):
    client.force_login(UserFactory())
    response = client.post(submit_url(listing), {"rating": "5"}, **HX)
    assert response.status_code == 200  # htmx swaps only 2xx; the error is in the markup
    assert "Only buyers of this model can review it." in response.content.decode()
    plain = client.post(submit_url(listing), {"rating": "5"})
    assert plain.status_code == 403
    assert not Review.objects.exists()


def test_invalid_rating_is_shown_next_to_the_field(client, listing):
    client.force_login(verified_buyer(listing))
    response = client.post(submit_url(listing), {"rating": "9", "title": "Kept"}, **HX)
    html = response.content.decode()
    assert 'class="errorlist"' in html
    assert 'value="Kept"' in html
    assert not Review.objects.exists()


def test_anonymous_post_goes_to_log_in(client, listing):
    response = client.post(submit_url(listing), {"rating": "5"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_reply_once_through_the_page(client, listing):
    review, _ = review_upsert(buyer=verified_buyer(listing), listing=listing, rating=2)
    client.force_login(listing.creator)
    reply_url = f"/reviews/{review.pk}/reply/"
    response = client.post(reply_url, {"reply": "Try 1.2"}, **HX)
    assert "Your reply is published." in response.content.decode()
    again = client.post(reply_url, {"reply": "Second"}, **HX)
    assert "Try 1.2" in again.content.decode()
    assert Review.objects.get().reply == "Try 1.2"
    assert client.post(reply_url, {"reply": "Second"}).status_code == 409


def test_another_user_cannot_reply_or_delete(client, listing):
    buyer = verified_buyer(listing)
    review, _ = review_upsert(buyer=buyer, listing=listing, rating=2)
    client.force_login(UserFactory())
    assert client.post(f"/reviews/{review.pk}/reply/", {"reply": "Hijack"}).status_code == 403
    assert client.post(f"/reviews/{review.pk}/delete/").status_code == 403
    stored = Review.objects.get()
    assert (stored.reply, stored.rating) == ("", 2)


def test_author_deletes_through_the_page(client, listing):
    buyer = verified_buyer(listing)
    review, _ = review_upsert(buyer=buyer, listing=listing, rating=2)
    client.force_login(buyer)
    response = client.post(f"/reviews/{review.pk}/delete/", **HX)
    assert "Your review is deleted." in response.content.decode()
    assert "Review this model" in response.content.decode()  # still a buyer: may review again
    assert not Review.objects.exists()


def test_reviews_page_pages_ten_at_a_time(client, listing):
    for _ in range(12):
        review_upsert(buyer=verified_buyer(listing), listing=listing, rating=4)
    page_url = f"/models/{listing.slug}/reviews/"
    first = client.get(page_url).content.decode()
    assert first.count('class="review" id="review-') == 10
    assert "Page 1 of 2" in first
    second = client.get(page_url, {"reviews_page": 2}, **HX).content.decode()
    assert second.lstrip().startswith('<section id="reviews"')
    assert second.count('class="review" id="review-') == 2


def test_unpublished_listing_reviews_are_404_except_to_the_creator(client):
    draft = ListingFactory(status=ListingStatus.DRAFT)
    assert client.get(f"/models/{draft.slug}/reviews/").status_code == 404
    client.force_login(draft.creator)
    assert client.get(f"/models/{draft.slug}/reviews/").status_code == 200


def test_htmx_post_swaps_the_header_rating_out_of_band(client, listing):
    buyer = verified_buyer(listing)
    client.force_login(buyer)
    html = client.post(submit_url(listing), {"rating": "4"}, **HX).content.decode()
    assert html.lstrip().startswith('<section id="reviews"')
    rating = html[html.index('<span class="rating" id="listing-rating"') :]
    assert 'hx-swap-oob="true"' in rating
    assert "★ 4.0" in rating
    assert "from 1 review<" in rating
    edited = client.post(submit_url(listing), {"rating": "2"}, **HX).content.decode()
    assert 'id="listing-rating" hx-swap-oob="true">★ 2.0' in edited
    review = Review.objects.get()
    deleted = client.post(f"/reviews/{review.pk}/delete/", **HX).content.decode()
    assert 'id="listing-rating" hx-swap-oob="true"><span class="muted">No reviews yet' in deleted


def test_full_pages_have_the_rating_without_out_of_band_swap(client, listing):
    buyer = verified_buyer(listing)
    review_upsert(buyer=buyer, listing=listing, rating=5)
    page = client.get(f"/models/{listing.slug}/").content.decode()
    assert '<span class="rating" id="listing-rating">★ 5.0' in page
    assert "hx-swap-oob" not in page
    client.force_login(buyer)
    invalid = client.post(submit_url(listing), {"rating": "9"})
    assert invalid.status_code == 400
    assert "hx-swap-oob" not in invalid.content.decode()
    plain = client.post(submit_url(listing), {"rating": "4"})
    assert plain.status_code == 302
    assert "hx-swap-oob" not in plain.content.decode()


# ----------------------------------------------------------------------------- where a refusal lands
# core.forms.service_error_to_form: a message that names a field beside it, the rest at the top.


def field_errors(html: str, auto_id: str) -> str:
    """The text of the error list Django renders for the field whose id is `auto_id`."""
    found = re.search(rf'<ul class="errorlist" id="{re.escape(auto_id)}_error">(.*?)</ul>', html, re.S)
    assert found, f"no error list beside {auto_id}"
    return found.group(1)


def top_errors(html: str) -> list[str]:
    """The messages of every form-errors box (a form's non-field errors) in `html`."""
    boxes = re.findall(
        r'<div class="form-errors"[^>]*><ul class="errorlist nonfield">(.*?)</ul></div>', html, re.S
    )
    return [message for box in boxes for message in re.findall(r"<li>(.*?)</li>", box, re.S)]


def test_a_too_long_title_is_shown_beside_the_title_and_nothing_is_written(client, listing):
    client.force_login(verified_buyer(listing))
    response = client.post(submit_url(listing), {"rating": "4", "title": "x" * 121, "body": "Kept"}, **HX)
    html = response.content.decode()
    assert "at most 120 characters" in field_errors(html, "review-title")
    assert 'aria-describedby="review-title_error"' in html
    assert ">Kept</textarea>" in html
    assert top_errors(html) == []
    assert not Review.objects.exists()


def test_the_creators_own_review_is_refused_at_the_top_and_nothing_is_written(client, listing):
    client.force_login(listing.creator)
    response = client.post(submit_url(listing), {"rating": "5", "title": "Mine"}, **HX)
    assert response.status_code == 200  # htmx swaps only 2xx; the refusal is in the markup
    html = response.content.decode()
    assert top_errors(html) == ["You cannot review your own model."]
    assert 'class="alert alert-error"' not in html  # no ad-hoc alert beside the form's own box
    plain = client.post(submit_url(listing), {"rating": "5"})
    assert plain.status_code == 403
    assert top_errors(plain.content.decode()) == ["You cannot review your own model."]
    assert not Review.objects.exists()


def test_an_unverified_buyers_review_is_refused_at_the_top(client, listing):
    client.force_login(UserFactory())
    html = client.post(submit_url(listing), {"rating": "5"}, **HX).content.decode()
    assert top_errors(html) == ["Only buyers of this model can review it."]
    assert not Review.objects.exists()


def test_a_blank_reply_is_shown_beside_the_reply_box_and_nothing_is_written(client, listing):
    review, _ = review_upsert(buyer=verified_buyer(listing), listing=listing, rating=2)
    client.force_login(listing.creator)
    html = client.post(f"/reviews/{review.pk}/reply/", {"reply": "   "}, **HX).content.decode()
    assert "This field is required." in field_errors(html, f"review-{review.pk}-reply")
    assert f'aria-describedby="review-{review.pk}-reply_error"' in html
    stored = Review.objects.get()
    assert (stored.reply, stored.replied_at) == ("", None)


def test_a_second_reply_is_refused_beside_the_review_and_the_first_stands(client, listing):
    review, _ = review_upsert(buyer=verified_buyer(listing), listing=listing, rating=2)
    review_reply(creator=listing.creator, review=review, reply="First")
    client.force_login(listing.creator)
    response = client.post(f"/reviews/{review.pk}/reply/", {"reply": "Second"}, **HX)
    html = response.content.decode()
    assert top_errors(html) == ["You have already replied to this review."]
    block = html[html.index(f'id="review-{review.pk}"') :]
    assert block.index("First") < block.index("You have already replied to this review.")
    assert Review.objects.get().reply == "First"


def test_a_refused_delete_goes_to_the_messages(client, listing):
    buyer = verified_buyer(listing)
    review, _ = review_upsert(buyer=buyer, listing=listing, rating=2)
    client.force_login(listing.creator)
    html = client.post(f"/reviews/{review.pk}/delete/", **HX).content.decode()
    assert re.search(
        r'<ul class="messages" id="messages">\s*<li class="alert alert-error" role="status">'
        r"Only the author of a review can delete it.</li>",
        html,
    )
    assert Review.objects.filter(pk=review.pk).exists()
