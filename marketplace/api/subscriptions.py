"""Subscriptions through the API: list them, cancel (now with a pro-rated refund, or at period end)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import authenticated_user
from core.api import ErrorSerializer, MoneySerializer, Pagination, paginated_response
from core.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from marketplace.models import Subscription, SubscriptionStatus
from marketplace.selectors.orders import subscription_get_for_buyer, subscription_list_for_buyer
from marketplace.services.subscriptions import subscription_cancel
from tokenomics.money import money_json


class SubscriptionOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    listing = serializers.CharField(source="listing.slug")
    plan = serializers.IntegerField(source="plan_id")
    plan_name = serializers.CharField(source="plan.name")
    rail = serializers.CharField()
    status = serializers.ChoiceField(choices=SubscriptionStatus.choices)
    monthly_quota = serializers.IntegerField(
        allow_null=True, help_text="Inferences per period; null is unlimited."
    )
    quota_used = serializers.IntegerField()
    current_period_end = serializers.DateTimeField(allow_null=True)
    auto_renew = serializers.BooleanField(help_text="Renew from the prepaid balance at period end.")
    canceled_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class SubscriptionListApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = {"GET": "read"}
    pagination_class = Pagination

    @extend_schema(
        operation_id="subscriptions_list",
        responses=SubscriptionOutputSerializer(many=True),
        tags=["subscriptions"],
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            queryset=subscription_list_for_buyer(buyer=authenticated_user(request)),
            serializer_class=SubscriptionOutputSerializer,
            request=request,
            view=self,
        )


class SubscriptionCancelOutputSerializer(serializers.Serializer[Any]):
    subscription = SubscriptionOutputSerializer()
    refunded = MoneySerializer(
        help_text="The unused part of the period, going back through the rail that paid."
    )


class SubscriptionCancelApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = {"POST": "write"}

    class InputSerializer(serializers.Serializer[Any]):
        at_period_end = serializers.BooleanField(
            default=False,
            help_text="true: keep access until the period ends, no renewal, no refund. "
            "false (default): end now and refund the unused days pro rata.",
        )

    @extend_schema(
        operation_id="subscriptions_cancel",
        request=InputSerializer,
        responses={200: SubscriptionCancelOutputSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
        tags=["subscriptions"],
        examples=[OpenApiExample("Now, pro rata", value={"at_period_end": False}, request_only=True)],
    )
    @idempotent
    def post(self, request: Request, subscription_id: int) -> Response:
        buyer = authenticated_user(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sub = subscription_cancel(
            buyer=buyer, subscription_id=subscription_id, at_period_end=data.validated_data["at_period_end"]
        )
        sub = subscription_get_for_buyer(buyer=buyer, subscription_id=sub.pk)
        body = {"subscription": sub, "refunded": _refunded(sub)}
        return Response(SubscriptionCancelOutputSerializer(body).data)


def _refunded(sub: Subscription) -> dict[str, str]:
    order = sub.orders.exclude(period_start=None).order_by("-period_end", "-pk").first()
    if order is None or sub.status != SubscriptionStatus.CANCELED:
        asset = order.asset if order is not None else "USD"
        return money_json(amount=0, asset=asset)
    return money_json(amount=int(order.refunded_amount), asset=order.asset)


urlpatterns: list[URLPattern] = [
    path("subscriptions", SubscriptionListApi.as_view(), name="subscriptions"),
    path(
        "subscriptions/<int:subscription_id>/cancel",
        SubscriptionCancelApi.as_view(),
        name="subscription-cancel",
    ),
]
