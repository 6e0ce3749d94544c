"""Governance errors with stable codes; services raise them, the API renders them."""

from __future__ import annotations

from core.exceptions import ApplicationError


class GovernanceError(ApplicationError):
    pass


class ProposalNotFound(GovernanceError):
    code = "not_found"
    status_code = 404
    default_message = "No such proposal."


class ProposalInvalid(GovernanceError):
    code = "validation_error"
    status_code = 400
    default_message = "The proposal is not valid."


class ProposalStateError(GovernanceError):
    """The action is not allowed in the proposal's current state (or before its ETA)."""

    code = "proposal_state_invalid"
    status_code = 409
    default_message = "This action is not possible in the proposal's current state."


class VotingClosed(GovernanceError):
    code = "voting_closed"
    status_code = 409
    default_message = "Voting on this proposal is not open."


class NotAllowed(GovernanceError):
    code = "permission_denied"
    status_code = 403
    default_message = "You may not do this to this proposal."


class DelegationInvalid(GovernanceError):
    code = "delegation_invalid"
    status_code = 400
    default_message = "This delegation is not possible."
