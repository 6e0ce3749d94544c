from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import ApiKey


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="Something to recognise it by, e.g. “CI pipeline” or “laptop”.",
        widget=forms.TextInput(attrs={"placeholder": "e.g. CI pipeline", "autocomplete": "off"}),
    )
    scopes = forms.MultipleChoiceField(
        choices=ApiKey.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[ApiKey.Scope.READ, ApiKey.Scope.INFERENCE],
        help_text="Grant only what the program needs.",
    )


class IntegrationCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="The app's name, as its users know it.",
        widget=forms.TextInput(attrs={"placeholder": "e.g. Slack summariser", "autocomplete": "off"}),
    )
    url = forms.URLField(
        max_length=200,
        required=False,
        assume_scheme="https",
        label="Website",
        help_text="Optional: where the app lives.",
    )


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        max_length=80,
        required=False,
        help_text="Shown on your listings and reviews instead of your email.",
    )


class _JsonErrorsMixin:
    errors: Any

    def errors_as_json(self) -> dict[str, Any]:
        return {field: [str(e) for e in errors] for field, errors in self.errors.items()}


class SiweChallengeForm(_JsonErrorsMixin, forms.Form):
    address = forms.RegexField(r"^0x[0-9a-fA-F]{40}$")
    chain_id = forms.IntegerField(min_value=1, required=False)


class SiweForm(_JsonErrorsMixin, forms.Form):
    """The JSON body of a wallet sign-in: the EIP-4361 message and its signature."""

    message = forms.CharField(max_length=4000, strip=False)
    signature = forms.RegexField(r"^0x[0-9a-fA-F]{130}$")
