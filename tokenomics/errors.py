"""Money errors with stable codes (API.md); services raise them, the API renders them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from core.exceptions import ApplicationError


class TokenomicsError(ApplicationError):
    pass


class PermissionDenied(TokenomicsError):
    """Staff acting on money without the permission for it (e.g. tokenomics.settle_payout)."""

    code = "permission_denied"
    status_code = 403
    default_message = "You do not have permission to do this."


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


# ---------------------------------------------------------------- Stripe rail


class PaymentProviderUnavailable(TokenomicsError):
    code = "payment_provider_unavailable"
    status_code = 503
    default_message = "The payment provider did not answer; try again shortly."


class PaymentProviderRejected(TokenomicsError):
    code = "payment_provider_rejected"
    status_code = 402
    default_message = "The payment provider refused the request."


class WebhookSignatureInvalid(TokenomicsError):
    code = "invalid_signature"
    status_code = 400
    default_message = "The webhook signature is missing, wrong or outside the time tolerance."


class WebhookPayloadInvalid(TokenomicsError):
    code = "invalid_payload"
    status_code = 400
    default_message = "The webhook body is not a Stripe event."


# ---------------------------------------------------------------- AGR rail


class Reason(StrEnum):
    """Stable names of the verification checks, sent as `detail["reason"]`."""

    INVALID_TX_HASH = "invalid_tx_hash"
    WRONG_RAIL = "wrong_rail"
    PAYMENT_CLOSED = "payment_closed"
    WRONG_CHAIN = "wrong_chain"
    TX_NOT_FOUND = "tx_not_found"
    TX_MISMATCH = "tx_mismatch"
    TX_REVERTED = "tx_reverted"
    TOO_FEW_CONFIRMATIONS = "too_few_confirmations"
    WRONG_TOKEN = "wrong_token"  # noqa: S105 - a reason name, not a secret
    WRONG_RECIPIENT = "wrong_recipient"
    LOG_REMOVED = "log_removed"
    SENDER_NOT_LINKED = "sender_not_linked"
    AMOUNT_SHORT = "amount_short"
    ALREADY_CREDITED = "already_credited"


# What each reason means, in words a payer reads after "Reason: " (the pay panel of an order or a
# top-up shows them; the retryable ones say so). Beside the codes, so every page says the same.
REASON_TEXT: dict[str, str] = {
    Reason.INVALID_TX_HASH: "the wallet returned something that is not a transaction hash",
    Reason.WRONG_RAIL: "this payment is not made in AGR",
    Reason.PAYMENT_CLOSED: "this payment was canceled",
    Reason.WRONG_CHAIN: "the transaction is on another chain than Agora's",
    Reason.TX_NOT_FOUND: "the transaction is not on chain yet; try again in a moment",
    Reason.TX_MISMATCH: "the chain reports a different transaction under that hash",
    Reason.TX_REVERTED: "the transaction failed on chain, so no AGR moved",
    Reason.TOO_FEW_CONFIRMATIONS: "the transaction needs more confirmations; try again in a moment",
    Reason.WRONG_TOKEN: "the transaction moved another token, not AGR",
    Reason.WRONG_RECIPIENT: "the AGR went to another address than Agora's deposit address",
    Reason.LOG_REMOVED: "the block holding the transaction was replaced; try again in a moment",
    Reason.SENDER_NOT_LINKED: "the AGR came from a wallet that is not linked to your account",
    Reason.AMOUNT_SHORT: "less AGR arrived than this payment needs",
    Reason.ALREADY_CREDITED: "this transaction already paid another payment",
}

# Checks that may pass later (the transaction is mined, buried, re-included) or that conflict with
# the current state answer 409; a transaction that can never pay this payment answers 400.
RETRYABLE_REASONS = frozenset({Reason.TX_NOT_FOUND, Reason.TOO_FEW_CONFIRMATIONS, Reason.LOG_REMOVED})
CONFLICT_REASONS = RETRYABLE_REASONS | {Reason.PAYMENT_CLOSED, Reason.ALREADY_CREDITED}


class PaymentNotVerified(TokenomicsError):
    """An on-chain payment that does not (yet) pay this payment; `reason` names the failed check."""

    code = "payment_not_verified"
    status_code = 400
    default_message = "This transaction does not pay this payment."

    def __init__(self, reason: Reason, message: str | None = None, *, detail: dict[str, Any] | None = None):
        super().__init__(message, detail={"reason": str(reason), **(detail or {})})
        self.reason = reason
        self.status_code = 409 if reason in CONFLICT_REASONS else 400

    @property
    def retryable(self) -> bool:
        return self.reason in RETRYABLE_REASONS


class ChainNotConfigured(TokenomicsError):
    code = "chain_not_configured"
    status_code = 503
    default_message = "Payments in AGR are not available right now."


class ChainNodeUnavailable(TokenomicsError):
    """The chain node could not be reached or answered with an error: nothing was decided, and the
    same request may be repeated (a transfer is credited once however often it is verified)."""

    code = "chain_unavailable"
    status_code = 503
    default_message = "The chain node could not be reached. Try again in a moment."


class ChainAddressInvalid(TokenomicsError):
    code = "validation_error"
    status_code = 400
    default_message = "This is not an Ethereum address."


# ---------------------------------------------------------------- payouts


class PayoutNotFound(TokenomicsError):
    code = "not_found"
    status_code = 404
    default_message = "No such payout."


class PayoutDestinationNotAllowed(TokenomicsError):
    """AGR payouts go only to the user's own linked (signature-verified) wallets."""

    code = "payout_destination_not_allowed"
    status_code = 400
    default_message = (
        "AGR payouts go only to a wallet linked to your account. Link it on the Wallets page first."
    )


class PayoutDestinationCoolingDown(TokenomicsError):
    """A newly linked wallet receives payouts only after payout.new_wallet_cooldown_seconds;
    `detail.usable_at` says when."""

    code = "payout_destination_cooling_down"
    status_code = 409
    default_message = "This wallet was linked recently; payouts to it open after a cool-down."


class KycRequired(TokenomicsError):
    code = "kyc_required"
    status_code = 403
    default_message = (
        "Payouts above the KYC threshold need a verified identity. Contact support to verify it; "
        "smaller payouts are not affected."
    )
