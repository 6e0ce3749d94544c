"""The public catalog: `GET /api/v1/listings` (search, filters, orderings) and
`GET /api/v1/listings/{slug}` (a listing with its versions and plans).

The same two paths take the creator's writes (POST a listing, PATCH one); those handlers live in
marketplace.api.creator and are only routed through these views.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, cast

from django.urls import URLPattern, path
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS, AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import HasScope
from core.api import ErrorSerializer, MoneySerializer, Pagination, query_params
from core.schema import NO_NUL_PATTERN
from marketplace.api import creator
from marketplace.models import Listing, ListingVersion, Plan, PlanKind, QualityTier, TaskType
from marketplace.models.catalog import PlanInterval
from marketplace.selectors.catalog import (
    PRICING_FLAGS,
    agr_reference_price,
    listing_get_public,
    plan_agr_price,
    plan_kinds,
)
from marketplace.selectors.search import ORDERINGS, listing_search
from tokenomics.money import AGR, USD, money_json

# US cents; far above any list price, and inside a signed 64-bit integer on every database.
MAX_PRICE_CENTS = 10**15
# 0 to 5 stars with at most two decimals ("4", "4.5", "4.25"), as a pattern so the schema says it.
RATING_PATTERN = r"^(?:[0-4](?:\.[0-9]{1,2})?|5(?:\.0{1,2})?)$"
SEARCH_MAX_LENGTH = 200


if TYPE_CHECKING:
    from django_stubs_ext import StrPromise as _StrPromise


# Not a CharField: drf-spectacular documents a blank-allowing CharField with a pattern as
# oneOf(string, empty string), which an empty string satisfies twice. Blank means no search.
@extend_schema_field({"type": "string", "maxLength": SEARCH_MAX_LENGTH, "pattern": NO_NUL_PATTERN})
class SearchTextField(serializers.Field):  # type: ignore[type-arg]
    default_error_messages: ClassVar[dict[str, str | _StrPromise]] = {
        "invalid": "Give the search as text.",
        "null_characters": "NUL characters are not allowed.",
        "max_length": f"At most {SEARCH_MAX_LENGTH} characters.",
    }

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        text = str(data)
        if "\x00" in text:
            self.fail("null_characters")
        if len(text) > SEARCH_MAX_LENGTH:
            self.fail("max_length")
        return text

    def to_representation(self, value: object) -> str:
        return str(value)


class CategoryRefSerializer(serializers.Serializer[Any]):
    slug = serializers.SlugField()
    name = serializers.CharField()
    parent_slug = serializers.SlugField(
        allow_null=True, help_text="The parent category's slug; null at the top."
    )


class CreatorRefSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(help_text="The creator's public name.")


class RatingSerializer(serializers.Serializer[Any]):
    average = serializers.DecimalField(max_digits=3, decimal_places=2, help_text="0.00 to 5.00 stars.")
    count = serializers.IntegerField()


class ListingCardSerializer(serializers.Serializer[Any]):
    slug = serializers.SlugField()
    title = serializers.CharField()
    summary = serializers.CharField()
    category = CategoryRefSerializer()
    tags = serializers.ListField(child=serializers.CharField())
    task = serializers.ChoiceField(choices=TaskType.choices)
    quality_tier = serializers.ChoiceField(choices=QualityTier.choices)
    creator = CreatorRefSerializer()
    rating = RatingSerializer()
    min_price = MoneySerializer(
        allow_null=True, help_text="The cheapest active plan, USD; null without plans."
    )
    pricing = serializers.ListField(
        child=serializers.ChoiceField(choices=list(PRICING_FLAGS)), help_text="The pricing models offered."
    )
    accepts_agr = serializers.BooleanField(help_text="Payable in AGR.")
    featured = serializers.BooleanField(help_text="Has an active featured placement.")
    published_at = serializers.DateTimeField(allow_null=True)


class SampleSerializer(serializers.Serializer[Any]):
    input = serializers.CharField(allow_blank=True)
    output = serializers.CharField(allow_blank=True)


class BenchmarkSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    score = serializers.CharField(help_text='As the creator reported it, e.g. "71.2".')
    unit = serializers.CharField(allow_blank=True)


class VersionSerializer(serializers.Serializer[Any]):
    version = serializers.CharField(help_text="Semantic version, e.g. 1.2.0.")
    changelog = serializers.CharField(allow_blank=True)
    checksum_sha256 = serializers.CharField(allow_blank=True, help_text="Of the plaintext artefact.")
    artefact_size = serializers.IntegerField(help_text="Bytes.")
    triton_model_name = serializers.CharField(allow_blank=True)
    input_spec = serializers.ListField(child=serializers.DictField(), help_text="KServe v2 tensor specs.")
    output_spec = serializers.ListField(child=serializers.DictField(), help_text="KServe v2 tensor specs.")
    created_at = serializers.DateTimeField()


class PlanSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=PlanKind.choices)
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    price = MoneySerializer(
        help_text="List price in USD cents: one-time; per interval; or per 1,000 inferences."
    )
    agr_price = MoneySerializer(
        help_text="List price in AGR base units: the plan's own, or the USD price at the reference rate."
    )
    interval = serializers.ChoiceField(choices=PlanInterval.choices, allow_blank=True)
    monthly_quota = serializers.IntegerField(allow_null=True, help_text="Subscriptions; null is unlimited.")
    download_limit = serializers.IntegerField(allow_null=True, help_text="One-time; null is the default.")


class ListingDetailSerializer(ListingCardSerializer):
    status = serializers.CharField(help_text="Always `published` except for the creator and staff.")
    model_card_html = serializers.CharField(allow_blank=True, help_text="Rendered and sanitised Markdown.")
    license_terms = serializers.CharField(allow_blank=True)
    sample_io = SampleSerializer(many=True)
    benchmarks = BenchmarkSerializer(many=True)
    versions = VersionSerializer(many=True, help_text="Newest first.")
    plans = PlanSerializer(many=True, help_text="Active plans.")


def _card(listing: Listing) -> dict[str, Any]:
    category = listing.category
    return {
        "slug": listing.slug,
        "title": listing.title,
        "summary": listing.summary,
        "category": {
            "slug": category.slug,
            "name": category.name,
            "parent_slug": category.parent.slug if category.parent else None,
        },
        "tags": listing.card_tags,
        "task": listing.task,
        "quality_tier": listing.quality_tier,
        "creator": {"name": listing.creator.public_name},
        "rating": {"average": listing.rating_average, "count": listing.rating_count},
        "min_price": (
            money_json(amount=int(listing.min_price_cents), asset=USD)
            if listing.min_price_cents is not None
            else None
        ),
        "pricing": plan_kinds(listing),
        "accepts_agr": listing.accepts_agr,
        "featured": listing.featured_until is not None and listing.featured_until > timezone.now(),
        "published_at": listing.published_at,
    }


def _version(version: ListingVersion) -> dict[str, Any]:
    # Never the stored file's path or its wrapped key: downloads go through a license.
    return {
        "version": version.version,
        "changelog": version.changelog,
        "checksum_sha256": version.checksum_sha256,
        "artefact_size": version.artefact_size,
        "triton_model_name": version.triton_model_name,
        "input_spec": version.input_spec,
        "output_spec": version.output_spec,
        "created_at": version.created_at,
    }


def _plan(plan: Plan, *, agr_price_micro_usd: int) -> dict[str, Any]:
    return {
        "id": plan.pk,
        "kind": plan.kind,
        "name": plan.name,
        "description": plan.description,
        "price": money_json(amount=int(plan.price_cents), asset=USD),
        "agr_price": money_json(
            amount=plan_agr_price(plan=plan, agr_price_micro_usd=agr_price_micro_usd), asset=AGR
        ),
        "interval": plan.interval,
        "monthly_quota": plan.monthly_quota,
        "download_limit": plan.download_limit,
    }


def _rows(value: object, keys: tuple[str, ...]) -> list[dict[str, str]]:
    """Creator-supplied JSON lists, reduced to the documented keys as text."""
    if not isinstance(value, list):
        return []
    return [{key: str(row.get(key, "")) for key in keys} for row in value if isinstance(row, dict)]


def _detail(listing: Listing) -> dict[str, Any]:
    price = agr_reference_price()
    return _card(listing) | {
        "status": listing.status,
        "model_card_html": listing.model_card_html,
        "license_terms": listing.license_terms,
        "sample_io": _rows(listing.sample_io, ("input", "output")),
        "benchmarks": _rows(listing.benchmarks, ("name", "score", "unit")),
        "versions": [_version(version) for version in listing.versions.all()],
        "plans": [_plan(plan, agr_price_micro_usd=price) for plan in getattr(listing, "active_plans", [])],
    }


def _viewer(request: Request) -> User | None:
    user = request.user
    return user if isinstance(user, User) else None


class _PublicReads(APIView):
    """Reads are public; writes need a signed-in user (and an API key's `write` scope)."""

    required_scopes: ClassVar[dict[str, str]] = {"GET": "read", "POST": "write", "PATCH": "write"}

    def get_permissions(self) -> list[BasePermission]:
        if self.request.method in SAFE_METHODS:
            return [AllowAny()]
        return [IsAuthenticated(), HasScope()]


_CARD_EXAMPLE = {
    "slug": "tiny-bert-sentiment",
    "title": "Tiny BERT sentiment",
    "summary": "Positive / negative / neutral for short English texts.",
    "category": {"slug": "text-classification", "name": "Text classification", "parent_slug": "language"},
    "tags": ["bert", "sentiment"],
    "task": "text_classification",
    "quality_tier": "verified",
    "creator": {"name": "Ada"},
    "rating": {"average": "4.50", "count": 12},
    "min_price": {"amount": "900", "asset": "USD"},
    "pricing": ["one_time", "per_inference"],
    "accepts_agr": True,
    "featured": False,
    "published_at": "2026-03-02T10:00:00Z",
}


class ListingListApi(_PublicReads):
    pagination_class = Pagination

    class QuerySerializer(serializers.Serializer[Any]):
        search = SearchTextField(
            required=False,
            help_text="Full-text search over title, summary, tags, category and task; typo-tolerant.",
        )
        category = serializers.SlugField(
            required=False, max_length=80, help_text="A category slug; includes its sub-categories."
        )
        task = serializers.ChoiceField(choices=TaskType.choices, required=False)
        pricing = serializers.ChoiceField(
            choices=list(PRICING_FLAGS), required=False, help_text="Only listings with a plan of this kind."
        )
        min_price = serializers.IntegerField(
            required=False, min_value=0, max_value=MAX_PRICE_CENTS, help_text="US cents, cheapest plan."
        )
        max_price = serializers.IntegerField(
            required=False, min_value=0, max_value=MAX_PRICE_CENTS, help_text="US cents, cheapest plan."
        )
        quality_tier = serializers.ChoiceField(choices=QualityTier.choices, required=False)
        min_rating = serializers.RegexField(
            RATING_PATTERN, required=False, help_text='Minimum average stars, 0 to 5, e.g. "4" or "4.5".'
        )
        accepts_agr = serializers.BooleanField(required=False, help_text="Only listings payable in AGR.")
        ordering = serializers.ChoiceField(
            choices=list(ORDERINGS),
            required=False,
            default="relevance",
            help_text=(
                "relevance: search rank, or trending without a search; trending; newest; "
                "rating; price (cheapest first); -price."
            ),
        )

    @extend_schema(
        operation_id="listings_list",
        parameters=[QuerySerializer],
        responses={200: ListingCardSerializer(many=True), 400: ErrorSerializer},
        tags=["listings"],
        description=(
            "Search and filter the published catalog. Filters combine with AND; a `min_price` above "
            "`max_price` matches nothing. An invalid value is `400 validation_error` naming the field."
        ),
        examples=[OpenApiExample("A page", response_only=True, value=_CARD_EXAMPLE)],
    )
    def get(self, request: Request) -> Response:
        query = self.QuerySerializer(data=query_params(request))
        query.is_valid(raise_exception=True)
        filters = dict(query.validated_data)
        if "min_rating" in filters:
            filters["min_rating"] = Decimal(filters["min_rating"])
        paginator = Pagination()
        # ListingResults counts and slices like the querysets DRF's pagination is typed for.
        results = cast("Sequence[Listing]", listing_search(**filters))
        page: Any = paginator.paginate_queryset(results, request, view=self)
        return paginator.get_paginated_response(
            ListingCardSerializer([_card(listing) for listing in page], many=True).data
        )

    @creator.LISTING_CREATE_SCHEMA  # type: ignore[untyped-decorator]  # creator's decorator is Any
    def post(self, request: Request) -> Response:
        return creator.listing_create_response(request)


class ListingDetailApi(_PublicReads):
    @extend_schema(
        operation_id="listings_retrieve",
        responses={200: ListingDetailSerializer, 404: ErrorSerializer},
        tags=["listings"],
        description=(
            "A listing with its versions (newest first) and active plans with USD and AGR prices. "
            "Drafts and suspended listings are `404 not_found` except to their creator and staff."
        ),
        examples=[
            OpenApiExample(
                "A published listing",
                response_only=True,
                value=_CARD_EXAMPLE
                | {
                    "status": "published",
                    "model_card_html": "<h2>Tiny BERT</h2><p>Fine-tuned on reviews.</p>",
                    "license_terms": "Commercial use allowed.",
                    "sample_io": [{"input": "I love it", "output": "positive"}],
                    "benchmarks": [{"name": "SST-2", "score": "91.3", "unit": "%"}],
                    "versions": [
                        {
                            "version": "1.2.0",
                            "changelog": "Smaller vocabulary.",
                            "checksum_sha256": "9f86d081884c7d659a2feaa0c55ad015" * 2,
                            "artefact_size": 43_210_000,
                            "triton_model_name": "tiny_bert_sentiment",
                            "input_spec": [{"name": "TEXT", "datatype": "BYTES", "shape": [-1, 1]}],
                            "output_spec": [{"name": "LABEL", "datatype": "BYTES", "shape": [-1, 1]}],
                            "created_at": "2026-03-01T09:00:00Z",
                        }
                    ],
                    "plans": [
                        {
                            "id": 7,
                            "kind": "one_time",
                            "name": "Perpetual",
                            "description": "",
                            "price": {"amount": "4900", "asset": "USD"},
                            "agr_price": {"amount": "490000000000000000000", "asset": "AGR"},
                            "interval": "",
                            "monthly_quota": None,
                            "download_limit": 5,
                        }
                    ],
                },
            )
        ],
    )
    def get(self, request: Request, slug: str) -> Response:
        listing = listing_get_public(slug=slug, viewer=_viewer(request))
        return Response(ListingDetailSerializer(_detail(listing)).data)

    @creator.LISTING_UPDATE_SCHEMA  # type: ignore[untyped-decorator]  # creator's decorator is Any
    def patch(self, request: Request, slug: str) -> Response:
        return creator.listing_update_response(request, slug)


urlpatterns: list[URLPattern] = [
    path("listings", ListingListApi.as_view(), name="listings"),
    path("listings/<slug:slug>", ListingDetailApi.as_view(), name="listing"),
]
