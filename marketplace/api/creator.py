"""Creator writes on listings. The `listings` and `listings/<slug>` routes are shared with the
public reads (marketplace.api.catalog), whose views call these for POST and PATCH.

Responses show the creator's own view of a listing (drafts, inactive plans, publishing problems)
and never an artefact's storage path or wrapped key.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.validators import RegexValidator
from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import authenticated_user
from accounts.models import User
from accounts.services import ApiKeyPrincipal
from core.api import ErrorSerializer, MoneySerializer, StrictCharField, not_blank
from marketplace.errors import ValidationFailed
from marketplace.models import Category, Listing, ListingStatus, ListingVersion, Plan, PlanKind, QualityTier
from marketplace.models.catalog import ModelSize, TaskType
from marketplace.selectors.creator import creator_listing_get
from marketplace.services import listing_fields
from marketplace.services import listings as services
from tokenomics.models import Asset
from tokenomics.money import money_json

WRITE_SCOPES: dict[str, str] = {"POST": "write", "PATCH": "write", "DELETE": "write"}


# ----------------------------------------------------------------------------- output


class CreatorPricingFlagsSerializer(serializers.Serializer[Any]):
    one_time = serializers.BooleanField()
    subscription = serializers.BooleanField()
    per_inference = serializers.BooleanField()


class CreatorPlanSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=PlanKind.choices)
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    price = MoneySerializer(
        help_text="US cents: the price (one_time), per interval (subscription), or per 1,000 calls."
    )
    agr_price = MoneySerializer(
        allow_null=True, help_text="Own AGR list price; null: the USD price at the reference rate."
    )
    interval = serializers.CharField(allow_blank=True, help_text='Subscriptions: "month" or "year".')
    monthly_quota = serializers.IntegerField(allow_null=True, help_text="Subscriptions; null is unlimited.")
    rate_limit_per_minute = serializers.IntegerField()
    download_limit = serializers.IntegerField(
        allow_null=True, help_text="One-time plans; null is the platform default."
    )
    is_active = serializers.BooleanField()
    position = serializers.IntegerField()


class CreatorArtefactSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(help_text="The uploaded file's name.")
    size = serializers.IntegerField(help_text="Bytes of the model file (stored encrypted).")
    sha256 = serializers.CharField(help_text="SHA-256 of the model file, hex.")


class CreatorTensorSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    datatype = serializers.ChoiceField(choices=listing_fields.KSERVE_DATATYPES)
    shape = serializers.ListField(child=serializers.IntegerField(min_value=-1), help_text="-1: any size.")


class CreatorVersionSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    version = serializers.CharField()
    changelog = serializers.CharField(allow_blank=True)
    artefact = CreatorArtefactSerializer(allow_null=True, help_text="null for a hosted-only version.")
    triton_model_name = serializers.CharField(allow_blank=True)
    input_spec = CreatorTensorSerializer(many=True)
    output_spec = CreatorTensorSerializer(many=True)
    created_at = serializers.DateTimeField()


class CreatorSampleSerializer(serializers.Serializer[Any]):
    input = StrictCharField(max_length=listing_fields.SAMPLE_TEXT_MAX, validators=[not_blank])
    output = StrictCharField(max_length=listing_fields.SAMPLE_TEXT_MAX, validators=[not_blank])


class CreatorBenchmarkSerializer(serializers.Serializer[Any]):
    name = StrictCharField(max_length=listing_fields.BENCHMARK_TEXT_MAX, validators=[not_blank])
    score = StrictCharField(
        max_length=listing_fields.BENCHMARK_TEXT_MAX, validators=[not_blank], help_text='Text, e.g. "71.2".'
    )
    unit = StrictCharField(max_length=listing_fields.BENCHMARK_TEXT_MAX, required=False, allow_blank=True)


class CreatorListingSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    slug = serializers.SlugField()
    title = serializers.CharField()
    summary = serializers.CharField()
    status = serializers.ChoiceField(choices=ListingStatus.choices)
    status_reason = serializers.CharField(allow_blank=True, help_text="Staff's reason for a suspension.")
    quality_tier = serializers.ChoiceField(choices=QualityTier.choices)
    category = serializers.SlugField()
    tags = serializers.ListField(child=serializers.CharField())
    task = serializers.ChoiceField(choices=TaskType.choices)
    size = serializers.ChoiceField(choices=ModelSize.choices)
    model_card = serializers.CharField(allow_blank=True, help_text="Markdown, as written.")
    model_card_html = serializers.CharField(allow_blank=True, help_text="Rendered and sanitised.")
    license_terms = serializers.CharField(allow_blank=True)
    sample_io = CreatorSampleSerializer(many=True)
    benchmarks = CreatorBenchmarkSerializer(many=True)
    min_price = MoneySerializer(allow_null=True, help_text="Cheapest active plan; null without plans.")
    pricing = CreatorPricingFlagsSerializer(help_text="Kinds of active plan offered.")
    accepts_agr = serializers.BooleanField()
    publish_problems = serializers.ListField(
        child=serializers.CharField(), help_text="What stops publishing; empty when it can be published."
    )
    published_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    plans = CreatorPlanSerializer(many=True, help_text="Active and inactive.")
    versions = CreatorVersionSerializer(many=True, help_text="Newest first.")


def plan_data(plan: Plan) -> dict[str, Any]:
    return {
        "id": plan.pk,
        "kind": plan.kind,
        "name": plan.name,
        "description": plan.description,
        "price": money_json(amount=plan.price_cents, asset=Asset.USD),
        "agr_price": money_json(amount=int(plan.price_agr), asset=Asset.AGR) if plan.price_agr else None,
        "interval": plan.interval,
        "monthly_quota": plan.monthly_quota,
        "rate_limit_per_minute": plan.rate_limit_per_minute,
        "download_limit": plan.download_limit,
        "is_active": plan.is_active,
        "position": plan.position,
    }


def version_data(version: ListingVersion) -> dict[str, Any]:
    artefact = None
    if version.artefact:
        artefact = {
            "name": version.artefact_name,
            "size": version.artefact_size,
            "sha256": version.checksum_sha256,
        }
    return {
        "id": version.pk,
        "version": version.version,
        "changelog": version.changelog,
        "artefact": artefact,
        "triton_model_name": version.triton_model_name,
        "input_spec": version.input_spec,
        "output_spec": version.output_spec,
        "created_at": version.created_at,
    }


def listing_data(listing: Listing) -> dict[str, Any]:
    """The creator's view of a listing (read fresh from the database)."""
    return {
        "id": listing.pk,
        "slug": listing.slug,
        "title": listing.title,
        "summary": listing.summary,
        "status": listing.status,
        "status_reason": listing.status_reason,
        "quality_tier": listing.quality_tier,
        "category": listing.category.slug,
        "tags": sorted(tag.name for tag in listing.tags.all()),
        "task": listing.task,
        "size": listing.size,
        "model_card": listing.model_card,
        "model_card_html": listing.model_card_html,
        "license_terms": listing.license_terms,
        "sample_io": listing.sample_io,
        "benchmarks": [{"unit": ""} | entry for entry in listing.benchmarks],
        "min_price": (
            money_json(amount=listing.min_price_cents, asset=Asset.USD)
            if listing.min_price_cents is not None
            else None
        ),
        "pricing": {
            "one_time": listing.has_one_time,
            "subscription": listing.has_subscription,
            "per_inference": listing.has_per_inference,
        },
        "accepts_agr": listing.accepts_agr,
        "publish_problems": (
            services.listing_publish_problems(listing=listing)
            if listing.status == ListingStatus.DRAFT
            else []
        ),
        "published_at": listing.published_at,
        "created_at": listing.created_at,
        "updated_at": listing.updated_at,
        "plans": [plan_data(plan) for plan in listing.plans.order_by("-is_active", "position", "pk")],
        "versions": [
            version_data(version) for version in listing.versions.order_by("-major", "-minor", "-patch")
        ],
    }


