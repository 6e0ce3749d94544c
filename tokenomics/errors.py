"""Money errors with stable codes (API.md); services raise them, the API renders them."""

from __future__ import annotations

from core.exceptions import ApplicationError


class TokenomicsError(ApplicationError):
    pass


class InsufficientFunds(TokenomicsError):
    code = "insufficient_funds"
    status_code = 402
    default_message = "The balance is too low for this payment."


class IdempotencyConflict(TokenomicsError):
    code = "idempotency_conflict"
    status_code = 409
    default_message = "This idempotency key was already used for a different request."


class UnbalancedTransaction(TokenomicsError):
    """A posting whose entries do not sum to zero per asset, or is otherwise malformed."""

    code = "unbalanced_transaction"
    status_code = 400
    default_message = "The entries of a transaction must sum to zero for each asset."


class InvalidState(TokenomicsError):
    code = "invalid_state"
    status_code = 409
    default_message = "This action is not possible in the current state."


class AmountInvalid(TokenomicsError):
    code = "validation_error"
    status_code = 400
    default_message = "The amount is not valid."


class ParameterNotFound(TokenomicsError):
    code = "not_found"
    status_code = 404
    default_message = "No such parameter."


class ParameterOutOfBounds(TokenomicsError):
    code = "validation_error"
    status_code = 400
    default_message = "The value is outside the parameter's bounds."


class ParameterChangeTooLarge(TokenomicsError):
    code = "parameter_change_too_large"
    status_code = 400
    default_message = "The change exceeds the quarterly limit; only an emergency change may do that."


class PaymentNotFound(TokenomicsError):
    code = "not_found"
    status_code = 404
    default_message = "No such payment."
