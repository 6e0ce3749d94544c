"""SLA slashing of providers from measured data (SPEC §6): the daily evaluation, severe proposals
that staff uphold, appeals and their reversal.

Every slash is `tokenomics.services.staking.stake_slash` (capped by the provider's tier, burned
through the ledger) with its evidence; this module only decides when and how much.

Rules, over the window [end - 24 h, end) of `NodeMinute` rows of the provider's active nodes:
- **availability** = (probes passed + calls served) / (probes + calls served + calls failed by the
  node's fault). Minor when it is *under* `slashing.min_uptime_bps` (exactly 95% is not an
  offence). Failures the gateway caused (a timeout that only the deadline's remainder caused, a
  refused input) are never in `calls_failed`: routing does not record them (see
  `compute.services.routing`), so they cannot count against a provider;
- **latency**: a node's day p50 is known as a histogram bucket; the rule takes the bucket's *lower*
  bound, so a node is an offender only when its p50 is certainly above
  `slashing.latency_factor_bps` x its advertised latency (exactly 2x is not an offence). A node
  that served no call has no latency to judge.
- one rule broken is minor at `slashing.minor_min_bps`, both at `slashing.minor_max_bps`;
- **major**: a minor offence by a provider already slashed for SLA `slashing.repeat_count` times
  within `slashing.repeat_window_seconds` is major: `slashing.major_min_bps`, one major step more
  per further repeat, at most `slashing.major_max_bps`.
- **severe** (malicious output): proposed by the system or a buyer's report
  (`severe_slash_propose`), upheld by staff (`severe_slash_uphold`: 15-20% and a ban).

A day is evaluated once per provider (the slash's idempotency key is the window's end).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from compute.models_nodes import LATENCY_BUCKETS_MS, Node
from compute.models_sla import (
    AppealState,
    ProposalSource,
    ProposalState,
    SevereSlashProposal,
    SlashAppeal,
)
from compute.selectors.measurements import node_measurements
from compute.selectors.measurements import p50_lower_bound_ms as p50_lower_bound_ms  # the rule reads it
from core.exceptions import ApplicationError
from tokenomics.errors import AmountInvalid, InvalidState, PermissionDenied
from tokenomics.models import Slash
from tokenomics.selectors.parameters import parameters_get
from tokenomics.services.staking import stake_slash, stake_slash_reverse

logger = logging.getLogger(__name__)


class ReportRefused(ApplicationError):
    code = "not_found"
    status_code = 404

    def __init__(self, message: str, *, status_code: int = 404) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = "not_found" if status_code == 404 else "invalid_state"


BPS = 10_000
SLA_KIND = "sla"
SEVERE_KIND = "severe"

_RULE_KEYS = [
    "slashing.min_uptime_bps",
    "slashing.latency_factor_bps",
    "slashing.minor_min_bps",
    "slashing.minor_max_bps",
    "slashing.major_min_bps",
    "slashing.major_max_bps",
    "slashing.repeat_count",
    "slashing.repeat_window_seconds",
]


# --------------------------------------------------------------------------- pure rules


def availability_breached(*, ok: int, total: int, min_bps: int) -> bool:
    """ok / total < min_bps / 10,000, in integers (no data is no breach)."""
    if total < 0 or not 0 <= ok <= total:
        raise ValueError(f"availability needs 0 <= ok <= total, got {ok}/{total}")
    return total > 0 and ok * BPS < min_bps * total


def latency_breached(*, p50_floor_ms: int | None, advertised_ms: int, factor_bps: int) -> bool:
    """The p50's lower bound is above factor x advertised (no calls is no breach)."""
    return p50_floor_ms is not None and p50_floor_ms * BPS > factor_bps * advertised_ms


