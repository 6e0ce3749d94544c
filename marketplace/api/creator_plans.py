"""Creator API: a listing's plans (add, change, stop selling), priced in US cents and optionally AGR."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.validators import RegexValidator
from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import authenticated_user
from core.api import POSITIVE_WHOLE_NUMBER, ErrorSerializer, StrictCharField, not_blank
from marketplace.api.creator import (
    WRITE_SCOPES,
    CreatorPlanSerializer,
    plan_data,
    renamed,
)
from marketplace.errors import ValidationFailed
from marketplace.models import PlanKind
from marketplace.models.catalog import PlanInterval
from marketplace.selectors.creator import creator_listing_get, creator_plan_get
from marketplace.services import listing_fields
from marketplace.services import plans as plan_services
from tokenomics.models import Asset

# ----------------------------------------------------------------------------- plans


def _amount_field(*, max_length: int, help_text: str) -> StrictCharField:
    """A money amount: a string of digits (never a JSON number, which loses digits past 2**53)."""
    return StrictCharField(
        max_length=max_length,
        validators=[RegexValidator(POSITIVE_WHOLE_NUMBER, "Give a whole number above zero, as a string.")],
        help_text=help_text,
    )


class CreatorUsdPriceSerializer(serializers.Serializer[Any]):
    amount = _amount_field(
        max_length=len(str(listing_fields.PRICE_MAX_CENTS)),
        help_text=f"US cents as a string, 1 to {listing_fields.PRICE_MAX_CENTS}.",
    )
    asset = serializers.ChoiceField(choices=Asset.choices, help_text="Always USD.")

    def validate_asset(self, value: str) -> str:
        if value != Asset.USD:
            raise serializers.ValidationError("Plan prices are in USD; give an AGR price as agr_price.")
        return value


class CreatorAgrPriceSerializer(serializers.Serializer[Any]):
    amount = serializers.RegexField(
        POSITIVE_WHOLE_NUMBER, max_length=40, help_text="AGR base units as a string."
    )
    asset = serializers.ChoiceField(choices=[Asset.AGR])


class CreatorPlanInputSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=PlanKind.choices)
    name = StrictCharField(max_length=listing_fields.PLAN_NAME_MAX, validators=[not_blank])
    description = StrictCharField(
        max_length=listing_fields.PLAN_DESCRIPTION_MAX, required=False, allow_blank=True
    )
    price = CreatorUsdPriceSerializer(
        help_text="One-time: the price; subscription: per interval; per-inference: per 1,000 calls."
    )
    agr_price = CreatorAgrPriceSerializer(
        required=False, allow_null=True, help_text="Optional AGR list price; else the USD price converted."
    )
    interval = serializers.ChoiceField(
        choices=PlanInterval.choices, required=False, allow_blank=True, help_text="Subscriptions only."
    )
    monthly_quota = serializers.IntegerField(
        min_value=1,
        max_value=listing_fields.MONTHLY_QUOTA_MAX,
        required=False,
        allow_null=True,
        help_text="Subscriptions only; null or absent: unlimited.",
    )
    rate_limit_per_minute = serializers.IntegerField(
        min_value=1, max_value=listing_fields.RATE_LIMIT_MAX, required=False
    )
    download_limit = serializers.IntegerField(
        min_value=1,
        max_value=listing_fields.DOWNLOAD_LIMIT_MAX,
        required=False,
        allow_null=True,
        help_text="One-time only; absent: the platform default.",
    )


def _plan_values(validated: dict[str, Any]) -> dict[str, Any]:
    """Serializer output in the service's terms (prices as integers in minor units)."""
    values = dict(validated)
    if "price" in values:
        values["price_cents"] = int(values.pop("price")["amount"])
    if "agr_price" in values:
        agr_price = values.pop("agr_price")
        values["price_agr"] = int(agr_price["amount"]) if agr_price else None
    return values


class ListingPlanCreateApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = WRITE_SCOPES

    @extend_schema(
        operation_id="listings_plans_create",
        request=CreatorPlanInputSerializer,
        responses={201: CreatorPlanSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
        tags=["listings"],
        description=(
            "Add a plan. A subscription needs `interval` (month or year) and may set `monthly_quota`; "
            "only a one-time plan has `download_limit`. Prices are whole US cents from 1 to 99999999."
        ),
        examples=[
            OpenApiExample(
                "Subscription",
                request_only=True,
                value={
                    "kind": "subscription",
                    "name": "Pro",
                    "price": {"amount": "1900", "asset": "USD"},
                    "agr_price": {"amount": "19000000000000000000", "asset": "AGR"},
                    "interval": "month",
                    "monthly_quota": 100000,
                },
            ),
            OpenApiExample(
                "One-time",
                request_only=True,
                value={"kind": "one_time", "name": "Perpetual", "price": {"amount": "4900", "asset": "USD"}},
            ),
        ],
    )
    def post(self, request: Request, slug: str) -> Response:
        user = authenticated_user(request)
        listing = creator_listing_get(slug=slug, user=user)
        data = CreatorPlanInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            plan = plan_services.plan_add(listing=listing, actor=user, **_plan_values(data.validated_data))
        except ValidationFailed as exc:
            raise renamed(exc, listing_fields.PLAN_FIELD_NAMES) from exc
        return Response(CreatorPlanSerializer(plan_data(plan)).data, status=201)


class PlanDetailApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = WRITE_SCOPES

    @extend_schema(
        operation_id="plans_update",
        request=CreatorPlanInputSerializer,
        responses={200: CreatorPlanSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
        tags=["listings"],
        description="Change some fields of a plan; its kind cannot change (add a new plan instead).",
    )
    def patch(self, request: Request, plan_id: int) -> Response:
        user = authenticated_user(request)
        plan = creator_plan_get(plan_id=plan_id, user=user)
        if isinstance(request.data, dict) and "kind" in request.data:
            raise ValidationFailed(detail={"kind": ["A plan's kind cannot change; add a new plan instead."]})
        data = CreatorPlanInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            plan = plan_services.plan_update(plan=plan, actor=user, **_plan_values(data.validated_data))
        except ValidationFailed as exc:
            raise renamed(exc, listing_fields.PLAN_FIELD_NAMES) from exc
        return Response(CreatorPlanSerializer(plan_data(plan)).data)

    @extend_schema(
        operation_id="plans_deactivate",
        request=None,
        responses={200: CreatorPlanSerializer, 409: ErrorSerializer},
        tags=["listings"],
        description=(
            "Stop selling a plan (it stays, inactive; buyers keep what they bought). The last active "
            "plan of a published listing cannot be removed: unpublish first."
        ),
    )
    def delete(self, request: Request, plan_id: int) -> Response:
        user = authenticated_user(request)
        plan = creator_plan_get(plan_id=plan_id, user=user)
        plan = plan_services.plan_deactivate(plan=plan, actor=user)
        return Response(CreatorPlanSerializer(plan_data(plan)).data)


urlpatterns: list[URLPattern] = [
    path("listings/<slug:slug>/plans", ListingPlanCreateApi.as_view(), name="listing-plans"),
    path("plans/<int:plan_id>", PlanDetailApi.as_view(), name="plan"),
]
