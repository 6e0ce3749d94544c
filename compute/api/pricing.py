"""`GET /api/v1/listings/{slug}/price`: a hosted listing's current per-call price with its parts.

Anyone may read it; a signed-in caller (session or API key) is quoted with their volume discount,
as their calls are charged. The numbers are the gateway's own (`compute.services.quotes`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from compute.services.gateway import GatewayError
from compute.services.pricing import CallPrice
from compute.services.quotes import ListingQuote, listing_quote
from core.api import ErrorSerializer


def money(amount_micro: int) -> dict[str, str]:
    """Money as the gateway writes it: whole micro-USD as a string."""
    return {"amount": str(amount_micro), "asset": "USD", "unit": "micro_usd"}


class MicroUsdSerializer(serializers.Serializer[Any]):
    amount = serializers.CharField(help_text="Whole micro-USD (10^-6 USD) as a string.")
    asset = serializers.CharField(help_text="USD")
    unit = serializers.CharField(help_text="micro_usd")


class ComputeFeeSerializer(serializers.Serializer[Any]):
    amount = serializers.CharField(
        help_text="base_rate x model_complexity x demand_multiplier / supply_factor, floored."
    )
    asset = serializers.CharField()
    unit = serializers.CharField()
    base_rate = MicroUsdSerializer()
    model_complexity = serializers.IntegerField(help_text="1 small, 3 medium, 10 large.")
    demand_multiplier_bps = serializers.IntegerField(
        help_text="Recent load against capacity, 8000..20000 (0.8x..2.0x)."
    )
    supply_factor = serializers.IntegerField(help_text="Healthy nodes serving the model, at least 1.")


class PriorityFeeSerializer(serializers.Serializer[Any]):
    amount = serializers.CharField(help_text="rate_bps of (creator price + compute fee), floored.")
    asset = serializers.CharField()
    unit = serializers.CharField()
    rate_bps = serializers.IntegerField()


class ListingPriceSerializer(serializers.Serializer[Any]):
    listing = serializers.CharField()
    plan = serializers.DictField(
        allow_null=True, help_text="The per-inference plan quoted ({id, name}); null: subscription only."
    )
    creator_price = MicroUsdSerializer(
        allow_null=True, help_text="Per call, after your volume discount; null without a per-inference plan."
    )
    compute_fee = ComputeFeeSerializer()
    total = MicroUsdSerializer(help_text="A normal call's price: what a prepaid call is charged.")
    priority_fee = PriorityFeeSerializer(help_text='What `"priority": true` adds.')
    priority_total = MicroUsdSerializer()
    computed_at = serializers.DateTimeField(
        allow_null=True, help_text="When demand and supply were last measured (refreshed every 15 s)."
    )


def quote_body(quote: ListingQuote) -> dict[str, Any]:
    normal: CallPrice = quote.normal
    priority: CallPrice = quote.priority
    parts = normal.compute
    at: datetime | None = parts.computed_at
    return {
        "listing": quote.slug,
        "plan": {"id": quote.plan_id, "name": quote.plan_name} if quote.plan_id is not None else None,
        "creator_price": None if normal.creator_price_micro is None else money(normal.creator_price_micro),
        "compute_fee": {
            **money(parts.compute_fee_micro),
            "base_rate": money(parts.base_rate_micro),
            "model_complexity": parts.complexity,
            "demand_multiplier_bps": parts.demand_multiplier_bps,
            "supply_factor": parts.supply_factor,
        },
        "total": money(normal.total_micro),
        "priority_fee": {**money(priority.priority_fee_micro), "rate_bps": priority.priority_fee_bps},
        "priority_total": money(priority.total_micro),
        "computed_at": at.isoformat() if at is not None else None,
    }


class ListingPriceApi(APIView):
    """The current per-call price of a hosted listing, with its parts. Public; signed in, it
    includes your volume discount. A call made now with `max_price` at `total` (or
    `priority_total` for a priority call) is served at that price."""

    permission_classes = [AllowAny]
    required_scopes: ClassVar[dict[str, str]] = {"GET": "read"}

    @extend_schema(
        operation_id="listing_price",
        responses={
            200: ListingPriceSerializer,
            404: OpenApiResponse(ErrorSerializer, description="`not_found` (no published hosted listing)"),
        },
        examples=[
            OpenApiExample(
                "Iris",
                response_only=True,
                value={
                    "listing": "iris",
                    "plan": {"id": 3, "name": "Metered"},
                    "creator_price": money(5000),
                    "compute_fee": {
                        **money(80),
                        "base_rate": money(100),
                        "model_complexity": 1,
                        "demand_multiplier_bps": 8000,
                        "supply_factor": 1,
                    },
                    "total": money(5080),
                    "priority_fee": {**money(508), "rate_bps": 1000},
                    "priority_total": money(5588),
                    "computed_at": "2026-12-05T10:00:00+00:00",
                },
            )
        ],
        tags=["inference"],
    )
    def get(self, request: Request, slug: str) -> Response:
        user = request.user if request.user.is_authenticated else None
        quote = listing_quote(slug=slug, user=user)
        if quote is None:
            raise GatewayError("not_found", 404, "No published hosted model has this name.")
        return Response(quote_body(quote))