def _listing_response(listing: Listing, *, status: int = 200) -> Response:
    return Response(CreatorListingSerializer(listing_data(listing)).data, status=status)


# ----------------------------------------------------------------------------- input


class CreatorListingInputSerializer(serializers.Serializer[Any]):
    title = StrictCharField(max_length=listing_fields.TITLE_MAX, validators=[not_blank])
    summary = StrictCharField(max_length=listing_fields.SUMMARY_MAX, validators=[not_blank])
    category = serializers.SlugRelatedField(
        slug_field="slug", queryset=Category.objects.all(), help_text="A category's slug."
    )
    task = serializers.ChoiceField(choices=TaskType.choices)
    size = serializers.ChoiceField(
        choices=ModelSize.choices, default=ModelSize.SMALL, help_text="Model complexity for the compute fee."
    )
    model_card = StrictCharField(
        max_length=listing_fields.MODEL_CARD_MAX, required=False, allow_blank=True, trim_whitespace=False
    )
    tags = serializers.ListField(
        child=StrictCharField(
            max_length=listing_fields.TAG_MAX,
            # A tag's slug is made of its ASCII letters and digits, so it needs one.
            validators=[RegexValidator(r"[A-Za-z0-9]", "Use at least one letter or digit (A-Z, 0-9).")],
        ),
        max_length=listing_fields.MAX_TAGS,
        required=False,
        help_text="Tag names; new ones are created.",
    )
    license_terms = StrictCharField(
        max_length=listing_fields.LICENSE_TERMS_MAX, required=False, allow_blank=True, trim_whitespace=False
    )
    sample_io = serializers.ListField(
        child=CreatorSampleSerializer(), required=False, max_length=listing_fields.MAX_SAMPLES
    )
    benchmarks = serializers.ListField(
        child=CreatorBenchmarkSerializer(), required=False, max_length=listing_fields.MAX_BENCHMARKS
    )


LISTING_EXAMPLE = {
    "title": "Tiny Llama",
    "summary": "A 1.1B-parameter chat model that runs on a laptop.",
    "category": "language",
    "task": "text_generation",
    "size": "small",
    "model_card": "# Tiny Llama\n\nTrained on 3T tokens. **Apache-2.0.**",
    "tags": ["llm", "chat"],
    "license_terms": "Apache-2.0",
    "sample_io": [{"input": "Hello", "output": "Hi! How can I help?"}],
    "benchmarks": [{"name": "MMLU", "score": "25.3", "unit": "%"}],
}


