"""Prepaid credit through either rail: `POST /api/v1/credits`, its status, and AGR verification."""

from __future__ import annotations

from typing import Any, ClassVar

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
    error_responses,
)
from core.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from tokenomics.models import Payment, Rail
from tokenomics.money import money_json
from tokenomics.selectors.payments import agr_instructions, card_instructions, payment_get_for_user
from tokenomics.services.chain_rail import agr_payment_claim, agr_payment_start
from tokenomics.services.payments import CREDIT_TOP_UP
from tokenomics.services.stripe_rail import card_payment_start


class CreditOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    rail = serializers.ChoiceField(choices=Rail.choices)
    status = serializers.ChoiceField(choices=Payment.Status.choices)
    amount = MoneySerializer(help_text="What is being paid (USD cents or AGR base units).")
    received = MoneySerializer(help_text="Credited so far, before the prepaid bonus.")
    created_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)
    card = CardInstructionsSerializer(allow_null=True, help_text="Card payments: what Stripe.js needs.")
    agr = AgrInstructionsSerializer(allow_null=True, help_text="AGR payments: what the wallet sends.")


def _credit_data(payment: Payment, *, client_secret: str | None = None) -> dict[str, Any]:
    card = card_instructions(payment, client_secret=client_secret)
    agr = agr_instructions(payment)
    return {
        "id": payment.pk,
        "reference": payment.reference,
        "rail": payment.rail,
        "status": payment.status,
        "amount": money_json(amount=payment.amount, asset=payment.asset),
        "received": money_json(amount=payment.received_amount, asset=payment.asset),
        "created_at": payment.created_at,
        "paid_at": payment.paid_at,
        "card": card,
        "agr": agr,
    }


class CreditCreateApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = {"POST": "write"}

    class InputSerializer(serializers.Serializer[Any]):
        rail = serializers.ChoiceField(choices=Rail.choices)
        amount = serializers.RegexField(
            POSITIVE_WHOLE_NUMBER,
            max_length=40,
            help_text="Minor units as a string: US cents for `card`, AGR base units for `agr`.",
        )

    @extend_schema(
        operation_id="credits_create",
        request=InputSerializer,
        responses={201: CreditOutputSerializer, **error_responses(409, 502, 503)},
        parameters=[IDEMPOTENCY_PARAMETER],
        tags=["money"],
        description=(
            "Top up prepaid credit. `card` returns a PaymentIntent client secret for Stripe.js; `agr` "
            "returns where to send AGR. The wallet is credited (with the prepaid bonus) when the money "
            "arrives: the Stripe webhook for cards, `POST /api/v1/credits/{id}/agr-payment` for AGR."
        ),
        examples=[OpenApiExample("Card", value={"rail": "card", "amount": "2500"}, request_only=True)],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        user = authenticated_user(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        amount = int(data.validated_data["amount"])
        rail = data.validated_data["rail"]
        if rail == Rail.CARD:
            started = card_payment_start(user=user, purpose=CREDIT_TOP_UP, amount=amount)
            body = _credit_data(started.payment, client_secret=started.client_secret)
        else:
            body = _credit_data(agr_payment_start(user=user, purpose=CREDIT_TOP_UP, amount=amount))
        return Response(CreditOutputSerializer(body).data, status=201)


class CreditDetailApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = {"GET": "read"}

    @extend_schema(operation_id="credits_retrieve", responses=CreditOutputSerializer, tags=["money"])
    def get(self, request: Request, payment_id: int) -> Response:
        payment = payment_get_for_user(user=authenticated_user(request), payment_id=payment_id)
        return Response(CreditOutputSerializer(_credit_data(payment)).data)


class CreditAgrPaymentApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = {"POST": "write"}

    InputSerializer = AgrPaymentClaimSerializer

    @extend_schema(
        operation_id="credits_agr_payment",
        request=InputSerializer,
        responses={200: CreditOutputSerializer, **error_responses(409, 503)},
        tags=["money"],
        description=(
            "Verify an AGR transfer paying this top-up and credit it once. Refusals are "
            "`payment_not_verified` with `detail.reason` naming the failed check."
        ),
    )
    def post(self, request: Request, payment_id: int) -> Response:
        payment = payment_get_for_user(user=authenticated_user(request), payment_id=payment_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = agr_payment_claim(payment_id=payment.pk, tx_hash=data.validated_data["tx_hash"])
        return Response(CreditOutputSerializer(_credit_data(result.payment)).data)
