from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.http import authenticated_user, siwe_challenge, siwe_context
from accounts.models import INTEGRATION_HEADER, ApiKey, Integration, SiweNonce
from accounts.permissions import HasScope, InPersonRecently
from core.api import (
    ErrorSerializer,
    Pagination,
    StrictCharField,
    not_blank,
    paginated_response,
    query_params,
)

# Credential management is for the account holder in person (accounts.permissions.InPersonRecently):
# API keys are refused first, so a key hears why, whatever its scopes.
IN_PERSON = [IsAuthenticated, InPersonRecently, HasScope]
IN_PERSON_DOC = (
    " Needs a browser or headless (X-Session-Token) session that logged in or re-authenticated in "
    "the last 5 minutes: `403 api_key_not_allowed` for an API key, `403 reauthentication_required` "
    "for an older session (re-authenticate at `detail.app_url`, or `detail.app_mfa_url` with MFA, "
    "then retry)."
)
IN_PERSON_ERRORS = {403: ErrorSerializer}


class MeApi(APIView):
    class OutputSerializer(serializers.Serializer[Any]):
        id = serializers.IntegerField()
        email = serializers.EmailField()
        display_name = serializers.CharField()
        date_joined = serializers.DateTimeField()
        wallets = serializers.ListField(child=serializers.CharField(), help_text="Linked addresses.")

    @extend_schema(operation_id="me_retrieve", responses=OutputSerializer, tags=["account"])
    def get(self, request: Request) -> Response:
        user = authenticated_user(request)
        data = {
            "id": user.pk,
            "email": user.email,
            "display_name": user.display_name,
            "date_joined": user.date_joined,
            "wallets": [w.address for w in selectors.wallet_list(user=user)],
        }
        return Response(self.OutputSerializer(data).data)


class ApiKeyOutputSerializer(serializers.ModelSerializer[ApiKey]):
    class Meta:
        model = ApiKey
        fields: tuple[str, ...] = ("id", "name", "prefix", "scopes", "created_at", "last_used_at")


class ApiKeyListCreateApi(APIView):
    pagination_class = Pagination
    permission_classes = IN_PERSON
    required_scopes: ClassVar[dict[str, str]] = {"GET": "read", "POST": "write"}

    class InputSerializer(serializers.Serializer[Any]):
        # The length is checked on what was sent, as the schema states; the service strips it.
        name = StrictCharField(
            max_length=100, allow_blank=False, trim_whitespace=False, validators=[not_blank]
        )
        scopes = serializers.ListField(
            child=serializers.ChoiceField(choices=ApiKey.Scope.choices),
            min_length=1,
            max_length=len(ApiKey.Scope.values),
            default=[ApiKey.Scope.READ, ApiKey.Scope.INFERENCE],
        )

    class CreatedSerializer(ApiKeyOutputSerializer):
        key = serializers.CharField(help_text="The full key. Shown once; store it now.")

        class Meta(ApiKeyOutputSerializer.Meta):
            fields = (*ApiKeyOutputSerializer.Meta.fields, "key")

    @extend_schema(
        operation_id="api_keys_list", responses=ApiKeyOutputSerializer(many=True), tags=["account"]
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            queryset=selectors.api_key_list(user=authenticated_user(request)),
            serializer_class=ApiKeyOutputSerializer,
            request=request,
            view=self,
        )

    @extend_schema(
        operation_id="api_keys_create",
        request=InputSerializer,
        responses={201: CreatedSerializer, **IN_PERSON_ERRORS},
        tags=["account"],
        description="Create an API key; its secret is in this answer only." + IN_PERSON_DOC,
        examples=[
            OpenApiExample("Create", value={"name": "CI", "scopes": ["read", "inference"]}, request_only=True)
        ],
    )
    def post(self, request: Request) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        created = services.api_key_create(user=authenticated_user(request), **payload.validated_data)
        # CreatedSerializer documents the shape; the secret is not an attribute of the row.
        data = ApiKeyOutputSerializer(created.api_key).data | {"key": created.secret}
        return Response(data, status=status.HTTP_201_CREATED)


