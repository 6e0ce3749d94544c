"""core.forms.service_error_to_form: the one way an HTML view shows a service's refusal on its form
(field messages beside their field, the rest at the top of the form)."""

from __future__ import annotations

from django import forms

from core.exceptions import ApplicationError
from core.forms import service_error_to_form


class _Form(forms.Form):
    name = forms.CharField()
    amount = forms.IntegerField()


def _form() -> _Form:
    form = _Form(data={"name": "x", "amount": "1"})
    assert form.is_valid()
    return form


def test_detail_messages_go_beside_the_fields_they_name_and_the_rest_to_the_top() -> None:
    form = _form()
    exc = ApplicationError("Not valid.", detail={"title": ["Too long."], "slug": ["Taken."]})
    top = service_error_to_form(form, exc, fields={"title": "name"})
    assert form.errors["name"] == ["Too long."]
    assert form.non_field_errors() == ["Taken."]
    assert top == "Taken."


def test_a_refusal_naming_no_field_is_its_message_at_the_top_and_context_is_never_shown() -> None:
    form = _form()
    top = service_error_to_form(form, ApplicationError("Already paid.", detail={"status": "paid"}))
    assert form.non_field_errors() == ["Already paid."]
    assert "paid" not in str(form.errors.get("name", ""))
    assert top == "Already paid."


def test_default_field_and_message_mode() -> None:
    form = _form()
    assert service_error_to_form(form, ApplicationError("Below the minimum."), default_field="amount") == ""
    assert form.errors["amount"] == ["Below the minimum."]
    assert not form.non_field_errors()

    form = _form()
    exc = ApplicationError("Choose at least $5.00.", detail={"credit": ["Enter 500 to 999 US cents."]})
    top = service_error_to_form(form, exc, fields={"credit": "amount"}, beside="message", top_on_form=False)
    assert (top, form.errors["amount"]) == ("", ["Choose at least $5.00."])

    form = _form()
    top = service_error_to_form(form, ApplicationError("Stripe is away."), top_on_form=False)
    assert top == "Stripe is away."
    assert not form.errors
