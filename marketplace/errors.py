"""Storefront errors with stable codes (API.md); services raise them, the API and pages render them."""

from __future__ import annotations

from core.exceptions import ApplicationError


class MarketplaceError(ApplicationError):
    pass


class NotFound(MarketplaceError):
    """Also raised for another user's object: its existence is not revealed."""

    code = "not_found"
    status_code = 404
    default_message = "Not found."


class PermissionDenied(MarketplaceError):
    code = "permission_denied"
    status_code = 403
    default_message = "You do not have permission to do this."


class ValidationFailed(MarketplaceError):
    code = "validation_error"
    status_code = 400
    default_message = "The input is not valid."


class InvalidState(MarketplaceError):
    code = "invalid_state"
    status_code = 409
    default_message = "This action is not possible in the current state."


class RefundWindowClosed(MarketplaceError):
    code = "refund_window_closed"
    status_code = 409
    default_message = "This order can no longer be refunded."


class LicenseRequired(MarketplaceError):
    code = "license_required"
    status_code = 403
    default_message = "A valid license is needed for this."


class DownloadLimitReached(MarketplaceError):
    code = "download_limit_reached"
    status_code = 403
    default_message = "This license has used all of its downloads."
