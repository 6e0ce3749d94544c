"""Review pages: a listing's reviews section (on the listing page through `{% reviews_section %}`,
and standalone for paging without JavaScript), and the htmx posts that write, reply and delete.

Every post answers an htmx request with the re-rendered section (status 200, so that htmx swaps
it in), and a plain form post with a redirect back on success or the reviews page with the error
status. A refused review or reply is shown on its form (core.forms.service_error_to_form: beside
the field it names, else at the top); a refused delete, a bare button, in the messages."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.http import authenticated_user
from accounts.models import User
from core.exceptions import ApplicationError
from core.forms import service_error_to_form
from core.types import HtmxHttpRequest
from marketplace.errors import NotFound
from marketplace.forms import ReplyForm, ReviewForm
from marketplace.models import Listing, Review
from marketplace.selectors.reviews import (
    listing_get_for_reviews,
    rating_histogram,
    review_get,
    review_list,
    review_permissions,
)
from marketplace.services.reviews import review_delete, review_reply, review_upsert

REVIEWS_PAGE_SIZE = 10
PAGE_PARAM = "reviews_page"
SECTION_TEMPLATE = "marketplace/reviews/_section_body.html"
RATING_TEMPLATE = "marketplace/catalog/_rating.html"


def _viewer(request: HttpRequest) -> User | None:
    user = getattr(request, "user", None)
    return user if isinstance(user, User) else None


def section_context(
    *,
    request: HttpRequest,
    listing: Listing,
    page_number: int | str | None = None,
    form: ReviewForm | None = None,
    notice: str = "",
    reply_form: ReplyForm | None = None,
) -> dict[str, Any]:
    """Everything `_section_body.html` shows for `listing` to the request's user: the summary, a
    page of reviews, and the forms this user may use (pre-filled with their review when editing;
    `form` and `reply_form` are a refused post's, shown again with its errors)."""
    viewer = _viewer(request)
    permissions = review_permissions(user=viewer, listing=listing)
    if page_number is None:
        page_number = request.GET.get(PAGE_PARAM)
    page = Paginator(review_list(listing=listing), REVIEWS_PAGE_SIZE).get_page(page_number)
    own = permissions.own_review
    if form is None:
        form = ReviewForm(initial={"rating": own.rating, "title": own.title, "body": own.body} if own else {})
    return {
        "request": request,
        "user": request.user if hasattr(request, "user") else None,
        "listing": listing,
        "histogram": rating_histogram(listing=listing),
        # Whole stars for the star row; the exact average is printed beside it.
        "average_stars": int(Decimal(listing.rating_average).quantize(Decimal(1), rounding=ROUND_HALF_UP)),
        "page": page,
        "reviews": page.object_list,
        "page_param": PAGE_PARAM,
        "permissions": permissions,
        "form": form,
        "notice": notice,
        "reply_form": reply_form,
        "reviews_url": reverse("marketplace:listing-reviews", kwargs={"slug": listing.slug}),
        "next_url": request.get_full_path() if request.method == "GET" else request.POST.get("next", ""),
    }


def _listing_or_404(slug: str, user: User | None) -> Listing:
    try:
        return listing_get_for_reviews(slug=slug, user=user)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _review_or_404(review_id: int) -> Review:
    try:
        return review_get(review_id=review_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _back(request: HttpRequest, listing: Listing) -> HttpResponse:
    """Where a plain (non-htmx) post returns to: the page it came from, or the reviews page."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("marketplace:listing-reviews", kwargs={"slug": listing.slug})
    return redirect(f"{target.split('#', 1)[0]}#reviews")


def _respond(request: HtmxHttpRequest, listing: Listing, *, status: int = 200, **extra: Any) -> HttpResponse:
    context = section_context(request=request, listing=listing, page_number=1, **extra)
    if request.htmx:
        # htmx swaps only 2xx answers; the errors are in the markup it swaps in. The listing page's
        # header rating rides along as an out-of-band swap, so that it follows a new, edited or
        # deleted review (`listing` carries the counts the review service just wrote).
        response = render(request, SECTION_TEMPLATE, context)
        response.write(render_to_string(RATING_TEMPLATE, {"listing": listing, "oob": True}, request=request))
        return response
    return render(request, "marketplace/reviews/page.html", context, status=status)


@require_GET
@vary_on_headers("HX-Request")
def listing_reviews(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The reviews section on its own page (paging without JavaScript), or its markup for htmx."""
    listing = _listing_or_404(slug, _viewer(request))
    context = section_context(request=request, listing=listing)
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, SECTION_TEMPLATE, context)
    return render(request, "marketplace/reviews/page.html", context)


@login_required
@require_POST
def review_submit(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Write or edit the user's review of the listing."""
    user = authenticated_user(request)
    listing = _listing_or_404(slug, user)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        form.focus_first_error()
        return _respond(request, listing, status=400, form=form)
    try:
        _, created = review_upsert(buyer=user, listing=listing, **form.cleaned_data)
    except ApplicationError as exc:
        service_error_to_form(form, exc)
        form.focus_first_error()
        return _respond(request, listing, status=exc.status_code, form=form)
    if not request.htmx:
        return _back(request, listing)
    notice = "Thank you: your review is published." if created else "Your review is updated."
    return _respond(request, listing, notice=notice)


@login_required
@require_POST
def review_reply_submit(request: HtmxHttpRequest, review_id: int) -> HttpResponse:
    """The listing creator's one reply to a review."""
    user = authenticated_user(request)
    review = _review_or_404(review_id)
    listing = _listing_or_404(review.listing.slug, user)
    form = ReplyForm(request.POST, review_id=review.pk)
    if not form.is_valid():
        form.focus_first_error()
        return _respond(request, listing, status=400, reply_form=form)
    try:
        review_reply(creator=user, review=review, reply=form.cleaned_data["reply"])
    except ApplicationError as exc:
        service_error_to_form(form, exc)
        form.focus_first_error()
        return _respond(request, listing, status=exc.status_code, reply_form=form)
    if not request.htmx:
        return _back(request, listing)
    return _respond(request, listing, notice="Your reply is published.")


@login_required
@require_POST
def review_delete_submit(request: HtmxHttpRequest, review_id: int) -> HttpResponse:
    """Delete the user's own review (a bare button: a refusal goes to the messages)."""
    user = authenticated_user(request)
    review = _review_or_404(review_id)
    listing = review.listing
    try:
        review_delete(user=user, review=review)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _respond(request, _listing_or_404(listing.slug, user), status=exc.status_code)
    listing.refresh_from_db()
    if not request.htmx:
        return _back(request, listing)
    return _respond(request, listing, form=ReviewForm(), notice="Your review is deleted.")


urlpatterns: list[URLPattern] = [
    path("models/<slug:slug>/reviews/", listing_reviews, name="listing-reviews"),
    path("models/<slug:slug>/reviews/submit/", review_submit, name="review-submit"),
    path("reviews/<int:review_id>/reply/", review_reply_submit, name="review-reply-submit"),
    path("reviews/<int:review_id>/delete/", review_delete_submit, name="review-delete"),
]
