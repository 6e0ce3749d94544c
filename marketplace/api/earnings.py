"""`GET /api/v1/creator/earnings`: the caller's sales and earnings over time, tier with the next
threshold, and payable balances; the same figures as the creator dashboard."""

from __future__ import annotations

from typing import Any, ClassVar

from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import authenticated_user
from core.api import MoneySerializer, query_params
from marketplace.selectors.dashboard import RANGE_DAYS, earnings_series, tier_progress
from tokenomics.models import Asset
from tokenomics.money import money_json
from tokenomics.selectors.ledger import user_balances
from tokenomics.splits import CreatorTier


class EarningsPointSerializer(serializers.Serializer[Any]):
    date = serializers.DateField(help_text="The day, or the Monday starting the week (`interval` week).")
    gross = MoneySerializer(help_text="Sales released from escrow that day, less clawbacks.")
    earnings = MoneySerializer(help_text="Your share of them, credited to your payable balance.")


class EarningsApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = {"GET": "read"}

    class QuerySerializer(serializers.Serializer[Any]):
        asset = serializers.ChoiceField(choices=Asset.choices, default=Asset.USD, help_text="Currency.")
        days = serializers.ChoiceField(
            choices=list(RANGE_DAYS), default=30, help_text="Range ending today; 365 is drawn week by week."
        )

    class OutputSerializer(serializers.Serializer[Any]):
        asset = serializers.ChoiceField(choices=Asset.choices)
        days = serializers.IntegerField()
        interval = serializers.ChoiceField(choices=["day", "week"])
        series = EarningsPointSerializer(
            many=True, help_text="Every day (or week) of the range, oldest first."
        )
        gross = MoneySerializer(help_text="Σ of the series' gross.")
        earnings = MoneySerializer(help_text="Σ of the series' earnings.")
        tier = serializers.ChoiceField(choices=[tier.value for tier in CreatorTier])
        share_bps = serializers.IntegerField(help_text="Your share of a sale's gross at this tier, in bps.")
        net_sales = MoneySerializer(help_text="Lifetime net sales in USD cents (AGR at the reference price).")
        next_tier = serializers.ChoiceField(
            choices=[tier.value for tier in CreatorTier], allow_null=True, help_text="Null at the top tier."
        )
        next_threshold = MoneySerializer(allow_null=True, help_text="Lifetime net sales that reach it.")
        progress_bps = serializers.IntegerField(
            min_value=0, max_value=10_000, help_text="From this tier's threshold to the next, in bps."
        )
        payable = MoneySerializer(many=True, help_text="Creator payable balance per asset: USD, then AGR.")

    @extend_schema(
        operation_id="creator_earnings",
        parameters=[QuerySerializer],
        responses=OutputSerializer,
        tags=["creator"],
        description=(
            "Your sales (gross) and earnings per day over the last `days` days (30 or 90) or per week "
            "for 365, in one `asset`, from the ledger; with your creator tier, the next threshold and "
            "your progress toward it, and your payable balances."
        ),
        examples=[
            OpenApiExample(
                "Two days of a 30-day range",
                response_only=True,
                value={
                    "asset": "USD",
                    "days": 30,
                    "interval": "day",
                    "series": [
                        {
                            "date": "2026-03-01",
                            "gross": {"amount": "4900", "asset": "USD"},
                            "earnings": {"amount": "3920", "asset": "USD"},
                        },
                        {
                            "date": "2026-03-02",
                            "gross": {"amount": "0", "asset": "USD"},
                            "earnings": {"amount": "0", "asset": "USD"},
                        },
                    ],
                    "gross": {"amount": "4900", "asset": "USD"},
                    "earnings": {"amount": "3920", "asset": "USD"},
                    "tier": "bronze",
                    "share_bps": 8000,
                    "net_sales": {"amount": "4900", "asset": "USD"},
                    "next_tier": "silver",
                    "next_threshold": {"amount": "100000", "asset": "USD"},
                    "progress_bps": 490,
                    "payable": [{"amount": "3920", "asset": "USD"}, {"amount": "0", "asset": "AGR"}],
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        user = authenticated_user(request)
        query = self.QuerySerializer(data=query_params(request))
        query.is_valid(raise_exception=True)
        asset: str = query.validated_data["asset"]
        series = earnings_series(creator=user, asset=asset, days=int(query.validated_data["days"]))
        progress = tier_progress(creator=user)
        data = {
            "asset": asset,
            "days": series.days,
            "interval": series.interval,
            "series": [
                {
                    "date": point.start,
                    "gross": money_json(amount=point.gross, asset=asset),
                    "earnings": money_json(amount=point.earnings, asset=asset),
                }
                for point in series.points
            ],
            "gross": money_json(amount=series.gross, asset=asset),
            "earnings": money_json(amount=series.earnings, asset=asset),
            "tier": progress.tier.tier.value,
            "share_bps": progress.tier.share_bps,
            "net_sales": money_json(amount=progress.net_sales_cents, asset=Asset.USD),
            "next_tier": progress.next_tier.tier.value if progress.next_tier else None,
            "next_threshold": (
                money_json(amount=progress.next_tier.threshold, asset=Asset.USD)
                if progress.next_tier
                else None
            ),
            "progress_bps": progress.progress_bps,
            "payable": [
                money_json(amount=row.creator_payable, asset=row.asset) for row in user_balances(user=user)
            ],
        }
        return Response(self.OutputSerializer(data).data)


urlpatterns: list[URLPattern] = [path("creator/earnings", EarningsApi.as_view(), name="creator-earnings")]
