from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A business-rule failure with a stable code; rendered as the API error envelope.

    Apps subclass it in `<app>/errors.py`, fixing `code` and `status_code` per class so that
    callers and tests can rely on both.
    """

    code: str = "invalid_state"
    status_code: int = 400
    default_message: str = "The request could not be completed."

    def __init__(self, message: str | None = None, *, detail: dict[str, Any] | None = None) -> None:
        self.message = message or self.default_message
        self.detail = detail or {}
        super().__init__(self.message)
