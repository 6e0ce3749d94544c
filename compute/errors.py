"""compute's errors with stable codes (API.md); services raise them, the API renders them."""

from __future__ import annotations

from core.exceptions import ApplicationError


class ComputeError(ApplicationError):
    pass


class NodeNotFound(ComputeError):
    """Also raised for another provider's node: its existence is not revealed."""

    code = "not_found"
    status_code = 404
    default_message = "No such node."


class NodeRefused(ComputeError):
    """The node failed a registration check; `detail["problems"]` names each failure."""

    code = "validation_error"
    status_code = 400
    default_message = "The node could not be registered."


class UrlRefused(ComputeError):
    """A node URL our servers must not call (scheme, or a private/loopback/metadata address)."""

    code = "validation_error"
    status_code = 400
    default_message = "This node URL is not allowed."


class CallNotFound(ComputeError):
    """Also raised for another buyer's call, or one that was not served: its existence is not
    revealed."""

    code = "not_found"
    status_code = 404
    # Calls reach the request log within seconds (the settlement beat drains it), so a rating sent
    # right after the call can arrive first: the message says so instead of leaving the caller guessing.
    default_message = (
        "No served call of yours has this request id. A call made in the last few seconds is still "
        "being recorded: try again shortly."
    )


class RatingRefused(ComputeError):
    """The call was already rated, or its rating window has closed; `detail["reason"]` says which
    (`already_rated`, `window_closed`)."""

    code = "invalid_state"
    status_code = 409
    default_message = "This call cannot be rated."
