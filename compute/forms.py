"""Forms of compute's pages: the playground's run, a batch job's submission and a served call's
rating.

Forms check shape; the rules live in compute's services, whose refusals the views put on these
forms (core.forms.service_error_to_form): beside the field they name, else at the top.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django import forms

from compute.models_reputation import STARS_MAX, STARS_MIN
from compute.selectors.playground import (
    KIND_NUMBERS,
    KIND_PAD,
    KIND_TEXT,
    PAD_MAX,
    PlaygroundInput,
    PlaygroundModel,
)
from compute.services.batch import BatchInvalid, BatchNotFound, BatchTooLarge
from core.exceptions import ApplicationError

# ----------------------------------------------------------------------------- the playground

INTEGER_DATATYPES = frozenset({"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"})


class PlaygroundInputError(Exception):
    def __init__(self, tensor: str, message: str) -> None:
        super().__init__(message)
        self.tensor = tensor
        self.message = message


def _number(tensor: PlaygroundInput, text: Any) -> int | float:
    try:
        value = float(str(text).strip())
    except ValueError as exc:
        raise PlaygroundInputError(tensor.name, f"{tensor.name}: “{text}” is not a number.") from exc
    if not math.isfinite(value):
        raise PlaygroundInputError(tensor.name, f"{tensor.name}: numbers must be finite.")
    if tensor.datatype in INTEGER_DATATYPES:
        if value != int(value):
            raise PlaygroundInputError(tensor.name, f"{tensor.name} takes whole numbers.")
        return int(value)
    return value


def _flatten(tensor: PlaygroundInput, value: Any) -> list[Any]:
    if isinstance(value, list):
        return [item for part in value for item in _flatten(tensor, part)]
    return [_number(tensor, value)]


def playground_body(model: PlaygroundModel, form: Any) -> dict[str, Any]:
    """The KServe v2 request body of a playground form: one batch row per input tensor."""
    inputs = []
    for tensor in model.inputs:
        field = f"in-{tensor.name}"
        if tensor.kind == KIND_TEXT:
            text = str(form.get(field, "")).strip()
            if not text:
                raise PlaygroundInputError(tensor.name, f"Write some text for {tensor.name}.")
            data: list[Any] = [text]
        elif tensor.kind == KIND_NUMBERS:
            data = [_number(tensor, form.get(f"{field}-{i}", "")) for i in range(tensor.count)]
        else:
            try:
                parsed = json.loads(str(form.get(field, "")))
            except ValueError as exc:
                raise PlaygroundInputError(tensor.name, f"{tensor.name}: this is not valid JSON.") from exc
            data = _flatten(tensor, parsed)
            if tensor.kind == KIND_PAD and any(not 0 <= v <= PAD_MAX for v in data):
                raise PlaygroundInputError(tensor.name, f"{tensor.name}: each cell is 0 to {PAD_MAX}.")
        inputs.append(
            {"name": tensor.name, "datatype": tensor.datatype, "shape": [1, *tensor.shape], "data": data}
        )
    return {"inputs": inputs, "version": model.version.version}


class PlaygroundForm(forms.Form):
    """A playground run: one field per input tensor of `model`, named as the page's inputs
    (`in-<tensor>`; a numbers tensor sends `in-<tensor>-<i>` too). The page draws the inputs itself
    (the drawing pad, the number fields); the fields hold each tensor's errors, and a valid form's
    `cleaned_data["body"]` is the KServe v2 request body."""

    def __init__(self, *args: Any, model: PlaygroundModel, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "playground-%s")
        super().__init__(*args, **kwargs)
        self.model = model
        for tensor in model.inputs:
            self.fields[self.field_name(tensor.name)] = forms.Field(required=False)

    @staticmethod
    def field_name(tensor: str) -> str:
        return f"in-{tensor}"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            data["body"] = playground_body(self.model, self.data)
        except PlaygroundInputError as exc:
            self.add_error(self.field_name(exc.tensor), exc.message)
        return data


class BatchForm(forms.Form):
    """A batch: the model's listing slug and its items as JSON Lines, pasted or uploaded."""

    listing = forms.CharField(label="Model (listing slug)", max_length=200)
    lines = forms.CharField(label="Inputs, one JSON object a line", required=False, strip=False)
    file = forms.FileField(label="Or upload a JSON Lines file", required=False)
    webhook_url = forms.CharField(label="Completion webhook URL (optional)", required=False, max_length=2000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "batch-%s")
        super().__init__(*args, **kwargs)

    def items_source(self) -> Any:
        """What the items are read from: the uploaded file (its lines), else the pasted lines."""
        upload = self.cleaned_data.get("file")
        return upload if upload is not None else str(self.cleaned_data.get("lines", "")).splitlines()

    def error_places(self, exc: ApplicationError) -> dict[str, Any]:
        """service_error_to_form's placing of a batch refusal: a line or item that is not a request,
        and a batch too large, beside where the items came from (the upload or the pasted lines); a
        model that is not hosted beside its slug; a webhook URL beside itself; the rest at the top."""
        source = "file" if self.cleaned_data.get("file") is not None else "lines"
        if isinstance(exc, BatchInvalid):
            return {"fields": {"file": source, "items": source}}
        if isinstance(exc, BatchTooLarge):
            return {"default_field": source}
        if isinstance(exc, BatchNotFound):
            return {"default_field": "listing"}
        return {}


class CallRatingForm(forms.Form):
    """A buyer's 1-5 star rating of one served call (the usage page's rate control, one per row)."""

    stars = forms.TypedChoiceField(
        choices=[(n, str(n)) for n in range(STARS_MAX, STARS_MIN - 1, -1)],
        coerce=int,
        error_messages={
            "required": f"A rating is {STARS_MIN} to {STARS_MAX} stars.",
            "invalid_choice": f"A rating is {STARS_MIN} to {STARS_MAX} stars.",
        },
    )

    def __init__(self, *args: Any, request_id: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"rating-{request_id}-%s")
        super().__init__(*args, **kwargs)
