"""Governance pages: proposals, one proposal (live tally, vote, comments), propose, a holder's page
with delegation. Thin: forms in, services called, selectors read."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.http import authenticated_user
from accounts.models import User
from core.exceptions import ApplicationError
from core.forms import service_error_to_form
from core.markdown import render_markdown
from core.types import HtmxHttpRequest
from governance.errors import NotAllowed
from governance.forms import CommentForm, DelegateForm, ProposeForm, VoteForm
from governance.models import Proposal, ProposalKind, Vote, VoteChoice
from governance.selectors import (
    LONG_STAKED_WEIGHT,
    STAKED_WEIGHT,
    ProposalView,
    delegation_current,
    delegators_current,
    proposal_changes,
    proposal_list,
    proposal_view,
    vote_of,
    voting_power,
)
from governance.services.proposals import (
    BOND_KEY,
    EMERGENCY_BEYOND_LIMIT_KEY,
    MODERATE_PERMISSION,
    proposal_act,
    proposal_create,
)
from governance.services.votes import comment_add, delegation_remove, delegation_set, vote_cast
from governance.state import ACTIONS, Action, State
from tokenomics.models import Asset
from tokenomics.money import format_amount_short
from tokenomics.selectors.parameters import parameter_get, parameter_list, parameters_get
from tokenomics.services.parameters import MAX_CHANGE_KEY, WINDOW_KEY, parameter_changes_check


def _agr(amount: int) -> str:
    return format_amount_short(amount=amount, asset=Asset.AGR)[0]


def _proposal_or_404(proposal_id: int) -> Proposal:
    proposal = Proposal.objects.select_related("proposer", "recipient").filter(pk=proposal_id).first()
    if proposal is None:
        raise Http404
    return proposal


@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    kind = request.GET.get("kind", "")
    state = state if state in State._value2member_map_ else ""
    kind = kind if kind in ProposalKind.values else ""
    context = {
        "views": proposal_list(state=state, kind=kind),
        "states": [s.value for s in State],
        "kinds": ProposalKind.choices,
        "state": state,
        "kind": kind,
    }
    return render(request, "governance/index.html", context)


def _diff(proposal: Proposal, view: ProposalView) -> list[dict[str, Any]]:
    changes = proposal_changes(proposal)
    if not changes:
        return []
    if view.state in (State.EXECUTED,):
        return [{"key": k, "proposed": v, "executed": True} for k, v in changes.items()]
    try:
        checks = parameter_changes_check(changes)
    except ApplicationError as error:
        return [{"key": k, "proposed": v, "problem": error.message} for k, v in changes.items()]
    return [
        {
            "key": c.key,
            "unit": c.unit,
            "current": c.current,
            "proposed": c.proposed,
            "min": c.min_value,
            "max": c.max_value,
            # How much of this quarter's allowed move it uses, in percent of the limit.
            "quarter_use_pct": (c.used_bps * 100 // c.max_change_bps)
            if c.used_bps is not None and c.max_change_bps
            else None,
            "limit_text": _percent(c.max_change_bps),
            "reference": c.reference,
            "beyond": c.beyond_limit,
        }
        for c in checks
    ]


def _percent(bps: int) -> str:
    """Basis points as a percentage with up to two decimals: 5714 -> "57.14%", 6000 -> "60%"."""
    whole, frac = divmod(bps, 100)
    return f"{whole}.{frac:02d}".rstrip("0").rstrip(".") + "%"


def _share_bps(part: int, whole: int) -> int:
    return part * 10_000 // whole if whole else 0


TALLY_BARS = (
    (VoteChoice.FOR, "For", "#059669"),
    (VoteChoice.AGAINST, "Against", "#b42318"),
    (VoteChoice.ABSTAIN, "Abstain", "#94a3b8"),
)


def _tally_context(view: ProposalView) -> dict[str, Any]:
    """The live tally: a bar per choice (its share of all votes cast), the quorum bar, the approval
    share against the threshold, and the timelock. Amounts are voting power at the snapshot."""
    tally = view.tally
    amounts = {
        VoteChoice.FOR: tally.votes_for,
        VoteChoice.AGAINST: tally.votes_against,
        VoteChoice.ABSTAIN: tally.votes_abstain,
    }
    cast = sum(amounts.values())
    bars = [
        {
            "choice": choice.value,
            "label": label,
            "color": color,
            "amount_text": _agr(amounts[choice]),
            "share_text": _percent(_share_bps(amounts[choice], cast)),
            "width_pct": _share_bps(amounts[choice], cast) // 100,
        }
        for choice, label, color in TALLY_BARS
    ]
    counted = tally.votes_for + tally.votes_abstain
    quorum_pct = 100 if tally.quorum == 0 else min(100, counted * 100 // tally.quorum)
    eta = view.proposal.eta
    return {
        "view": view,
        "bars": bars,
        "chart_description": "; ".join(f"{b['label']} {b['amount_text']} ({b['share_text']})" for b in bars),
        "quorum_pct": quorum_pct,
        "quorum_text": f"{_agr(counted)} counted, {_agr(tally.quorum)} needed",
        "quorum_bps_text": _percent(view.proposal.quorum_bps),
        "supply_text": _agr(view.supply),
        "for_share_text": _percent(_share_bps(tally.votes_for, tally.votes_for + tally.votes_against)),
        "threshold_text": _percent(tally.threshold_bps),
        "live": view.state in (State.DISCUSSION, State.VOTING, State.QUEUED),
        "eta_pending": eta is not None and eta > timezone.now(),
    }


@require_GET
def detail(request: HtmxHttpRequest, proposal_id: int) -> HttpResponse:
    proposal = _proposal_or_404(proposal_id)
    view = proposal_view(proposal)
    user = request.user if isinstance(request.user, User) else None
    power = None
    vote: Vote | None = None
    if (
        user is not None
        and proposal.voting_starts_at is not None
        and proposal.voting_starts_at <= timezone.now()
    ):
        power = voting_power(user.pk, proposal.voting_starts_at)
        vote = vote_of(proposal, user.pk)
    actions = ACTIONS[view.state]
    context = {
        "proposal": proposal,
        "body_html": render_markdown(proposal.body),
        "diff": _diff(proposal, view),
        "comments": [(c, render_markdown(c.body)) for c in proposal.comments.select_related("author")],
        "vote_form": VoteForm(initial={"choice": vote.choice, "reason": vote.reason} if vote else None),
        "comment_form": CommentForm(),
        "power": power,
        "power_text": _agr(power) if power is not None else "",
        "vote": vote,
        "can_submit": user is not None and user.pk == proposal.proposer_id and Action.SUBMIT in actions,
        "registry_bond_text": _agr(parameter_get(BOND_KEY)),
        "can_queue": Action.QUEUE in actions,
        "can_execute": Action.EXECUTE in actions
        and proposal.eta is not None
        and timezone.now() >= proposal.eta,
        "can_cancel": user is not None
        and (
            (Action.CANCEL in actions and user.pk == proposal.proposer_id)
            or (user.has_perm(MODERATE_PERMISSION) and Action.STAFF_CANCEL in actions)
        ),
        "can_veto": user is not None and user.has_perm(MODERATE_PERMISSION) and Action.VETO in actions,
        "bond_text": _agr(proposal.bond),
        "beyond_threshold_text": _percent(parameter_get(EMERGENCY_BEYOND_LIMIT_KEY)),
        "amount_text": format_amount_short(amount=proposal.amount, asset=proposal.asset)[0]
        if proposal.amount
        else "",
        **_tally_context(view),
    }
    return render(request, "governance/detail.html", context)


@require_GET
def tally(request: HtmxHttpRequest, proposal_id: int) -> HttpResponse:
    """The live tally fragment the proposal page polls."""
    view = proposal_view(_proposal_or_404(proposal_id))
    return render(request, "governance/_tally.html", _tally_context(view))


@login_required
@require_POST
def vote(request: HtmxHttpRequest, proposal_id: int) -> HttpResponse:
    _proposal_or_404(proposal_id)
    form = VoteForm(request.POST)
    if form.is_valid():
        try:
            cast = vote_cast(
                proposal_id=proposal_id,
                voter=authenticated_user(request),
                choice=form.cleaned_data["choice"],
                reason=form.cleaned_data["reason"],
            )
            messages.success(request, f"Your vote is recorded with a weight of {_agr(cast.weight)}.")
        except ApplicationError as error:
            messages.error(request, error.message)
    else:
        messages.error(request, "Choose for, against or abstain.")
    return redirect("governance:proposal", proposal_id=proposal_id)


@login_required
@require_POST
def comment(request: HtmxHttpRequest, proposal_id: int) -> HttpResponse:
    _proposal_or_404(proposal_id)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            comment_add(
                proposal_id=proposal_id, author=authenticated_user(request), body=form.cleaned_data["body"]
            )
        except ApplicationError as error:
            messages.error(request, error.message)
    else:
        messages.error(request, "Write a comment first.")
    return redirect("governance:proposal", proposal_id=proposal_id)


@login_required
@require_POST
def act(request: HtmxHttpRequest, proposal_id: int, action: str) -> HttpResponse:
    """Submit a draft, queue, execute, cancel or veto from the proposal page (the service checks who
    and when)."""
    proposal = _proposal_or_404(proposal_id)
    user = authenticated_user(request)
    if action not in ("submit", "queue", "execute", "cancel", "veto"):
        raise Http404
    chosen = Action(action)
    if chosen is Action.CANCEL and user.pk != proposal.proposer_id:
        chosen = Action.STAFF_CANCEL
    try:
        proposal_act(proposal_id=proposal_id, action=chosen, actor=user)
        done = {"submit": "submitted", "queue": "queued", "execute": "executed", "cancel": "cancelled"}
        messages.success(request, f"Proposal {done.get(action, 'vetoed')}.")
    except NotAllowed as error:
        raise PermissionDenied(error.message) from error
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("governance:proposal", proposal_id=proposal_id)


@login_required
def propose(request: HtmxHttpRequest) -> HttpResponse:
    user = authenticated_user(request)
    parameters = list(parameter_list())
    form = ProposeForm(request.POST or None, parameters=parameters)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            proposal = proposal_create(
                proposer=user,
                kind=data["kind"],
                title=data["title"],
                body=data["body"],
                changes=data["changes"],
                recipient=data.get("recipient"),
                asset=data.get("asset") or "",
                amount=data.get("amount"),
            )
        except ApplicationError as error:
            service_error_to_form(form, error)
        else:
            messages.success(request, "Proposal submitted: discussion is open. Your bond is locked.")
            return redirect("governance:proposal", proposal_id=proposal.pk)
    limits = parameters_get([BOND_KEY, MAX_CHANGE_KEY, WINDOW_KEY])
    context = {
        "form": form,
        "parameters": parameters,
        "bond_text": _agr(limits[BOND_KEY]),
        "limit_text": _percent(limits[MAX_CHANGE_KEY]),
        "window_days": limits[WINDOW_KEY] // 86_400,
    }
    return render(request, "governance/propose.html", context)


@require_GET
def holder(request: HtmxHttpRequest, user_id: int) -> HttpResponse:
    """A holder's governance page: power, delegation in and out, and their votes; signed-in
    visitors may delegate to them from here (and the holder may end their own delegation)."""
    person = User.objects.filter(pk=user_id, is_active=True).first()
    if person is None:
        raise Http404
    viewer = request.user if isinstance(request.user, User) else None
    context = {
        "person": person,
        "power_text": _agr(voting_power(person.pk, timezone.now())),
        "weights": {
            key.rsplit(".", 1)[-1]: _percent(value // 100).removesuffix("%") + "x"  # 15000 bps: 1.5x
            for key, value in parameters_get([STAKED_WEIGHT, LONG_STAKED_WEIGHT]).items()
        },
        "delegation": delegation_current(person.pk),
        "delegators": list(delegators_current(person.pk)),
        "votes": Vote.objects.filter(voter=person).select_related("proposal").order_by("-created_at")[:20],
        "is_self": viewer is not None and viewer.pk == person.pk,
        "viewer_delegation": delegation_current(viewer.pk) if viewer is not None else None,
        "form": DelegateForm(),
    }
    return render(request, "governance/holder.html", context)


@login_required
@require_POST
def holder_delegate(request: HtmxHttpRequest, user_id: int) -> HttpResponse:
    """Delegate the viewer's power to this holder, or (`remove`) end the viewer's delegation."""
    person = User.objects.filter(pk=user_id, is_active=True).first()
    if person is None:
        raise Http404
    user = authenticated_user(request)
    form = DelegateForm(request.POST)
    if form.is_valid() and form.cleaned_data["remove"]:
        delegation_remove(delegator=user)
        messages.success(request, "Your delegation has ended; your power is yours from the next snapshot.")
    else:
        try:
            delegation_set(delegator=user, delegate=person)
            messages.success(request, f"You now delegate your voting power to {person.public_name}.")
        except ApplicationError as error:
            messages.error(request, error.message)
    return redirect("governance:holder", user_id=user_id)