def require_writer(request: Request) -> User:
    """The caller, who must be signed in and (with an API key) hold the write scope."""
    if not request.user or not request.user.is_authenticated:
        raise exceptions.NotAuthenticated()
    if isinstance(request.auth, ApiKeyPrincipal) and "write" not in request.auth.scopes:
        raise exceptions.PermissionDenied("This API key lacks the scope this operation needs.")
    return authenticated_user(request)


def renamed(exc: ValidationFailed, names: dict[str, str]) -> ValidationFailed:
    return ValidationFailed(
        exc.message, detail={names.get(key, key): value for key, value in exc.detail.items()}
    )


# Applied to the POST of `listings` and the PATCH of `listings/<slug>` by marketplace.api.catalog.
LISTING_CREATE_SCHEMA: Any = extend_schema(
    operation_id="listings_create",
    tags=["listings"],
    request=CreatorListingInputSerializer,
    responses={201: CreatorListingSerializer, 400: ErrorSerializer},
    description=(
        "Create a listing as a draft. The slug comes from the title (made unique); the model card is "
        "Markdown, rendered and sanitised into `model_card_html`. Add versions and plans, then publish. "
        "Needs the `write` scope."
    ),
    examples=[OpenApiExample("A language model", value=LISTING_EXAMPLE, request_only=True)],
)
LISTING_UPDATE_SCHEMA: Any = extend_schema(
    operation_id="listings_update",
    tags=["listings"],
    request=CreatorListingInputSerializer,
    responses={200: CreatorListingSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
    description=(
        "Change some fields of your listing; the slug never changes. Staff fields (`status`, "
        "`quality_tier`, ...) are refused with 403. Another creator's listing is 403 when published "
        "and 404 otherwise."
    ),
    examples=[
        OpenApiExample(
            "New summary and card",
            value={"summary": "Now with a 4k context.", "model_card": "## Changes\n\n- longer context"},
            request_only=True,
        )
    ],
)


def listing_create_response(request: Request) -> Response:
    """POST /api/v1/listings: create a draft listing for the caller."""
    user = require_writer(request)
    data = CreatorListingInputSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    listing = services.listing_create(creator=user, **data.validated_data)
    return _listing_response(listing, status=201)


def listing_update_response(request: Request, slug: str) -> Response:
    """PATCH /api/v1/listings/<slug>: change some fields of the caller's listing."""
    user = require_writer(request)
    listing = creator_listing_get(slug=slug, user=user)
    data = CreatorListingInputSerializer(data=request.data, partial=True)
    body: dict[str, Any] = request.data if isinstance(request.data, dict) else {}
    known = set(data.fields)
    sent = set(body)
    staff_fields = sent & listing_fields.STAFF_FIELDS
    unknown = sent - known - staff_fields
    if unknown:
        raise ValidationFailed(detail={field: ["Unknown field."] for field in sorted(unknown)})
    data.is_valid(raise_exception=True)
    # Staff fields reach the service, which refuses them by name (403).
    fields = dict(data.validated_data) | {field: body[field] for field in staff_fields}
    listing = services.listing_update(listing=listing, actor=user, **fields)
    return _listing_response(listing)


# ----------------------------------------------------------------------------- publish


class ListingPublishApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = WRITE_SCOPES

    @extend_schema(
        operation_id="listings_publish",
        request=None,
        responses={200: CreatorListingSerializer, 409: ErrorSerializer},
        tags=["listings"],
        description=(
            "Publish your draft. Needs at least one active plan; a one-time or subscription plan "
            "needs a version with an uploaded file, and a subscription or pay-per-inference plan a "
            "version with a Triton model name. Refused (`409 invalid_state`, `detail.reasons`) "
            "otherwise and while staff have suspended or taken the listing down. Publishing a "
            "published listing changes nothing."
        ),
    )
    def post(self, request: Request, slug: str) -> Response:
        user = authenticated_user(request)
        listing = creator_listing_get(slug=slug, user=user)
        return _listing_response(services.listing_publish(listing=listing, actor=user))


class ListingUnpublishApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = WRITE_SCOPES

    @extend_schema(
        operation_id="listings_unpublish",
        request=None,
        responses={200: CreatorListingSerializer, 409: ErrorSerializer},
        tags=["listings"],
        description=(
            "Take your published listing back to draft. Licenses and subscriptions already sold keep working."
        ),
    )
    def post(self, request: Request, slug: str) -> Response:
        user = authenticated_user(request)
        listing = creator_listing_get(slug=slug, user=user)
        return _listing_response(services.listing_unpublish(listing=listing, actor=user))


urlpatterns: list[URLPattern] = [
    path("listings/<slug:slug>/publish", ListingPublishApi.as_view(), name="listing-publish"),
    path("listings/<slug:slug>/unpublish", ListingUnpublishApi.as_view(), name="listing-unpublish"),
]