def offence_fraction_bps(*, rules_broken: int, earlier_offences: int, params: dict[str, int]) -> int:
    """The slash for a day with `rules_broken` (1 or 2) minor rules broken by a provider slashed
    `earlier_offences` times for SLA in the repeat window."""
    if rules_broken not in (1, 2) or earlier_offences < 0:
        raise ValueError("an offence breaks one or two rules, after zero or more earlier ones")
    repeats = earlier_offences - params["slashing.repeat_count"]
    if repeats < 0:
        return params["slashing.minor_min_bps" if rules_broken == 1 else "slashing.minor_max_bps"]
    step = params["slashing.major_max_bps"] - params["slashing.major_min_bps"]
    steps = max(params["slashing.repeat_count"], 1)
    return min(params["slashing.major_min_bps"] + step * repeats // steps, params["slashing.major_max_bps"])


# --------------------------------------------------------------------------- measurements


@dataclass(frozen=True)
class DayVerdict:
    provider_id: int
    offences: list[str]  # "availability", "latency"
    evidence: dict[str, Any]


def provider_day_measure(*, provider_id: int, end: datetime, params: dict[str, int]) -> DayVerdict:
    """The provider's measurements over [end - 24 h, end) and the rules they break."""
    start = end - timedelta(hours=24)
    measures = node_measurements(provider_id=provider_id, start=start, end=end)
    per_node: list[dict[str, Any]] = []
    ok = total = 0
    slow: list[int] = []
    for measure in measures.values():
        entry = asdict(measure)
        ok += measure.probes_ok + measure.calls_ok
        total += measure.probes + measure.calls_ok + measure.calls_failed
        entry["p50_floor_ms"] = measure.p50_floor_ms
        if latency_breached(
            p50_floor_ms=entry["p50_floor_ms"],
            advertised_ms=measure.advertised_latency_ms,
            factor_bps=params["slashing.latency_factor_bps"],
        ):
            slow.append(measure.node)
        per_node.append(entry)
    offences = []
    if availability_breached(ok=ok, total=total, min_bps=params["slashing.min_uptime_bps"]):
        offences.append("availability")
    if slow:
        offences.append("latency")
    evidence = {
        "kind": SLA_KIND,
        "window": {"start": start.isoformat(), "end": end.isoformat()},
        "offences": offences,
        "availability": {"ok": ok, "total": total, "min_bps": params["slashing.min_uptime_bps"]},
        "latency": {"factor_bps": params["slashing.latency_factor_bps"], "slow_nodes": slow},
        "nodes": per_node,
        "buckets_ms": list(LATENCY_BUCKETS_MS),
    }
    return DayVerdict(provider_id=provider_id, offences=offences, evidence=evidence)


def _earlier_sla_slashes(provider_id: int, *, end: datetime, window_seconds: int) -> int:
    return Slash.objects.filter(
        user_id=provider_id,
        evidence__kind=SLA_KIND,
        reversal__isnull=True,
        created_at__gte=end - timedelta(seconds=window_seconds),
        created_at__lt=end,
    ).count()


def provider_sla_evaluate(*, provider: User, end: datetime) -> Slash | None:
    """Evaluate one provider's day ending at `end`; slash when a rule is broken. None when no rule
    is broken or there is no stake to slash. Idempotent per (provider, end)."""
    params = parameters_get(_RULE_KEYS)
    verdict = provider_day_measure(provider_id=provider.pk, end=end, params=params)
    if not verdict.offences:
        return None
    earlier = _earlier_sla_slashes(
        provider.pk, end=end, window_seconds=params["slashing.repeat_window_seconds"]
    )
    fraction = offence_fraction_bps(
        rules_broken=len(verdict.offences), earlier_offences=earlier, params=params
    )
    severity = "major" if earlier >= params["slashing.repeat_count"] else "minor"
    evidence = {**verdict.evidence, "severity": severity, "earlier_offences": earlier}
    try:
        return stake_slash(
            user=provider,
            fraction_bps=fraction,
            reason=f"SLA {severity}: {', '.join(verdict.offences)} ({end:%Y-%m-%d %H:%M} UTC day)",
            evidence=evidence,
            idempotency_key=f"sla:{end.isoformat()}",
        )
    except InvalidState:  # nothing staked: nothing to slash
        logger.info("provider %s broke the SLA but has no stake", provider.pk)
        return None


def sla_evaluate_day(*, now: datetime | None = None) -> dict[str, int]:
    """The daily task: evaluate every provider with an active node over the last whole UTC day."""
    now = now or timezone.now()
    end = now.replace(hour=0, minute=0, second=0, microsecond=0)
    provider_ids = Node.objects.filter(is_active=True).values_list("provider_id", flat=True).distinct()
    slashed = evaluated = 0
    for provider in User.objects.filter(pk__in=list(provider_ids)).order_by("pk"):
        evaluated += 1
        slashed += provider_sla_evaluate(provider=provider, end=end) is not None
    return {"evaluated": evaluated, "slashed": slashed}


# --------------------------------------------------------------------------- severe offences


def severe_slash_propose(
    *,
    provider: User,
    reason: str,
    evidence: dict[str, Any],
    reported_by: User | None = None,
) -> SevereSlashProposal:
    """Propose a severe slash (malicious output) for staff to decide: by the system
    (`reported_by` None) or by a buyer's report."""
    if not reason.strip():
        raise AmountInvalid("Say what the provider's output did.")
    return SevereSlashProposal.objects.create(
        provider=provider,
        source=ProposalSource.SYSTEM if reported_by is None else ProposalSource.BUYER,
        reported_by=reported_by,
        reason=reason.strip()[:255],
        evidence=evidence,
    )


def buyer_report_create(*, buyer: User, request_id: str, reason: str) -> SevereSlashProposal:
    """A buyer reports the output of one of their own served calls as malicious: a severe-slash
    proposal against the provider that served it, with the call as evidence, for staff to decide.
    Once per call. Raises ReportRefused (not their served call; already reported)."""
    from compute.models_gateway import InferenceRequest, Outcome

    call = (
        InferenceRequest.objects.filter(request_id=request_id, user=buyer, outcome=Outcome.OK)
        .select_related("provider", "listing")
        .first()
    )
    if call is None or call.provider is None:
        raise ReportRefused("No call of yours served by a provider has this request id.")
    if SevereSlashProposal.objects.filter(evidence__request_id=str(call.request_id)).exists():
        raise ReportRefused("This call was already reported.", status_code=409)
    return severe_slash_propose(
        provider=call.provider,
        reason=reason,
        reported_by=buyer,
        evidence={
            "request_id": str(call.request_id),
            "node_id": call.node_id,
            "listing": call.listing.slug,
            "served_at": call.created_at.isoformat(),
            "report": reason.strip()[:2000],
        },
    )


def provider_banned(*, provider_id: int) -> bool:
    return SevereSlashProposal.objects.filter(provider_id=provider_id, state=ProposalState.UPHELD).exists()


def severe_slash_uphold(
    *, proposal_id: int, staff_user: User, fraction_bps: int | None = None
) -> SevereSlashProposal:
    """Staff uphold a proposal: slash `fraction_bps` (within the severe range; its lower end by
    default; the tier still caps it) and ban the provider: every node deregistered."""
    if not staff_user.is_staff:
        raise PermissionDenied("Only staff may uphold a severe slash.")
    params = parameters_get(["slashing.severe_min_bps", "slashing.severe_max_bps"])
    fraction = params["slashing.severe_min_bps"] if fraction_bps is None else fraction_bps
    if not params["slashing.severe_min_bps"] <= fraction <= params["slashing.severe_max_bps"]:
        raise AmountInvalid(
            "A severe slash is within the registry's severe range.",
            detail={
                "min_bps": params["slashing.severe_min_bps"],
                "max_bps": params["slashing.severe_max_bps"],
            },
        )
    with transaction.atomic():
        proposal = (
            SevereSlashProposal.objects.select_for_update().select_related("provider").get(pk=proposal_id)
        )
        if proposal.state != ProposalState.PROPOSED:
            raise InvalidState("This proposal was already decided.", detail={"state": proposal.state})
        slash: Slash | None
        try:
            slash = stake_slash(
                user=proposal.provider,
                fraction_bps=fraction,
                reason=f"Severe: {proposal.reason}",
                evidence={
                    "kind": SEVERE_KIND,
                    "proposal": proposal.pk,
                    "source": proposal.source,
                    "reported_by": proposal.reported_by_id,
                    **proposal.evidence,
                },
                idempotency_key=f"severe:{proposal.pk}",
            )
        except InvalidState:  # nothing staked: the ban still stands
            slash = None
        Node.objects.filter(provider=proposal.provider, is_active=True).update(is_active=False, healthy=False)
        proposal.state = ProposalState.UPHELD
        proposal.fraction_bps = fraction
        proposal.decided_by = staff_user
        proposal.decided_at = timezone.now()
        proposal.slash = slash
        proposal.save(
            update_fields=["state", "fraction_bps", "decided_by", "decided_at", "slash", "updated_at"]
        )
    from compute.services.routing import candidates_forget

    candidates_forget()
    return proposal


def severe_slash_dismiss(*, proposal_id: int, staff_user: User) -> SevereSlashProposal:
    if not staff_user.is_staff:
        raise PermissionDenied("Only staff may dismiss a proposal.")
    with transaction.atomic():
        proposal = SevereSlashProposal.objects.select_for_update().get(pk=proposal_id)
        if proposal.state != ProposalState.PROPOSED:
            raise InvalidState("This proposal was already decided.", detail={"state": proposal.state})
        proposal.state = ProposalState.DISMISSED
        proposal.decided_by = staff_user
        proposal.decided_at = timezone.now()
        proposal.save(update_fields=["state", "decided_by", "decided_at", "updated_at"])
        return proposal


# --------------------------------------------------------------------------- appeals


def appeal_deadline(slash: Slash) -> datetime:
    return slash.created_at + timedelta(
        seconds=parameters_get(["slashing.appeal_window_seconds"])["slashing.appeal_window_seconds"]
    )


def slash_appeal_create(
    *, provider: User, slash_id: int, text: str, now: datetime | None = None
) -> SlashAppeal:
    """The provider appeals one of their slashes, within the appeal window, once."""
    now = now or timezone.now()
    if not text.strip():
        raise AmountInvalid("Say why the slash is wrong.", detail={"text": ["This field may not be blank."]})
    with transaction.atomic():
        slash = Slash.objects.select_for_update().filter(pk=slash_id, user=provider).first()
        if slash is None:
            raise PermissionDenied("This is not your slash.")
        if slash.reversal_id is not None:
            raise InvalidState("This slash was already reversed.")
        if SlashAppeal.objects.filter(slash=slash).exists():
            raise InvalidState("This slash was already appealed.")
        deadline = appeal_deadline(slash)
        if now > deadline:
            raise InvalidState("The appeal window has closed.", detail={"deadline": deadline.isoformat()})
        return SlashAppeal.objects.create(slash=slash, provider=provider, text=text.strip()[:4000])


def slash_appeal_decide(*, appeal_id: int, staff_user: User, uphold: bool, note: str = "") -> SlashAppeal:
    """Staff decide an open appeal: upheld, the slash is reversed (a reversing transaction gives
    the burned AGR back to the bonded stake); rejected, it stands."""
    if not staff_user.is_staff:
        raise PermissionDenied("Only staff may decide an appeal.")
    with transaction.atomic():
        appeal = SlashAppeal.objects.select_for_update().get(pk=appeal_id)
        if appeal.state != AppealState.OPEN:
            raise InvalidState("This appeal was already decided.", detail={"state": appeal.state})
        if uphold:
            stake_slash_reverse(slash_id=appeal.slash_id, staff_user=staff_user)
        appeal.state = AppealState.UPHELD if uphold else AppealState.REJECTED
        appeal.decided_by = staff_user
        appeal.decided_at = timezone.now()
        appeal.staff_note = note[:255]
        appeal.save(update_fields=["state", "decided_by", "decided_at", "staff_note", "updated_at"])
        return appeal
