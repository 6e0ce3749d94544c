from __future__ import annotations

from core.exceptions import ApplicationError


class AccountsError(ApplicationError):
    pass


class ApiKeyInvalid(AccountsError):
    code = "not_authenticated"
    status_code = 401
    default_message = "The API key is invalid or has been revoked."


class ApiKeyNotFound(AccountsError):
    code = "not_found"
    status_code = 404
    default_message = "No such API key."


class ApiKeyScopesInvalid(AccountsError):
    code = "validation_error"
    status_code = 400
    default_message = "Choose at least one valid scope."


class WalletSignatureRejected(AccountsError):
    """A SIWE message or signature failed a check; `detail.reason` says which."""

    code = "wallet_signature_rejected"
    status_code = 400
    default_message = "The signed message was rejected."


class WalletAlreadyLinked(AccountsError):
    code = "wallet_already_linked"
    status_code = 409
    default_message = "This wallet is linked to another account."


class WalletNotLinked(AccountsError):
    code = "not_authenticated"
    status_code = 401
    default_message = "No account is linked to this wallet. Log in another way and link it first."


class WalletNotFound(AccountsError):
    code = "not_found"
    status_code = 404
    default_message = "No such wallet."


class ApiKeyNotAllowed(AccountsError):
    """Managing credentials (API keys, wallets, payout destinations) is refused to API keys."""

    code = "api_key_not_allowed"
    status_code = 403
    default_message = (
        "API keys cannot manage API keys or wallets. Log in (in the browser, or through the headless "
        "API with X-Session-Token) and do it there."
    )


class ReauthenticationRequired(AccountsError):
    """The session is too old for a sensitive change; `detail` says where to re-authenticate."""

    code = "reauthentication_required"
    status_code = 403
    default_message = "Confirm it is you: re-enter your password (or a two-factor code), then try again."


class IntegrationNameTaken(AccountsError):
    code = "integration_name_taken"
    status_code = 409
    default_message = "You already have an integration with this name."
