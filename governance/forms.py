from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms

from accounts.models import User
from governance.models import ProposalKind, VoteChoice
from tokenomics.models import Asset, Parameter

CHANGE_ROWS = 3


class VoteForm(forms.Form):
    choice = forms.ChoiceField(choices=VoteChoice.choices, widget=forms.RadioSelect)
    reason = forms.CharField(max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class CommentForm(forms.Form):
    body = forms.CharField(max_length=10_000, widget=forms.Textarea(attrs={"rows": 3}), label="Comment")


class DelegateForm(forms.Form):
    remove = forms.BooleanField(required=False)


class ProposeForm(forms.Form):
    kind = forms.ChoiceField(choices=ProposalKind.choices, label="Type")
    title = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), help_text="Markdown.")
    recipient_id = forms.IntegerField(
        required=False,
        min_value=1,
        label="Recipient",
        help_text="Treasury: the holder's number (see their holder page).",
    )
    asset = forms.ChoiceField(choices=[("", "—"), *Asset.choices], required=False)
    amount = forms.IntegerField(
        min_value=1, required=False, help_text="Minor units: cents or AGR base units."
    )

    def __init__(self, *args: Any, parameters: Sequence[Parameter] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "— parameter —"), *((p.key, f"{p.key} (now {p.value} {p.unit})") for p in parameters)]
        for index in range(CHANGE_ROWS):
            self.fields[f"parameter_{index}"] = forms.ChoiceField(
                choices=choices, required=False, label="Parameter"
            )
            self.fields[f"value_{index}"] = forms.IntegerField(required=False, label="New value")

    def change_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"parameter_{i}"], self[f"value_{i}"]) for i in range(CHANGE_ROWS)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        changes: dict[str, int] = {}
        for index in range(CHANGE_ROWS):
            key, value = data.get(f"parameter_{index}"), data.get(f"value_{index}")
            if key and value is None:
                self.add_error(f"value_{index}", "Give the new value.")
            elif key and value is not None:
                if key in changes:
                    self.add_error(f"parameter_{index}", "Each parameter once.")
                changes[key] = int(value)
        data["changes"] = changes
        recipient_id = data.get("recipient_id")
        data["recipient"] = None
        if recipient_id:
            data["recipient"] = User.objects.filter(pk=recipient_id, is_active=True).first()
            if data["recipient"] is None:
                self.add_error("recipient_id", "No such holder.")
        return data
