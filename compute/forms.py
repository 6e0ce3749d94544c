"""Forms of compute's pages: a batch job's submission and a served call's rating.

Forms check shape; the rules live in compute's services, whose refusals the views put on these
forms (core.forms.service_error_to_form): beside the field they name, else at the top.
"""

from __future__ import annotations

from typing import Any

from django import forms

from compute.models_reputation import STARS_MAX, STARS_MIN
from compute.services.batch import BatchInvalid, BatchNotFound, BatchTooLarge
from core.exceptions import ApplicationError


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
