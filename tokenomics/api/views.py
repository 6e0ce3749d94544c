"""The money app's API: a user's balances and creator tier, and the public parameter registry."""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import authenticated_user
from core.api import WHOLE_NUMBER, MoneySerializer, Pagination, paginated_response, query_params
from tokenomics.errors import ParameterNotFound
from tokenomics.models import Asset, Parameter
from tokenomics.models.parameters import ParameterUnit
from tokenomics.money import money_json
from tokenomics.parameter_catalog import CATALOG
from tokenomics.selectors.ledger import user_balances
from tokenomics.selectors.parameters import parameter_list
from tokenomics.selectors.rates import creator_standing
from tokenomics.splits import CreatorTier, TierRule

# Every parameter comes from the catalog (parameters_sync), so its categories are the registry's.
CATEGORIES = sorted({spec.category for spec in CATALOG})


class AssetBalanceSerializer(serializers.Serializer[Any]):
    asset = serializers.ChoiceField(choices=Asset.choices)
    wallet = MoneySerializer(help_text="Prepaid balance, spendable on purchases and inference.")
    creator_payable = MoneySerializer(help_text="Earned from sales; withdrawable as a payout.")
    provider_payable = MoneySerializer(help_text="Earned by serving inference; withdrawable as a payout.")
    stake = MoneySerializer(help_text="Staked; locked until unstaked and the cool-down has passed.")


class NextCreatorTierSerializer(serializers.Serializer[Any]):
    tier = serializers.ChoiceField(choices=[tier.value for tier in CreatorTier])
    share_bps = serializers.IntegerField(help_text="Creator share of a sale's gross at that tier, in bps.")
    threshold = MoneySerializer(help_text="Lifetime net sales (USD equivalent) that reach it.")
    remaining = MoneySerializer(help_text="Net sales (USD equivalent) still needed to reach it.")


class CreatorTierSerializer(serializers.Serializer[Any]):
    tier = serializers.ChoiceField(choices=[tier.value for tier in CreatorTier])
    share_bps = serializers.IntegerField(help_text="Creator share of a sale's gross, in bps.")
    net_sales = MoneySerializer(
        help_text="Lifetime net sales in USD cents; AGR sales count at the registry's reference price."
    )
    next_tier = NextCreatorTierSerializer(allow_null=True, help_text="The next tier up; null at the top.")


class BalanceApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = {"GET": "read"}

    class OutputSerializer(serializers.Serializer[Any]):
        balances = AssetBalanceSerializer(many=True, help_text="One entry per asset: USD, then AGR.")
        creator_tier = CreatorTierSerializer(help_text="Derived from the ledger on each read.")

    @extend_schema(
        operation_id="balance_retrieve",
        responses=OutputSerializer,
        tags=["money"],
        description=(
            "The caller's balances per asset and account (prepaid wallet, creator and provider "
            "payables, stake) and their creator tier with the next threshold."
        ),
        examples=[
            OpenApiExample(
                "A creator with sales",
                response_only=True,
                value={
                    "balances": [
                        {
                            "asset": "USD",
                            "wallet": {"amount": "2500", "asset": "USD"},
                            "creator_payable": {"amount": "43456", "asset": "USD"},
                            "provider_payable": {"amount": "0", "asset": "USD"},
                            "stake": {"amount": "0", "asset": "USD"},
                        },
                        {
                            "asset": "AGR",
                            "wallet": {"amount": "1500000000000000000000", "asset": "AGR"},
                            "creator_payable": {"amount": "0", "asset": "AGR"},
                            "provider_payable": {"amount": "0", "asset": "AGR"},
                            "stake": {"amount": "10000000000000000000000", "asset": "AGR"},
                        },
                    ],
                    "creator_tier": {
                        "tier": "bronze",
                        "share_bps": 8000,
                        "net_sales": {"amount": "54320", "asset": "USD"},
                        "next_tier": {
                            "tier": "silver",
                            "share_bps": 8200,
                            "threshold": {"amount": "100000", "asset": "USD"},
                            "remaining": {"amount": "45680", "asset": "USD"},
                        },
                    },
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        user = authenticated_user(request)
        standing = creator_standing(creator=user)
        data = {
            "balances": [
                {
                    "asset": row.asset,
                    "wallet": money_json(amount=row.wallet, asset=row.asset),
                    "creator_payable": money_json(amount=row.creator_payable, asset=row.asset),
                    "provider_payable": money_json(amount=row.provider_payable, asset=row.asset),
                    "stake": money_json(amount=row.stake, asset=row.asset),
                }
                for row in user_balances(user=user)
            ],
            "creator_tier": {
                "tier": standing.tier.tier.value,
                "share_bps": standing.tier.share_bps,
                "net_sales": money_json(amount=standing.net_sales_cents, asset=Asset.USD),
                "next_tier": _next_tier(standing.next_tier, net_sales_cents=standing.net_sales_cents),
            },
        }
        return Response(self.OutputSerializer(data).data)


def _next_tier(rule: TierRule | None, *, net_sales_cents: int) -> dict[str, Any] | None:
    if rule is None:
        return None
    return {
        "tier": rule.tier.value,
        "share_bps": rule.share_bps,
        "threshold": money_json(amount=rule.threshold, asset=Asset.USD),
        # next_tier is by definition above the sales, so this is positive.
        "remaining": money_json(amount=rule.threshold - net_sales_cents, asset=Asset.USD),
    }


class ParameterChangeOutputSerializer(serializers.Serializer[Any]):
    old_value = serializers.RegexField(
        WHOLE_NUMBER, allow_null=True, help_text="The value before; null for the initial default."
    )
    new_value = serializers.RegexField(WHOLE_NUMBER)
    changed_at = serializers.DateTimeField()
    changed_by = serializers.CharField(
        source="changed_by.public_name",
        allow_null=True,
        help_text="Public name of the staff member who made the change; null for governance and defaults.",
    )
    proposal = serializers.CharField(
        source="proposal_ref", allow_blank=True, help_text='The proposal that made it, "proposal:<id>".'
    )
    reason = serializers.CharField(allow_blank=True)
    emergency = serializers.BooleanField(help_text="An emergency change, exempt from the quarterly limit.")


class ParameterOutputSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    category = serializers.CharField()
    value = serializers.RegexField(
        WHOLE_NUMBER, help_text="Current value: a whole number in `unit`, as a string."
    )
    unit = serializers.ChoiceField(choices=ParameterUnit.choices)
    min_value = serializers.RegexField(WHOLE_NUMBER)
    max_value = serializers.RegexField(WHOLE_NUMBER)
    description = serializers.CharField()
    updated_at = serializers.DateTimeField()
    history = ParameterChangeOutputSerializer(
        many=True, source="changes", help_text="Every value it has held, newest first."
    )


_PARAMETER_EXAMPLE = {
    "key": "sale.network_fee_bps",
    "category": "sales",
    "value": "200",
    "unit": "bps",
    "min_value": "0",
    "max_value": "10000",
    "description": "Network fee on a sale, burned or sent to the buy-back reserve.",
    "updated_at": "2026-03-02T10:00:00Z",
    "history": [
        {
            "old_value": "250",
            "new_value": "200",
            "changed_at": "2026-03-02T10:00:00Z",
            "changed_by": None,
            "proposal": "proposal:12",
            "reason": "Lower the network fee",
            "emergency": False,
        },
        {
            "old_value": None,
            "new_value": "250",
            "changed_at": "2026-01-01T00:00:00Z",
            "changed_by": None,
            "proposal": "",
            "reason": "Initial default",
            "emergency": False,
        },
    ],
}


class ParameterListApi(APIView):
    permission_classes = [AllowAny]
    pagination_class = Pagination

    class QuerySerializer(serializers.Serializer[Any]):
        category = serializers.ChoiceField(
            choices=CATEGORIES, required=False, help_text="Only the parameters of this category."
        )

    @extend_schema(
        operation_id="parameters_list",
        parameters=[QuerySerializer],
        responses=ParameterOutputSerializer(many=True),
        tags=["parameters"],
        description=(
            "The parameter registry: every economic number with its unit, bounds and full history, "
            "ordered by category and key. Values are whole numbers in their unit, as strings. "
            "A `category` outside the listed ones is `400 validation_error`."
        ),
        examples=[
            # One item: drf-spectacular wraps a list example in the page shape.
            OpenApiExample("A page", response_only=True, value=_PARAMETER_EXAMPLE)
        ],
    )
    def get(self, request: Request) -> Response:
        query = self.QuerySerializer(data=query_params(request))
        query.is_valid(raise_exception=True)
        return paginated_response(
            queryset=parameter_list(category=query.validated_data.get("category")),
            serializer_class=ParameterOutputSerializer,
            request=request,
            view=self,
        )


class ParameterDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="parameters_retrieve",
        responses=ParameterOutputSerializer,
        tags=["parameters"],
        description="One parameter of the registry, with its full history; `404 not_found` if unknown.",
        examples=[OpenApiExample("A governed fee", response_only=True, value=_PARAMETER_EXAMPLE)],
    )
    def get(self, request: Request, key: str) -> Response:
        parameter: Parameter | None = parameter_list().filter(key=key).first()
        if parameter is None:
            raise ParameterNotFound(detail={"key": key})
        return Response(ParameterOutputSerializer(parameter).data)
