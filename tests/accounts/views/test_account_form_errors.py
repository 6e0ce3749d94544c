"""allauth's forms show each error under its own field (issue 12, item 10).

Django's `as_p`, which allauth renders by default, prints a field's errors above its label, so a
too-short password was flagged above the "Password" label, away from the input it is about.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_password_error_sits_under_the_password_input(client):
    response = client.post(
        reverse("account_signup"), {"email": "a@example.com", "password1": "short", "password2": "x"}
    )
    html = response.content.decode()
    label = html.index('<label for="id_password1">')
    field = html.index('name="password1"')
    error = html.index('<ul class="errorlist" id="id_password1_error">')
    assert label < field < error
    assert "too short" in html[error : html.index("</ul>", error)]
    # Before the next field: the error belongs to this one.
    assert error < html.index('<label for="id_password2">')
    # Screen readers are told too: the input points at its error.
    input_tag = html[html.rindex("<input", 0, field) : html.index(">", field)]
    assert 'aria-invalid="true"' in input_tag
    assert "id_password1_error" in input_tag


def test_a_failed_login_is_announced_above_the_fields(client, user):
    response = client.post(reverse("account_login"), {"login": user.email, "password": "wrong-password"})
    html = response.content.decode()
    alert = html.index('<div role="alert"><ul class="errorlist nonfield">')
    assert alert < html.index('<label for="id_login">')
