"""Payouts: `POST /api/v1/payouts` withdraws a payable balance; `GET` lists and reads one's own."""

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
    ErrorSerializer,
    MoneySerializer,
    Pagination,
    StrictRegexField,
    paginated_response,
)
from core.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from tokenomics.models import Asset, Payout, Rail
from tokenomics.models.ledger import AccountKind
from tokenomics.models.payouts import PayoutStatus
from tokenomics.money import money_json
from tokenomics.selectors.payouts import payout_get_for_user, payout_list_for_user
from tokenomics.services.payouts import payout_request

ACCOUNTS = {"creator": AccountKind.CREATOR_PAYABLE, "provider": AccountKind.PROVIDER_PAYABLE}
ACCOUNT_NAMES = {kind.value: name for name, kind in ACCOUNTS.items()}


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false only (DRF also takes "yes", 1, "on"...)."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class PayoutAmountSerializer(serializers.Serializer[Any]):
    amount = StrictRegexField(
        POSITIVE_WHOLE_NUMBER,
        max_length=78,
        help_text="A positive whole number of minor units (US cents; AGR base units of 10^-18), as a string.",
    )
    asset = serializers.ChoiceField(
        choices=Asset.choices, help_text="USD is paid through Stripe; AGR on chain."
    )


class PayoutOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    status = serializers.ChoiceField(
        choices=PayoutStatus.choices,
        help_text=(
            "`needs_review`: above the KYC threshold, waiting for staff; `processing`: on its way; "
            "`paid`; `failed` or `canceled`: the whole amount went back to the payable balance."
        ),
    )
    account = serializers.ChoiceField(choices=sorted(ACCOUNTS), help_text="The payable balance it came from.")
    rail = serializers.ChoiceField(choices=Rail.choices)
    instant = serializers.BooleanField(help_text="On demand, with the instant-withdrawal fee.")
    amount = MoneySerializer(help_text="Debited from the payable balance.")
    fee = MoneySerializer(help_text="Instant-withdrawal fee, rounded down; 0 for scheduled payouts.")
    net = MoneySerializer(help_text="Sent to the payee: amount - fee.")
    to_address = serializers.CharField(allow_blank=True, help_text="AGR: the recipient; empty for USD.")
    tx_hash = serializers.CharField(allow_null=True, help_text="AGR: the transfer's hash once signed.")
    failure_reason = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    settled_at = serializers.DateTimeField(allow_null=True, help_text="When it was paid, failed or canceled.")


def _payout_data(payout: Payout) -> dict[str, Any]:
    chain = payout.chain_payout
    return {
        "id": payout.pk,
        "reference": payout.reference,
        "status": payout.status,
        "account": ACCOUNT_NAMES[payout.account_kind],
        "rail": payout.rail,
        "instant": payout.instant,
        "amount": money_json(amount=payout.amount, asset=payout.asset),
        "fee": money_json(amount=payout.fee, asset=payout.asset),
        "net": money_json(amount=payout.net, asset=payout.asset),
        "to_address": payout.to_address,
        "tx_hash": chain.tx_hash if chain is not None else None,
        "failure_reason": payout.failure_reason,
        "created_at": payout.created_at,
        "settled_at": payout.settled_at,
    }


class _PayoutPageSerializer(serializers.BaseSerializer[Payout]):
    """Renders a page of Payout rows through `_payout_data` (paginated_response wants a class)."""

    def to_representation(self, instance: Payout) -> dict[str, Any]:
        return dict(PayoutOutputSerializer(_payout_data(instance)).data)


_EXAMPLE = {
    "id": 7,
    "reference": "payout:5c1f0f3b9d7a4c0e8a4b2f6d1e9c3a70",
    "status": "processing",
    "account": "creator",
    "rail": "card",
    "instant": True,
    "amount": {"amount": "25000", "asset": "USD"},
    "fee": {"amount": "375", "asset": "USD"},
    "net": {"amount": "24625", "asset": "USD"},
    "to_address": "",
    "tx_hash": None,
    "failure_reason": "",
    "created_at": "2026-03-02T10:00:00Z",
    "settled_at": None,
}


class PayoutListCreateApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = {"GET": "read", "POST": "write"}
    pagination_class = Pagination

    class InputSerializer(serializers.Serializer[Any]):
        amount = PayoutAmountSerializer(help_text="How much to withdraw; the fee is taken out of it.")
        account = serializers.ChoiceField(
            choices=sorted(ACCOUNTS), default="creator", help_text="Which payable balance to withdraw."
        )
        instant = StrictBooleanField(
            default=True,
            help_text="Pay now, with the instant-withdrawal fee. Scheduled payouts (no fee) run weekly.",
        )
        to_address = StrictRegexField(
            r"^0x[0-9a-fA-F]{40}$",
            required=False,
            help_text=(
                "AGR only: one of your linked wallets (EIP-55 or one case), past its cool-down "
                "(payout.new_wallet_cooldown_seconds after linking); default: your oldest linked wallet."
            ),
        )

    @extend_schema(
        operation_id="payouts_create",
        request=InputSerializer,
        responses={
            201: PayoutOutputSerializer,
            400: ErrorSerializer,
            402: ErrorSerializer,
            409: ErrorSerializer,
        },
        parameters=[IDEMPOTENCY_PARAMETER],
        tags=["money"],
        description=(
            "Withdraw from your creator or provider payable balance: USD through Stripe, AGR by an "
            "on-chain transfer. The whole amount leaves the balance now; the instant-withdrawal fee "
            "(registry: payout.instant_fee_bps) is taken out of it. Refusals: `validation_error` "
            "below the minimum (payout.minimum_cents; for AGR its value at the reference price), for "
            "an address on a USD payout; "
            "`insufficient_funds` (402) above the payable balance. AGR goes only to your own linked "
            "wallets: `payout_destination_not_allowed` (400) for any other address or when none is "
            "linked, `payout_destination_cooling_down` (409, with `detail.usable_at`) for a wallet linked "
            "less than payout.new_wallet_cooldown_seconds ago. Payouts worth more than "
            "payout.kyc_threshold_cents are created with status `needs_review` until staff approve them."
        ),
        examples=[
            OpenApiExample(
                "Instant USD payout",
                value={"amount": {"amount": "25000", "asset": "USD"}, "account": "creator", "instant": True},
                request_only=True,
            ),
            OpenApiExample("Created", value=_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        user = authenticated_user(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        payout = payout_request(
            user=user,
            asset=values["amount"]["asset"],
            amount=int(values["amount"]["amount"]),
            account_kind=ACCOUNTS[values["account"]],
            instant=values["instant"],
            to_address=values.get("to_address", ""),
        )
        return Response(PayoutOutputSerializer(_payout_data(payout)).data, status=201)

    @extend_schema(
        operation_id="payouts_list",
        responses=PayoutOutputSerializer(many=True),
        tags=["money"],
        description="Your payouts, newest first.",
        examples=[OpenApiExample("A page", value=_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            queryset=payout_list_for_user(user=authenticated_user(request)).select_related("chain_payout"),
            serializer_class=_PayoutPageSerializer,
            request=request,
            view=self,
        )


class PayoutDetailApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = {"GET": "read"}

    @extend_schema(
        operation_id="payouts_retrieve",
        responses=PayoutOutputSerializer,
        tags=["money"],
        description="One of your payouts; `404 not_found` for anyone else's.",
        examples=[OpenApiExample("Processing", value=_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, payout_id: int) -> Response:
        payout = payout_get_for_user(user=authenticated_user(request), payout_id=payout_id)
        return Response(PayoutOutputSerializer(_payout_data(payout)).data)