class ApiKeyRevokeApi(APIView):
    permission_classes = IN_PERSON
    required_scopes: ClassVar[dict[str, str]] = {"DELETE": "write"}

    @extend_schema(
        operation_id="api_keys_revoke",
        responses={204: None, **IN_PERSON_ERRORS},
        tags=["account"],
        description="Revoke one of your API keys; the next request with it is refused." + IN_PERSON_DOC,
    )
    def delete(self, request: Request, key_id: int) -> Response:
        services.api_key_revoke(user=authenticated_user(request), key_id=key_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WalletNonceApi(APIView):
    permission_classes = IN_PERSON
    in_person_methods = frozenset({"GET"})  # the first step of linking a wallet

    class OutputSerializer(serializers.Serializer[Any]):
        nonce = serializers.CharField()
        domain = serializers.CharField()
        uri = serializers.CharField()
        chain_id = serializers.IntegerField()
        statement = serializers.CharField()
        issued_at = serializers.DateTimeField()
        expiration_time = serializers.DateTimeField()
        message = serializers.CharField(
            allow_null=True, help_text="The exact EIP-4361 text to sign, when `address` was given."
        )

    class QuerySerializer(serializers.Serializer[Any]):
        address = serializers.RegexField(
            r"^0x[0-9a-fA-F]{40}$", required=False, help_text="The wallet that will sign."
        )
        chain_id = serializers.IntegerField(
            min_value=1,
            max_value=2**63 - 1,
            required=False,
            help_text="The wallet's current chain.",
        )

    @extend_schema(
        operation_id="wallets_nonce",
        parameters=[QuerySerializer],
        responses={200: OutputSerializer, **IN_PERSON_ERRORS},
        tags=["wallets"],
        description=(
            "A single-use nonce (valid 10 minutes) and the fields of the EIP-4361 message to sign; "
            "with `address`, also the exact message text." + IN_PERSON_DOC
        ),
    )
    def get(self, request: Request) -> Response:
        query = self.QuerySerializer(data=query_params(request))
        query.is_valid(raise_exception=True)
        nonce = services.siwe_nonce_create(purpose=SiweNonce.Purpose.LINK, user=authenticated_user(request))
        try:
            challenge = siwe_challenge(request, nonce, **query.validated_data)
        except ValueError as exc:
            raise serializers.ValidationError({"address": [str(exc)]}) from exc
        return Response(self.OutputSerializer(challenge).data)


class WalletOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    address = serializers.CharField()
    chain_id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    last_login_at = serializers.DateTimeField(allow_null=True)


class WalletListLinkApi(APIView):
    pagination_class = Pagination
    permission_classes = IN_PERSON
    required_scopes: ClassVar[dict[str, str]] = {"GET": "read", "POST": "write"}

    class InputSerializer(serializers.Serializer[Any]):
        message = StrictCharField(
            min_length=1, max_length=4000, trim_whitespace=False, help_text="The EIP-4361 message, as signed."
        )
        signature = serializers.RegexField(
            r"^0x[0-9a-fA-F]{130}$", help_text="65-byte personal_sign signature."
        )

    @extend_schema(operation_id="wallets_list", responses=WalletOutputSerializer(many=True), tags=["wallets"])
    def get(self, request: Request) -> Response:
        return paginated_response(
            queryset=selectors.wallet_list(user=authenticated_user(request)),
            serializer_class=WalletOutputSerializer,
            request=request,
            view=self,
        )

    @extend_schema(
        operation_id="wallets_link",
        request=InputSerializer,
        responses={201: WalletOutputSerializer, **IN_PERSON_ERRORS},
        tags=["wallets"],
        description=(
            "Link a wallet by a signed Sign-In with Ethereum message naming a nonce from "
            "`GET /api/v1/wallets/nonce`. A linked wallet signs you in, pays in AGR and, after the "
            "cool-down `payout.new_wallet_cooldown_seconds`, receives AGR payouts; you are emailed "
            "when one is linked." + IN_PERSON_DOC
        ),
    )
    def post(self, request: Request) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        wallet = services.wallet_link(
            user=authenticated_user(request), context=siwe_context(request), **payload.validated_data
        )
        return Response(WalletOutputSerializer(wallet).data, status=status.HTTP_201_CREATED)


class WalletUnlinkApi(APIView):
    permission_classes = IN_PERSON
    required_scopes: ClassVar[dict[str, str]] = {"DELETE": "write"}

    @extend_schema(
        operation_id="wallets_unlink",
        responses={204: None, **IN_PERSON_ERRORS},
        tags=["wallets"],
        description="Unlink one of your wallets." + IN_PERSON_DOC,
    )
    def delete(self, request: Request, wallet_id: int) -> Response:
        services.wallet_unlink(user=authenticated_user(request), wallet_id=wallet_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class IntegrationOutputSerializer(serializers.ModelSerializer[Integration]):
    class Meta:
        model = Integration
        fields: tuple[str, ...] = ("id", "public_id", "name", "url", "created_at")
        extra_kwargs: ClassVar = {
            "public_id": {"help_text": f"Send it in the `{INTEGRATION_HEADER}` header of the app's calls."}
        }


class IntegrationListCreateApi(APIView):
    pagination_class = Pagination
    required_scopes: ClassVar[dict[str, str]] = {"GET": "read", "POST": "write"}

    class InputSerializer(serializers.Serializer[Any]):
        name = StrictCharField(
            max_length=100, allow_blank=False, trim_whitespace=False, validators=[not_blank]
        )
        url = serializers.URLField(max_length=200, required=False, default="", allow_blank=True)

    @extend_schema(
        operation_id="integrations_list",
        responses=IntegrationOutputSerializer(many=True),
        tags=["account"],
        description="Your registered integrations, newest first.",
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            queryset=selectors.integration_list(user=authenticated_user(request)),
            serializer_class=IntegrationOutputSerializer,
            request=request,
            view=self,
        )

    @extend_schema(
        operation_id="integrations_create",
        request=InputSerializer,
        responses={201: IntegrationOutputSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
        tags=["account"],
        description=(
            "Register an app you built on the API. Its calls carry the returned `public_id` in the "
            f"`{INTEGRATION_HEADER}` header; the traffic it brings weighs your share of the "
            "integration developers' part of each revenue-distribution epoch. Names are unique per "
            "account, whatever the case (`409 integration_name_taken`)."
        ),
        examples=[
            OpenApiExample(
                "Register",
                value={"name": "Slack summariser", "url": "https://example.com"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        integration = services.integration_create(user=authenticated_user(request), **payload.validated_data)
        return Response(IntegrationOutputSerializer(integration).data, status=status.HTTP_201_CREATED)
