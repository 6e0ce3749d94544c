"""Orders through the API: start one for a plan (card or AGR), follow it, verify an AGR payment,
refund inside the policy, open a dispute."""

from __future__ import annotations

from typing import Any, ClassVar

from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import authenticated_user
from core.api import (
    POSITIVE_WHOLE_NUMBER,
    AgrInstructionsSerializer,
    AgrPaymentClaimSerializer,
    CardInstructionsSerializer,
    MoneySerializer,
    Pagination,
    StrictCharField,
    error_responses,
    not_blank,
    paginated_response,
)
from core.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from marketplace.errors import InvalidState
from marketplace.models import Dispute, Order, OrderStatus, PlanKind
from marketplace.selectors.orders import order_get_for_buyer, order_list_for_buyer, order_refund_deadline
from marketplace.services.orders import order_card_client_secret, order_create
from marketplace.services.pricing import CHECKOUT_RAILS
from marketplace.services.refunds import order_dispute_open, order_refund
from tokenomics.models import Rail
from tokenomics.money import money_json
from tokenomics.selectors.payments import agr_instructions, card_instructions
from tokenomics.services.chain_rail import agr_payment_claim


class OrderOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    reference = serializers.CharField(help_text="`order:<id>`: the payment's and the escrow's reference.")
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    kind = serializers.ChoiceField(choices=PlanKind.choices)
    listing = serializers.CharField(help_text="The listing's slug.")
    plan = serializers.IntegerField()
    version = serializers.CharField(allow_null=True, help_text="One-time orders: the version licensed.")
    rail = serializers.ChoiceField(choices=Rail.choices, help_text="The rail whose asset it is priced in.")
    from_balance = serializers.BooleanField(
        help_text="Paid at once from the buyer's prepaid balance (a refund goes back there)."
    )
    list_price = MoneySerializer()
    agr_discount = MoneySerializer()
    volume_discount = MoneySerializer()
    total = MoneySerializer(help_text="What the buyer pays: list price minus the discounts.")
    refunded = MoneySerializer()
    refundable_until = serializers.DateTimeField(
        allow_null=True, help_text="One-time orders in escrow with nothing downloaded: the refund deadline."
    )
    license = serializers.IntegerField(allow_null=True)
    subscription = serializers.IntegerField(allow_null=True)
    period_end = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)
    card = CardInstructionsSerializer(
        allow_null=True, help_text="Card orders awaiting payment: for Stripe.js."
    )
    agr = AgrInstructionsSerializer(allow_null=True, help_text="AGR orders awaiting payment: what to send.")


def order_data(order: Order, *, client_secret: str | None = None) -> dict[str, Any]:
    payment = order.payment
    awaiting = order.status == OrderStatus.AWAITING_PAYMENT and payment is not None
    lic = getattr(order, "license", None) if order.kind == PlanKind.ONE_TIME else None
    return {
        "id": order.pk,
        "reference": order.reference,
        "status": order.status,
        "kind": order.kind,
        "listing": order.listing.slug,
        "plan": order.plan_id,
        "version": order.version.version if order.version_id and order.version else None,
        "rail": order.rail,
        "from_balance": order.payment_id is None,
        "list_price": money_json(amount=int(order.list_amount), asset=order.asset),
        "agr_discount": money_json(amount=int(order.agr_discount), asset=order.asset),
        "volume_discount": money_json(amount=int(order.volume_discount), asset=order.asset),
        "total": money_json(amount=int(order.total), asset=order.asset),
        "refunded": money_json(amount=int(order.refunded_amount), asset=order.asset),
        "refundable_until": order_refund_deadline(order=order),
        "license": lic.pk if lic is not None else None,
        "subscription": order.subscription_id,
        "period_end": order.period_end,
        "created_at": order.created_at,
        "paid_at": order.paid_at,
        "card": card_instructions(payment, client_secret=client_secret) if awaiting and payment else None,
        "agr": agr_instructions(payment) if awaiting and payment else None,
    }


class OrderListCreateApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = {"GET": "read", "POST": "write"}
    pagination_class = Pagination

    class InputSerializer(serializers.Serializer[Any]):
        plan = serializers.IntegerField(min_value=1, help_text="The plan's id (from the listing).")
        rail = serializers.ChoiceField(
            choices=CHECKOUT_RAILS,
            help_text=(
                "`card`, `agr`, or prepaid balance: `balance` (US dollars, priced as card) or "
                "`agr_balance` (priced as agr, with its discount), paid at once."
            ),
        )
        credit = serializers.RegexField(
            POSITIVE_WHOLE_NUMBER,
            max_length=12,
            required=False,
            help_text=(
                "Pay-per-inference plans only: prepaid credit to buy, in US cents "
                "(from the registry's orders.credit_minimum_cents)."
            ),
        )

    @extend_schema(
        operation_id="orders_list",
        responses=OrderOutputSerializer(many=True),
        tags=["orders"],
        description="The caller's orders, newest first.",
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            queryset=order_list_for_buyer(buyer=authenticated_user(request)).select_related("version"),
            serializer_class=_OrderRowSerializer,
            request=request,
            view=self,
        )

    @extend_schema(
        operation_id="orders_create",
        request=InputSerializer,
        responses={201: OrderOutputSerializer, **error_responses(402, 404, 409, 502, 503)},
        parameters=[IDEMPOTENCY_PARAMETER],
        tags=["orders"],
        description=(
            "Start an order for a plan. The price is the plan's list price, less the registry's "
            "discount.agr_payment_bps (15% by default) when paying in AGR. `card` returns a "
            "PaymentIntent client secret for Stripe.js; `agr` returns the token, "
            "deposit address, amount and reference to pay, then `POST /orders/{id}/agr-payment`. The "
            "order moves to `in_escrow` (one-time, subscription) or `paid` (prepaid credit) when the "
            "money arrives. `balance` / `agr_balance` pay at once from the prepaid balance "
            "(`402 insufficient_funds` when it is too low; nothing is created then); prepaid "
            "balance cannot buy per-inference credit."
        ),
        examples=[
            OpenApiExample("By card", value={"plan": 12, "rail": "card"}, request_only=True),
            OpenApiExample("From prepaid balance", value={"plan": 12, "rail": "balance"}, request_only=True),
            OpenApiExample(
                "Credit in AGR", value={"plan": 13, "rail": "agr", "credit": "2500"}, request_only=True
            ),
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        credit = data.validated_data.get("credit")
        started = order_create(
            buyer=authenticated_user(request),
            plan_id=data.validated_data["plan"],
            rail=data.validated_data["rail"],
            credit_cents=int(credit) if credit is not None else None,
        )
        body = order_data(started.order, client_secret=started.client_secret)
        return Response(OrderOutputSerializer(body).data, status=201)


class _OrderRowSerializer(serializers.BaseSerializer[Order]):
    def to_representation(self, instance: Order) -> dict[str, Any]:
        return dict(OrderOutputSerializer(order_data(instance)).data)


class OrderDetailApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = {"GET": "read"}

    @extend_schema(
        operation_id="orders_retrieve",
        responses={200: OrderOutputSerializer, **error_responses(404)},
        tags=["orders"],
        description=(
            "An order of the caller's. Reading calls no payment provider and creates nothing: a card "
            "order awaiting payment gets its client secret from `POST /orders/{id}/card-payment`."
        ),
    )
    def get(self, request: Request, order_id: int) -> Response:
        order = order_get_for_buyer(buyer=authenticated_user(request), order_id=order_id)
        return Response(OrderOutputSerializer(order_data(order)).data)


class OrderCardPaymentApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = {"POST": "write"}

    @extend_schema(
        operation_id="orders_card_payment",
        request=None,
        responses={200: OrderOutputSerializer, **error_responses(404, 409, 503)},
        tags=["orders"],
        description=(
            "The card block (PaymentIntent and its client secret for Stripe.js) of a card order "
            "awaiting payment; creates its PaymentIntent at most once (calls Stripe). `409 "
            "invalid_state` once the order is paid, canceled, or not paid by card."
        ),
    )
    def post(self, request: Request, order_id: int) -> Response:
        order = order_get_for_buyer(buyer=authenticated_user(request), order_id=order_id)
        secret = order_card_client_secret(order=order)
        return Response(OrderOutputSerializer(order_data(order, client_secret=secret)).data)


class OrderAgrPaymentApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = {"POST": "write"}

    InputSerializer = AgrPaymentClaimSerializer

    @extend_schema(
        operation_id="orders_agr_payment",
        request=InputSerializer,
        responses={200: OrderOutputSerializer, **error_responses(404, 409, 503)},
        tags=["orders"],
        description=(
            "Verify an on-chain AGR transfer paying this order; once it has enough confirmations the "
            "order is paid. Refusals are `payment_not_verified` with `detail.reason`."
        ),
    )
    def post(self, request: Request, order_id: int) -> Response:
        buyer = authenticated_user(request)
        order = order_get_for_buyer(buyer=buyer, order_id=order_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if order.payment_id is None or order.rail != Rail.AGR:
            raise InvalidState("This order is not paid in AGR.")
        agr_payment_claim(payment_id=order.payment_id, tx_hash=data.validated_data["tx_hash"])
        order = order_get_for_buyer(buyer=buyer, order_id=order_id)
        return Response(OrderOutputSerializer(order_data(order)).data)


class OrderRefundApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = {"POST": "write"}

    class InputSerializer(serializers.Serializer[Any]):
        reason = StrictCharField(max_length=255, required=False, allow_blank=True)

    @extend_schema(
        operation_id="orders_refund",
        request=InputSerializer,
        responses={200: OrderOutputSerializer, **error_responses(404, 409)},
        parameters=[IDEMPOTENCY_PARAMETER],
        tags=["orders"],
        description=(
            "Refund a one-time purchase in full within escrow.refund_window_seconds (7 days by default) if "
            "nothing was downloaded; the money goes "
            "back through the rail that paid. Otherwise `409 refund_window_closed`. Subscriptions are "
            "refunded pro rata by cancelling them."
        ),
    )
    @idempotent
    def post(self, request: Request, order_id: int) -> Response:
        buyer = authenticated_user(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order_refund(buyer=buyer, order_id=order_id, reason=data.validated_data.get("reason", ""))
        order = order_get_for_buyer(buyer=buyer, order_id=order_id)
        return Response(OrderOutputSerializer(order_data(order)).data)


class DisputeOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    order = serializers.IntegerField(source="order_id")
    status = serializers.CharField()
    reason = serializers.CharField()
    evidence = serializers.CharField()
    has_evidence_file = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_has_evidence_file(self, obj: Dispute) -> bool:
        return bool(obj.evidence_file)


class OrderDisputeApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = {"POST": "write"}

    # Files of evidence are attached on the order page; the API takes the written account.
    class InputSerializer(serializers.Serializer[Any]):
        reason = StrictCharField(max_length=200, validators=[not_blank])
        evidence = StrictCharField(max_length=10_000, validators=[not_blank])

    @extend_schema(
        operation_id="orders_dispute",
        request=InputSerializer,
        responses={201: DisputeOutputSerializer, **error_responses(404, 409)},
        tags=["orders"],
        description="Open a dispute with evidence. Money still in escrow stays held until staff resolve it.",
    )
    def post(self, request: Request, order_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dispute = order_dispute_open(
            buyer=authenticated_user(request),
            order_id=order_id,
            reason=data.validated_data["reason"],
            evidence=data.validated_data["evidence"],
        )
        return Response(DisputeOutputSerializer(dispute).data, status=201)


urlpatterns: list[URLPattern] = [
    path("orders", OrderListCreateApi.as_view(), name="orders"),
    path("orders/<int:order_id>", OrderDetailApi.as_view(), name="order"),
    path("orders/<int:order_id>/card-payment", OrderCardPaymentApi.as_view(), name="order-card-payment"),
    path("orders/<int:order_id>/agr-payment", OrderAgrPaymentApi.as_view(), name="order-agr-payment"),
    path("orders/<int:order_id>/refund", OrderRefundApi.as_view(), name="order-refund"),
    path("orders/<int:order_id>/dispute", OrderDisputeApi.as_view(), name="order-dispute"),
]
