"""/api/v1/stakes: stake AGR from the wallet, start an unstake, read the position and its tier."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import authenticated_user
from core.api import POSITIVE_WHOLE_NUMBER, ErrorSerializer, MoneySerializer, StrictRegexField
from core.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from tokenomics.money import money_json
from tokenomics.selectors.staking import Position, position
from tokenomics.services.staking import stake_deposit, unstake_start


class TierSerializer(serializers.Serializer[Any]):
    tier = serializers.CharField()
    minimum = MoneySerializer(help_text="AGR bonded to reach it.")
    max_slash_bps = serializers.IntegerField()
    fee_discount_bps = serializers.IntegerField(
        help_text="Cut of the platform's compute-fee part given back."
    )


class UnbondingSerializer(serializers.Serializer[Any]):
    amount = MoneySerializer()
    release_at = serializers.DateTimeField(help_text="When it returns to the wallet.")


class PositionSerializer(serializers.Serializer[Any]):
    bonded = MoneySerializer(help_text="AGR staked now; it counts for the tier and for votes.")
    unbonding = MoneySerializer(help_text="AGR in its cool-down: no tier, no votes, still slashable.")
    tier = TierSerializer(allow_null=True, help_text="null below Bronze.")
    next_tier = TierSerializer(allow_null=True)
    remaining_to_next = MoneySerializer(allow_null=True)
    since = serializers.DateTimeField(
        allow_null=True, help_text="When the oldest AGR still staked was staked."
    )
    unbondings = UnbondingSerializer(many=True)


def _agr(amount: int) -> dict[str, str]:
    return money_json(amount=amount, asset="AGR")


def _tier(rule: Any) -> dict[str, Any] | None:
    if rule is None:
        return None
    return {
        "tier": rule.tier,
        "minimum": _agr(rule.minimum),
        "max_slash_bps": rule.max_slash_bps,
        "fee_discount_bps": rule.fee_discount_bps,
    }


def position_data(found: Position) -> dict[str, Any]:
    return {
        "bonded": _agr(found.bonded),
        "unbonding": _agr(found.unbonding),
        "tier": _tier(found.tier),
        "next_tier": _tier(found.next_tier),
        "remaining_to_next": _agr(found.next_tier.minimum - found.bonded) if found.next_tier else None,
        "since": found.since,
        "unbondings": [{"amount": _agr(int(u.amount)), "release_at": u.release_at} for u in found.unbondings],
    }


def _position_response(user: Any, *, status: int = 200) -> Response:
    found = position(user, now=timezone.now())
    return Response(PositionSerializer(position_data(found)).data, status=status)


class AmountInputSerializer(serializers.Serializer[Any]):
    amount = StrictRegexField(POSITIVE_WHOLE_NUMBER, help_text="AGR base units (10^-18 AGR), as a string.")


class StakeListCreateApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = {"GET": "read", "POST": "write"}

    @extend_schema(operation_id="stakes_get", responses=PositionSerializer, tags=["staking"])
    def get(self, request: Request) -> Response:
        found = position(authenticated_user(request), now=timezone.now())
        return Response(PositionSerializer(position_data(found)).data)

    @extend_schema(
        operation_id="stakes_create",
        request=AmountInputSerializer,
        responses={201: PositionSerializer, 400: ErrorSerializer, 402: ErrorSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
        tags=["staking"],
        description="Stake AGR from your wallet. `insufficient_funds` (402) above the wallet's AGR.",
        examples=[
            OpenApiExample("Stake 50,000 AGR", value={"amount": "50000" + "0" * 18}, request_only=True)
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        user = authenticated_user(request)
        data = AmountInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        stake_deposit(user=user, amount=int(data.validated_data["amount"]), idempotency_key=uuid.uuid4().hex)
        return Response(
            PositionSerializer(position_data(position(user, now=timezone.now()))).data, status=201
        )


class UnstakeApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = {"POST": "write"}

    @extend_schema(
        operation_id="stakes_unstake",
        request=AmountInputSerializer,
        responses={201: PositionSerializer, 400: ErrorSerializer, 402: ErrorSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
        tags=["staking"],
        description=(
            "Start unstaking: the amount stops counting for your tier and votes at once and returns to "
            "your wallet after the cool-down (staking.unstake_cooldown_seconds); it can still be "
            "slashed until then. `insufficient_funds` (402) above what is staked."
        ),
    )
    @idempotent
    def post(self, request: Request) -> Response:
        user = authenticated_user(request)
        data = AmountInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        unstake_start(user=user, amount=int(data.validated_data["amount"]), idempotency_key=uuid.uuid4().hex)
        return Response(
            PositionSerializer(position_data(position(user, now=timezone.now()))).data, status=201
        )
