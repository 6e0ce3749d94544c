"""Governance API: proposals (list, create, read), votes, queue / execute / cancel, delegation."""

from __future__ import annotations

from typing import Any, ClassVar

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS, AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import authenticated_user
from accounts.models import User
from accounts.permissions import HasScope
from core.api import (
    POSITIVE_WHOLE_NUMBER,
    ErrorSerializer,
    Pagination,
    StrictCharField,
    StrictRegexField,
    not_blank,
    paginated_response,
    query_params,
)
from core.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from governance.errors import DelegationInvalid, ProposalInvalid, ProposalNotFound
from governance.models import Proposal, ProposalKind, VoteChoice
from governance.selectors import (
    ProposalView,
    delegation_current,
    proposal_changes,
    proposal_list,
    proposal_view,
    voting_power,
)
from governance.services.proposals import proposal_act, proposal_create
from governance.services.votes import delegation_remove, delegation_set, vote_cast
from governance.state import Action, State
from tokenomics.models import Asset
from tokenomics.money import money_json


class _PublicReads(APIView):
    """Reads are public; writes need a signed-in holder (and an API key's `write` scope)."""

    required_scopes: ClassVar[dict[str, str]] = {"GET": "read", "POST": "write"}

    def get_permissions(self) -> list[BasePermission]:
        if self.request.method in SAFE_METHODS:
            return [AllowAny()]
        return [IsAuthenticated(), HasScope()]


class MoneyOut(serializers.Serializer[Any]):
    amount = serializers.CharField()
    asset = serializers.CharField()


class ChangeOut(serializers.Serializer[Any]):
    parameter = serializers.CharField()
    new_value = serializers.CharField()


class TallyOut(serializers.Serializer[Any]):
    votes_for = serializers.CharField()
    votes_against = serializers.CharField()
    votes_abstain = serializers.CharField()
    quorum = serializers.CharField(
        help_text="Votes (for + abstain) needed: quorum_bps of the supply at the snapshot."
    )
    supply_at_snapshot = serializers.CharField()
    threshold_bps = serializers.IntegerField(help_text="Share of for / (for + against) needed.")


class ProposalOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ProposalKind.choices)
    title = serializers.CharField()
    body = serializers.CharField(help_text="Markdown.")
    proposer = serializers.CharField(help_text="The proposer's public name.")
    state = serializers.ChoiceField(choices=[s.value for s in State])
    changes = ChangeOut(many=True)
    treasury = MoneyOut(allow_null=True, help_text="Treasury proposals: what the recipient is paid.")
    bond = MoneyOut()
    tally = TallyOut()
    submitted_at = serializers.DateTimeField(allow_null=True)
    voting_starts_at = serializers.DateTimeField(allow_null=True, help_text="The snapshot of voting power.")
    voting_ends_at = serializers.DateTimeField(allow_null=True)
    eta = serializers.DateTimeField(allow_null=True, help_text="When a queued proposal may execute.")
    executed_at = serializers.DateTimeField(allow_null=True)
    failure_reason = serializers.CharField(allow_blank=True)


def proposal_data(view: ProposalView) -> dict[str, Any]:
    p = view.proposal
    return {
        "id": p.pk,
        "kind": p.kind,
        "title": p.title,
        "body": p.body,
        "proposer": p.proposer.public_name,
        "state": str(view.state),
        "changes": [{"parameter": k, "new_value": str(v)} for k, v in proposal_changes(p).items()],
        "treasury": money_json(amount=p.amount, asset=p.asset) if p.amount else None,
        "bond": money_json(amount=p.bond, asset=Asset.AGR),
        "tally": {
            "votes_for": str(view.tally.votes_for),
            "votes_against": str(view.tally.votes_against),
            "votes_abstain": str(view.tally.votes_abstain),
            "quorum": str(view.tally.quorum),
            "supply_at_snapshot": str(view.supply),
            "threshold_bps": view.tally.threshold_bps,
        },
        "submitted_at": p.submitted_at,
        "voting_starts_at": p.voting_starts_at,
        "voting_ends_at": p.voting_ends_at,
        "eta": p.eta,
        "executed_at": p.executed_at,
        "failure_reason": p.failure_reason,
    }


class _ProposalPage(serializers.BaseSerializer[ProposalView]):
    def to_representation(self, instance: ProposalView) -> dict[str, Any]:
        return dict(ProposalOut(proposal_data(instance)).data)


def _proposal(proposal_id: int) -> Proposal:
    proposal = Proposal.objects.select_related("proposer").filter(pk=proposal_id).first()
    if proposal is None:
        raise ProposalNotFound(detail={"id": proposal_id})
    return proposal


