"""Reviews through the API: a listing's reviews (anyone), a verified buyer's review (write or edit),
the creator's reply, and deleting one's own review."""

from __future__ import annotations

from typing import Any, ClassVar

from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import authenticated_user
from accounts.models import User
from accounts.permissions import HasScope
from core.api import ErrorSerializer, Pagination, StrictCharField, paginated_response
from marketplace.models import Review
from marketplace.selectors.reviews import listing_get_for_reviews, review_get, review_list
from marketplace.services.reviews import TEXT_MAX, TITLE_MAX, review_delete, review_reply, review_upsert


class ReplyOutputSerializer(serializers.Serializer[Any]):
    body = serializers.CharField(source="reply")
    replied_at = serializers.DateTimeField()


class ReviewOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    listing = serializers.CharField(source="listing.slug", help_text="The reviewed listing's slug.")
    author = serializers.CharField(source="buyer.public_name", help_text="The buyer's public name.")
    verified_buyer = serializers.SerializerMethodField(help_text="Always true: only buyers can review.")
    rating = serializers.IntegerField(min_value=1, max_value=5, help_text="Stars, 1 to 5.")
    title = serializers.CharField(allow_blank=True)
    body = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField(help_text="When the review or its reply last changed.")
    reply = serializers.SerializerMethodField(help_text="The creator's one reply; null until they reply.")

    def get_verified_buyer(self, review: Review) -> bool:
        return True

    @extend_schema_field(ReplyOutputSerializer(allow_null=True))
    def get_reply(self, review: Review) -> dict[str, Any] | None:
        if review.replied_at is None:
            return None
        return dict(ReplyOutputSerializer(review).data)


_REVIEW_EXAMPLE = {
    "id": 17,
    "listing": "tiny-sentiment",
    "author": "ada",
    "verified_buyer": True,
    "rating": 4,
    "title": "Fast and accurate",
    "body": "Handles our support tickets well; struggles with sarcasm.",
    "created_at": "2026-03-02T10:00:00Z",
    "updated_at": "2026-03-02T10:00:00Z",
    "reply": {"body": "Thanks! A sarcasm fix ships in 1.3.", "replied_at": "2026-03-03T09:12:00Z"},
}


def _viewer(request: Request) -> User | None:
    user = request.user
    return user if isinstance(user, User) else None


class ListingReviewsApi(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly, HasScope]
    required_scopes: ClassVar[dict[str, str]] = {"GET": "read", "POST": "write"}
    pagination_class = Pagination

    class InputSerializer(serializers.Serializer[Any]):
        rating = serializers.IntegerField(min_value=1, max_value=5, help_text="Stars, a whole number 1 to 5.")
        title = StrictCharField(max_length=TITLE_MAX, required=False, allow_blank=True, default="")
        body = StrictCharField(max_length=TEXT_MAX, required=False, allow_blank=True, default="")

    @extend_schema(
        operation_id="listing_reviews_list",
        responses=ReviewOutputSerializer(many=True),
        tags=["reviews"],
        description=(
            "A published listing's reviews, newest first; each is from a verified buyer, with the "
            "creator's reply if any. The listing's average and count are on the listing itself. "
            "A draft or suspended listing is `404 not_found` except to its creator."
        ),
        examples=[OpenApiExample("A page", response_only=True, value=_REVIEW_EXAMPLE)],
    )
    def get(self, request: Request, slug: str) -> Response:
        listing = listing_get_for_reviews(slug=slug, user=_viewer(request))
        return paginated_response(
            queryset=review_list(listing=listing),
            serializer_class=ReviewOutputSerializer,
            request=request,
            view=self,
        )

    @extend_schema(
        operation_id="listing_reviews_write",
        request=InputSerializer,
        responses={201: ReviewOutputSerializer, 200: ReviewOutputSerializer, 409: ErrorSerializer},
        tags=["reviews"],
        description=(
            "Write your review of a listing you bought (`201`), or edit it (`200`): one review per "
            "buyer per listing. Not a buyer, or the listing's creator: `403 permission_denied`. "
            "A listing no longer on sale: `409 invalid_state`."
        ),
        examples=[
            OpenApiExample(
                "Four stars",
                request_only=True,
                value={"rating": 4, "title": "Fast and accurate", "body": "Handles our tickets well."},
            ),
            OpenApiExample("Written", response_only=True, status_codes=["201"], value=_REVIEW_EXAMPLE),
        ],
    )
    def post(self, request: Request, slug: str) -> Response:
        user = authenticated_user(request)
        listing = listing_get_for_reviews(slug=slug, user=user)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review, created = review_upsert(buyer=user, listing=listing, **data.validated_data)
        review = review_get(review_id=review.pk)
        return Response(ReviewOutputSerializer(review).data, status=201 if created else 200)


class ReviewReplyApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = {"POST": "write"}

    class InputSerializer(serializers.Serializer[Any]):
        reply = StrictCharField(max_length=TEXT_MAX, help_text="The creator's public reply.")

    @extend_schema(
        operation_id="review_reply",
        request=InputSerializer,
        responses={200: ReviewOutputSerializer, 409: ErrorSerializer},
        tags=["reviews"],
        description=(
            "Reply to a review of your listing, once: a second reply is `409 invalid_state`; "
            "anyone but the listing's creator gets `403 permission_denied`."
        ),
        examples=[OpenApiExample("A reply", request_only=True, value={"reply": "Thanks for the feedback!"})],
    )
    def post(self, request: Request, review_id: int) -> Response:
        user = authenticated_user(request)
        review = review_get(review_id=review_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review_reply(creator=user, review=review, reply=data.validated_data["reply"])
        return Response(ReviewOutputSerializer(review_get(review_id=review_id)).data)


class ReviewDetailApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = {"DELETE": "write"}

    @extend_schema(
        operation_id="review_delete",
        request=None,
        responses={204: None},
        tags=["reviews"],
        description="Delete your own review; the listing's average and count are recomputed.",
    )
    def delete(self, request: Request, review_id: int) -> Response:
        user = authenticated_user(request)
        review_delete(user=user, review=review_get(review_id=review_id))
        return Response(status=204)


urlpatterns: list[URLPattern] = [
    path("listings/<slug:slug>/reviews", ListingReviewsApi.as_view(), name="listing-reviews"),
    path("reviews/<int:review_id>", ReviewDetailApi.as_view(), name="review"),
    path("reviews/<int:review_id>/reply", ReviewReplyApi.as_view(), name="review-reply"),
]
