"""How an HTML view shows a service's refusal: on the form the page shows again.

Every HTML view that catches an `ApplicationError` from a service and re-renders its form calls
`service_error_to_form`, so a refusal always lands the same way (STYLE-ANCHORS R17, "form errors
beside their field"): each message of the error's `detail` beside the form field it names, and what
names no field of the form (or the error's message, when its detail names none) at the top of the
form, as a non-field error. A detail's value that is not a list of messages (a status, an id) is
context, never shown. Views whose action is a bare button, with no form to show again, put the
message in the messages framework instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from django import forms

from core.exceptions import ApplicationError


def service_error_to_form(
    form: forms.BaseForm,
    exc: ApplicationError,
    *,
    fields: Mapping[str, str] | None = None,
    default_field: str | None = None,
    beside: Literal["detail", "message"] = "detail",
    top_on_form: bool = True,
) -> str:
    """Place `exc` on `form` and return what belongs at the top of it ("" when everything went
    beside a field). `fields` maps the service's names for fields (the keys of its `detail`) to the
    form's where they differ; `default_field` is the field the error's message belongs beside when
    its detail names no field of the form. `beside="message"` puts the error's message beside the
    field its detail names instead of the detail's messages, and the message alone at the top when
    none is named (for services whose detail speaks to an API client, "Enter 500 to 99999999 US
    cents.", and whose message to a person). The top messages are added to the form as non-field
    errors, unless `top_on_form` is False: then only returned, for a page that shows them in its own
    alert above the step (the checkout's review, the dispute box, whose form renders as_div)."""
    names = fields or {}
    detail = exc.detail if isinstance(exc.detail, Mapping) else {}
    placed = False
    unplaced: list[str] = []
    for key, value in detail.items():
        target = names.get(key, key)
        # A list is a field's messages (ValidationFailed); anything else is context (a status, an id)
        # that names the field at most, and the error's own message is what the person reads.
        messages = [str(message) for message in value] if isinstance(value, list | tuple) else []
        if target in form.fields:
            for message in messages if messages and beside == "detail" else [exc.message]:
                form.add_error(target, message)
            placed = True
        elif beside == "detail":
            unplaced.extend(messages)
    if placed:
        top = unplaced
    elif default_field is not None and default_field in form.fields:
        form.add_error(default_field, exc.message)
        top = []
    else:
        top = unplaced or [exc.message]
    if top_on_form:
        for message in top:
            form.add_error(None, message)
    return " ".join(top)