_EXAMPLE = {
    "id": 3,
    "kind": "economic",
    "title": "Lower the network fee to 2.2%",
    "body": "The fee is **too high** for small sales.",
    "proposer": "Ada",
    "state": "voting",
    "changes": [{"parameter": "sale.network_fee_bps", "new_value": "220"}],
    "treasury": None,
    "bond": {"amount": "100000000000000000000000", "asset": "AGR"},
    "tally": {
        "votes_for": "3000",
        "votes_against": "1000",
        "votes_abstain": "0",
        "quorum": "400",
        "supply_at_snapshot": "10000",
        "threshold_bps": 5500,
    },
    "submitted_at": "2026-03-01T10:00:00Z",
    "voting_starts_at": "2026-03-08T10:00:00Z",
    "voting_ends_at": "2026-03-22T10:00:00Z",
    "eta": None,
    "executed_at": None,
    "failure_reason": "",
}


class ProposalListCreateApi(_PublicReads):
    pagination_class = Pagination

    class QuerySerializer(serializers.Serializer[Any]):
        state = serializers.ChoiceField(choices=[s.value for s in State], required=False)
        kind = serializers.ChoiceField(choices=ProposalKind.choices, required=False)

    class InputSerializer(serializers.Serializer[Any]):
        class ChangeIn(serializers.Serializer[Any]):
            parameter = StrictCharField(max_length=80, validators=[not_blank])
            new_value = StrictRegexField(
                r"^-?[0-9]{1,30}$", help_text="A whole number in the parameter's unit."
            )

        kind = serializers.ChoiceField(choices=ProposalKind.choices)
        title = StrictCharField(max_length=200, validators=[not_blank])
        body = StrictCharField(max_length=20_000, validators=[not_blank])
        changes = serializers.ListField(child=ChangeIn(), required=False, max_length=20)
        recipient_id = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
        asset = serializers.ChoiceField(choices=Asset.choices, required=False)
        amount = StrictRegexField(POSITIVE_WHOLE_NUMBER, required=False, max_length=78)

    @extend_schema(
        operation_id="proposals_list",
        parameters=[QuerySerializer],
        responses=ProposalOut(many=True),
        tags=["governance"],
        description="Proposals, newest first, with their state (derived from the clock), tally and ETA.",
        examples=[OpenApiExample("A page", value=_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request) -> Response:
        query = self.QuerySerializer(data=query_params(request))
        query.is_valid(raise_exception=True)
        views = proposal_list(
            state=query.validated_data.get("state", ""), kind=query.validated_data.get("kind", "")
        )
        return paginated_response(queryset=views, serializer_class=_ProposalPage, request=request, view=self)

    @extend_schema(
        operation_id="proposals_create",
        request=InputSerializer,
        responses={201: ProposalOut, 400: ErrorSerializer, 402: ErrorSerializer, 404: ErrorSerializer},
        tags=["governance"],
        description=(
            "Submit a proposal: its discussion starts now and voting after governance.discussion_seconds. "
            "Locks the bond (governance.proposal_bond AGR) from your AGR wallet: `insufficient_funds` (402) "
            "without it. Parameter changes are checked against bounds (`validation_error`), unknown "
            "parameters are `not_found` (404), and a change beyond the quarterly limit is "
            "`parameter_change_too_large` (400) unless the proposal is an emergency."
        ),
        parameters=[IDEMPOTENCY_PARAMETER],
        examples=[OpenApiExample("Economic", value=_EXAMPLE, response_only=True, status_codes=["201"])],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        user = authenticated_user(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        recipient = None
        if "recipient_id" in values:
            recipient = User.objects.filter(pk=values["recipient_id"], is_active=True).first()
            if recipient is None:
                raise ProposalInvalid("No such recipient.", detail={"field": "recipient_id"})
        changes: dict[str, int] = {}
        for change in values.get("changes", []):
            if change["parameter"] in changes:
                raise ProposalInvalid("Each parameter at most once.", detail={"field": "changes"})
            changes[change["parameter"]] = int(change["new_value"])
        proposal = proposal_create(
            proposer=user,
            kind=values["kind"],
            title=values["title"],
            body=values["body"],
            changes=changes,
            recipient=recipient,
            asset=values.get("asset", ""),
            amount=int(values["amount"]) if "amount" in values else None,
        )
        return Response(ProposalOut(proposal_data(proposal_view(proposal))).data, status=201)


class ProposalDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="proposals_retrieve",
        responses={200: ProposalOut, 404: ErrorSerializer},
        tags=["governance"],
        description="One proposal with its state, tally, quorum and timelock ETA.",
        examples=[OpenApiExample("Voting", value=_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, proposal_id: int) -> Response:
        return Response(ProposalOut(proposal_data(proposal_view(_proposal(proposal_id)))).data)


class VoteOut(serializers.Serializer[Any]):
    proposal = serializers.IntegerField()
    choice = serializers.ChoiceField(choices=VoteChoice.choices)
    reason = serializers.CharField(allow_blank=True)
    weight = serializers.CharField(help_text="Your voting power at the snapshot (0 if you had delegated it).")


class ProposalVoteApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = {"POST": "write"}

    class InputSerializer(serializers.Serializer[Any]):
        choice = serializers.ChoiceField(choices=VoteChoice.choices)
        reason = serializers.CharField(max_length=1000, required=False, allow_blank=True)

    @extend_schema(
        operation_id="proposals_vote",
        request=InputSerializer,
        responses={200: VoteOut, 404: ErrorSerializer, 409: ErrorSerializer},
        tags=["governance"],
        description=(
            "Cast or change your vote while voting is open (`voting_closed`, 409, otherwise). Its weight "
            "is your voting power at the snapshot (voting start); a delegator's vote weighs 0."
        ),
    )
    def post(self, request: Request, proposal_id: int) -> Response:
        user = authenticated_user(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        vote = vote_cast(
            proposal_id=proposal_id,
            voter=user,
            choice=data.validated_data["choice"],
            reason=data.validated_data.get("reason", ""),
        )
        return Response(
            VoteOut(
                {
                    "proposal": proposal_id,
                    "choice": vote.choice,
                    "reason": vote.reason,
                    "weight": str(vote.weight),
                }
            ).data
        )


def _action_api(action: Action, operation_id: str, description: str) -> type[APIView]:
    class ActionApi(APIView):
        required_scopes: ClassVar[dict[str, str]] = {"POST": "write"}

        @extend_schema(
            operation_id=operation_id,
            request=None,
            responses={200: ProposalOut, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
            tags=["governance"],
            description=description,
        )
        def post(self, request: Request, proposal_id: int) -> Response:
            user = authenticated_user(request)
            _proposal(proposal_id)
            proposal = proposal_act(proposal_id=proposal_id, action=action, actor=user)
            return Response(ProposalOut(proposal_data(proposal_view(proposal))).data)

    ActionApi.__name__ = ActionApi.__qualname__ = f"Proposal{action.value.title()}Api"
    return ActionApi


ProposalQueueApi = _action_api(
    Action.QUEUE,
    "proposals_queue",
    "Queue a succeeded proposal in the timelock (anyone may; the beat task does it too). "
    "`proposal_state_invalid` (409) in any other state.",
)
ProposalExecuteApi = _action_api(
    Action.EXECUTE,
    "proposals_execute",
    "Execute a queued proposal once its ETA has passed (anyone may, exactly once). Before the ETA, "
    "or in any other state: `proposal_state_invalid` (409). An execution whose checks fail now is "
    "recorded: state `failed` with `failure_reason`.",
)
ProposalCancelApi = _action_api(
    Action.CANCEL,
    "proposals_cancel",
    "Cancel your own proposal before voting starts; the bond is returned. Others: `permission_denied` "
    "(403); too late: `proposal_state_invalid` (409). Staff cancel or veto from the proposal page.",
)


class DelegationOut(serializers.Serializer[Any]):
    delegate_id = serializers.IntegerField(allow_null=True)
    delegate = serializers.CharField(allow_null=True)
    since = serializers.DateTimeField(allow_null=True)
    power_now = serializers.CharField(help_text="Your voting power if a snapshot were taken now.")


def _delegation_data(user: User) -> dict[str, Any]:
    current = delegation_current(user.pk)
    return {
        "delegate_id": current.delegate_id if current else None,
        "delegate": current.delegate.public_name if current else None,
        "since": current.started_at if current else None,
        "power_now": str(voting_power(user.pk, timezone.now())),
    }


class DelegationApi(APIView):
    required_scopes: ClassVar[dict[str, str]] = {"GET": "read", "POST": "write", "DELETE": "write"}

    class InputSerializer(serializers.Serializer[Any]):
        delegate_id = serializers.IntegerField(min_value=1, max_value=2**31 - 1)

    @extend_schema(
        operation_id="delegations_retrieve",
        responses=DelegationOut,
        tags=["governance"],
        description="Your current delegation, if any.",
    )
    def get(self, request: Request) -> Response:
        return Response(DelegationOut(_delegation_data(authenticated_user(request))).data)

    @extend_schema(
        operation_id="delegations_create",
        request=InputSerializer,
        responses={200: DelegationOut, 400: ErrorSerializer},
        tags=["governance"],
        description=(
            "Delegate all your voting power to another holder from now on (replacing an earlier "
            "delegation). Snapshots already taken are unaffected. While delegated, your own votes "
            "weigh 0. `delegation_invalid` (400) for yourself or an unknown holder."
        ),
    )
    def post(self, request: Request) -> Response:
        user = authenticated_user(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        delegate = User.objects.filter(pk=data.validated_data["delegate_id"], is_active=True).first()
        if delegate is None:
            raise DelegationInvalid("No such holder.", detail={"field": "delegate_id"})
        delegation_set(delegator=user, delegate=delegate)
        return Response(DelegationOut(_delegation_data(user)).data)

    @extend_schema(
        operation_id="delegations_delete",
        request=None,
        responses={200: DelegationOut},
        tags=["governance"],
        description="End your delegation now (nothing happens if none).",
    )
    def delete(self, request: Request) -> Response:
        user = authenticated_user(request)
        delegation_remove(delegator=user)
        return Response(DelegationOut(_delegation_data(user)).data)
