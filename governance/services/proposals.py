"""Proposals: creation, and every transition through one function, `proposal_act`.

`proposal_act` locks the proposal's row, derives its state at `now` (governance.state), refuses an
action the state does not allow (or an execution before the ETA), then acts. Money moves only
through tokenomics' posting service under keys named after the proposal, and parameters only
through tokenomics' registry service with the proposal as the source, so a retry moves nothing
twice. `proposals_tick` (a beat task) queues passed proposals, executes due ones and settles the
bonds of ended ones, through the same function.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.exceptions import ApplicationError
from governance.errors import NotAllowed, ProposalInvalid, ProposalNotFound, ProposalStateError
from governance.models import Proposal, ProposalChange, ProposalKind
from governance.selectors import proposal_changes, proposal_tally, proposal_view
from governance.state import ENDED, Action, State, allowed, approved
from tokenomics.errors import ParameterChangeTooLarge
from tokenomics.models import Asset
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.selectors.parameters import parameters_get
from tokenomics.services.burns import burn_post
from tokenomics.services.ledger import Leg, transaction_post
from tokenomics.services.ledger_accounts import system_account_get_or_create, user_account_get_or_create
from tokenomics.services.parameters import ParameterChangeCheck, parameter_changes_check, parameters_set

logger = logging.getLogger(__name__)

THRESHOLD_KEYS = {
    ProposalKind.TECHNICAL: "governance.threshold.technical_bps",
    ProposalKind.ECONOMIC: "governance.threshold.economic_bps",
    ProposalKind.TREASURY: "governance.threshold.treasury_bps",
    ProposalKind.EMERGENCY: "governance.threshold.emergency_bps",
}
EMERGENCY_BEYOND_LIMIT_KEY = "governance.threshold.emergency_beyond_limit_bps"
BOND_KEY = "governance.proposal_bond"
QUORUM_KEY = "governance.quorum_bps"
DISCUSSION_KEY = "governance.discussion_seconds"
VOTING_KEY = "governance.voting_seconds"
TIMELOCK_KEY = "governance.timelock_seconds"
EMERGENCY_TIMELOCK_KEY = "governance.emergency_timelock_seconds"
# The shortest timelock any proposal gets, whatever the registry says (G4: a minimum delay enforced
# in code, so that no parameter change can shorten the timelock below it).
TIMELOCK_FLOOR_SECONDS = 48 * 3600
# Staff cancel and veto with this permission (is_staff alone is not enough).
MODERATE_PERMISSION = "governance.moderate_proposal"


def proposal_changes_checked(*, kind: str, changes: Mapping[str, int]) -> list[ParameterChangeCheck]:
    """Check a proposal's parameter changes against bounds, relations and the quarterly limit; a
    change beyond the limit is refused unless the proposal is an emergency."""
    checks = parameter_changes_check(changes)
    beyond = [c.key for c in checks if c.beyond_limit]
    if beyond and kind != ProposalKind.EMERGENCY:
        raise ParameterChangeTooLarge(detail={"keys": beyond})
    return checks


def _threshold_bps(kind: str, checks: list[ParameterChangeCheck]) -> int:
    if kind == ProposalKind.EMERGENCY and any(c.beyond_limit for c in checks):
        return parameters_get([EMERGENCY_BEYOND_LIMIT_KEY])[EMERGENCY_BEYOND_LIMIT_KEY]
    key = THRESHOLD_KEYS[ProposalKind(kind)]
    return parameters_get([key])[key]


def proposal_create(
    *,
    proposer: User,
    kind: str,
    title: str,
    body: str,
    changes: Mapping[str, int] | None = None,
    recipient: User | None = None,
    asset: str = "",
    amount: int | None = None,
    submit: bool = True,
) -> Proposal:
    """A new proposal, checked; submitted at once (bond locked, discussion starts) unless `submit`
    is False (then a draft the proposer submits later with `proposal_act(..., Action.SUBMIT)`)."""
    changes = dict(changes or {})
    if kind not in ProposalKind.values:
        raise ProposalInvalid("Unknown proposal type.", detail={"kind": kind})
    title = title.strip()
    if not title or len(title) > 200:
        raise ProposalInvalid("A title of 1 to 200 characters is required.", detail={"field": "title"})
    if not body.strip():
        raise ProposalInvalid("Describe the proposal.", detail={"field": "body"})
    if kind == ProposalKind.TREASURY:
        if changes:
            raise ProposalInvalid("A treasury proposal changes no parameter.", detail={"field": "changes"})
        if recipient is None or asset not in Asset.values:
            raise ProposalInvalid("Name the recipient and the asset.", detail={"field": "recipient"})
        if type(amount) is not int or amount < 1:
            raise ProposalInvalid("A treasury spend is a positive whole amount.", detail={"field": "amount"})
    else:
        if recipient is not None or amount is not None:
            raise ProposalInvalid("Only a treasury proposal pays anyone.", detail={"field": "recipient"})
        if kind == ProposalKind.ECONOMIC and not changes:
            raise ProposalInvalid(
                "An economic proposal changes at least one parameter.", detail={"field": "changes"}
            )
        if changes:
            proposal_changes_checked(kind=kind, changes=changes)
    with transaction.atomic():
        proposal = Proposal.objects.create(
            kind=kind,
            title=title,
            body=body,
            proposer=proposer,
            recipient=recipient,
            asset=asset if kind == ProposalKind.TREASURY else "",
            amount=amount if kind == ProposalKind.TREASURY else None,
        )
        ProposalChange.objects.bulk_create(
            ProposalChange(proposal=proposal, parameter_key=key, new_value=value)
            for key, value in changes.items()
        )
        if submit:
            proposal = proposal_act(proposal_id=proposal.pk, action=Action.SUBMIT, actor=proposer)
    return proposal


def _submit(proposal: Proposal, now: datetime) -> None:
    changes = proposal_changes(proposal)
    checks = proposal_changes_checked(kind=proposal.kind, changes=changes) if changes else []
    params = parameters_get(
        [BOND_KEY, QUORUM_KEY, DISCUSSION_KEY, VOTING_KEY, TIMELOCK_KEY, EMERGENCY_TIMELOCK_KEY]
    )
    timelock = params[EMERGENCY_TIMELOCK_KEY if proposal.kind == ProposalKind.EMERGENCY else TIMELOCK_KEY]
    proposal.bond = params[BOND_KEY]
    proposal.threshold_bps = _threshold_bps(proposal.kind, checks)
    proposal.quorum_bps = params[QUORUM_KEY]
    proposal.timelock_seconds = max(timelock, TIMELOCK_FLOOR_SECONDS)
    proposal.submitted_at = now
    proposal.voting_starts_at = now + timedelta(seconds=params[DISCUSSION_KEY])
    proposal.voting_ends_at = proposal.voting_starts_at + timedelta(seconds=params[VOTING_KEY])
    if proposal.bond:
        wallet = user_account_get_or_create(user=proposal.proposer, kind=AccountKind.WALLET, asset=Asset.AGR)
        hold = system_account_get_or_create(kind=AccountKind.GOVERNANCE_BOND, asset=Asset.AGR)
        transaction_post(
            kind=TransactionKind.TRANSFER,
            legs=[Leg(wallet, -proposal.bond), Leg(hold, proposal.bond)],
            idempotency_key=f"governance:bond:{proposal.pk}",
            memo=f"Bond of proposal #{proposal.pk}",
            reference=proposal.reference,
        )


def _bond_settle(proposal: Proposal, now: datetime) -> None:
    """Return the bond of an ended proposal to its proposer (burn it if vetoed), once."""
    if proposal.bond_settled_at is not None or proposal.submitted_at is None:
        return
    if proposal.bond:
        hold = system_account_get_or_create(kind=AccountKind.GOVERNANCE_BOND, asset=Asset.AGR)
        if proposal.vetoed:
            burn_post(
                source=hold,
                amount=proposal.bond,
                idempotency_key=f"governance:bond-burn:{proposal.pk}",
                memo=f"Bond of proposal #{proposal.pk}, vetoed as spam",
                reference=proposal.reference,
            )
        else:
            wallet = user_account_get_or_create(
                user=proposal.proposer, kind=AccountKind.WALLET, asset=Asset.AGR
            )
            transaction_post(
                kind=TransactionKind.TRANSFER,
                legs=[Leg(hold, -proposal.bond), Leg(wallet, proposal.bond)],
                idempotency_key=f"governance:bond-return:{proposal.pk}",
                memo=f"Bond of proposal #{proposal.pk} returned",
                reference=proposal.reference,
            )
    proposal.bond_settled_at = now


def _execute(proposal: Proposal) -> None:
    """Carry out a queued proposal. Raises an ApplicationError (nothing written) when its checks fail
    now: bounds or the quarterly limit moved, the treasury is short."""
    changes = proposal_changes(proposal)
    if changes:
        checks = proposal_changes_checked(kind=proposal.kind, changes=changes)
        _check_approval_still_enough(proposal, checks)
        parameters_set(
            changes=changes,
            proposal_ref=proposal.reference,
            reason=f"Proposal #{proposal.pk}: {proposal.title}"[:255],
            emergency=proposal.kind == ProposalKind.EMERGENCY,
        )
    if proposal.kind == ProposalKind.TREASURY and proposal.recipient is not None and proposal.amount:
        treasury = system_account_get_or_create(kind=AccountKind.TREASURY, asset=proposal.asset)
        wallet = user_account_get_or_create(
            user=proposal.recipient, kind=AccountKind.WALLET, asset=proposal.asset
        )
        transaction_post(
            kind=TransactionKind.TRANSFER,
            legs=[Leg(treasury, -proposal.amount), Leg(wallet, proposal.amount)],
            idempotency_key=f"governance:execute:{proposal.pk}",
            memo=f"Treasury spend of proposal #{proposal.pk}",
            reference=proposal.reference,
            party=proposal.recipient,
        )


def _check_approval_still_enough(proposal: Proposal, checks: list[ParameterChangeCheck]) -> None:
    """An emergency change that was within the quarterly limit when submitted (75%) may be beyond it
    by now (another change landed in the window): then it executes only if its votes reached the
    beyond-limit threshold (80%) too. The threshold needed now, and at least the one fixed at
    submission."""
    needed = max(proposal.threshold_bps, _threshold_bps(proposal.kind, checks))
    if needed <= proposal.threshold_bps:
        return
    tally, _ = proposal_tally(proposal)
    if not approved(dataclasses.replace(tally, threshold_bps=needed)):
        raise ParameterChangeTooLarge(
            "The change is now beyond the quarterly limit, and the vote did not reach the threshold "
            "that needs.",
            detail={"keys": [c.key for c in checks if c.beyond_limit], "threshold_bps": needed},
        )


def _check_actor(proposal: Proposal, action: Action, actor: User | None) -> None:
    if action in (Action.SUBMIT, Action.CANCEL) and (actor is None or actor.pk != proposal.proposer_id):
        raise NotAllowed("Only the proposer may do this.")
    if action in (Action.STAFF_CANCEL, Action.VETO) and (
        actor is None or not actor.is_staff or not actor.has_perm(MODERATE_PERMISSION)
    ):
        raise NotAllowed("Only staff with the permission to moderate proposals may do this.")


def proposal_act(*, proposal_id: int, action: Action | str, actor: User | None = None) -> Proposal:
    """Perform one transition: lock → derive the state now → check the action is allowed → act.

    Execution happens at most once (the proposal's row lock, `executed_at`, and keys per proposal
    in the ledger) and never before the ETA. An execution whose checks fail is recorded as failed
    with the reason (state `failed`), and not retried. Raises ProposalNotFound, NotAllowed,
    ProposalStateError, and for SUBMIT the bond's InsufficientFunds and the changes' checks.
    """
    action = Action(action)
    failure: ApplicationError | None = None
    with transaction.atomic():
        proposal = Proposal.objects.select_for_update().filter(pk=proposal_id).first()
        if proposal is None:
            raise ProposalNotFound(detail={"id": proposal_id})
        now = timezone.now()  # never a caller's: no path may date an execution past the ETA
        state = proposal_view(proposal, now).state
        _check_actor(proposal, action, actor)
        # A defeated proposal's bond may already be back with its proposer: then there is nothing
        # left to burn, and a veto would only pretend to.
        vetoing_settled = action is Action.VETO and proposal.bond_settled_at is not None
        if vetoing_settled or not allowed(state, action, now=now, eta=proposal.eta):
            raise ProposalStateError(
                detail={
                    "state": str(state),
                    "action": str(action),
                    "eta": proposal.eta.isoformat() if proposal.eta else None,
                }
            )
        if action is Action.SUBMIT:
            _submit(proposal, now)
        elif action in (Action.CANCEL, Action.STAFF_CANCEL, Action.VETO):
            proposal.cancelled_at = now
            proposal.cancelled_by = actor
            proposal.vetoed = action is Action.VETO
        elif action is Action.QUEUE:
            proposal.queued_at = now
            proposal.eta = now + timedelta(seconds=max(proposal.timelock_seconds, TIMELOCK_FLOOR_SECONDS))
        elif action is Action.EXECUTE:
            try:
                with transaction.atomic():
                    _execute(proposal)
            except ApplicationError as error:
                failure = error
                proposal.failed_at = now
                facts = ", ".join(f"{key} {value}" for key, value in (error.detail or {}).items())
                reason = f"{error.code}: {error.message}" + (f" ({facts})" if facts else "")
                proposal.failure_reason = reason[:500]
            else:
                proposal.executed_at = now
        if proposal_view(proposal, now).state in ENDED:
            _bond_settle(proposal, now)
        proposal.save()
    if failure is not None:
        logger.warning("Proposal %s failed to execute: %s", proposal.pk, proposal.failure_reason)
    return proposal


def proposals_tick() -> dict[str, int]:
    """Queue succeeded proposals, execute queued ones past their ETA, settle the bonds of ended
    ones. Safe to run concurrently and repeatedly (each step is a `proposal_act` under the lock)."""
    done = {"queued": 0, "executed": 0, "failed": 0, "settled": 0}
    candidates = (
        Proposal.objects.filter(submitted_at__isnull=False)
        .filter(bond_settled_at__isnull=True)
        .values_list("pk", flat=True)
    )
    for pk in list(candidates):
        moment = timezone.now()
        proposal = Proposal.objects.get(pk=pk)
        state = proposal_view(proposal, moment).state
        try:
            if state is State.SUCCEEDED:
                proposal_act(proposal_id=pk, action=Action.QUEUE)
                done["queued"] += 1
            elif state is State.QUEUED and proposal.eta is not None and moment >= proposal.eta:
                result = proposal_act(proposal_id=pk, action=Action.EXECUTE)
                done["executed" if result.executed_at else "failed"] += 1
            elif state in ENDED:
                proposal_bond_settle(proposal_id=pk)
                done["settled"] += 1
        except ProposalStateError:
            continue  # another worker moved it first
        except ApplicationError:
            # Not expected (a failed execution is recorded, not raised); one proposal's trouble must
            # not stop the others'. Logged with the traceback; the next tick tries again.
            logger.exception("governance tick: proposal %s", pk)
    return done


def proposal_bond_settle(*, proposal_id: int) -> Proposal:
    """Settle the bond of an ended proposal (defeated ones end by the clock, with no action)."""
    with transaction.atomic():
        proposal = Proposal.objects.select_for_update().get(pk=proposal_id)
        now = timezone.now()
        if proposal_view(proposal, now).state not in ENDED:
            raise ProposalStateError(detail={"action": "settle_bond"})
        _bond_settle(proposal, now)
        proposal.save(update_fields=["bond_settled_at", "updated_at"])
    return proposal
