"""Sign-up → verify by emailed code → log out → log in, through the real allauth pages."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db


def _code_from_outbox() -> str:
    assert len(mail.outbox) == 1
    match = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", mail.outbox[0].body, re.MULTILINE)
    assert match, mail.outbox[0].body
    return match.group(1)


def test_signup_verify_then_login(client, password):
    response = client.post(
        reverse("account_signup"),
        {"email": "New.Buyer@Example.com", "password1": password, "password2": password},
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.buyer@example.com")
    # Unverified: the session is not logged in yet; the verification page is where we land.
    assert "_auth_user_id" not in client.session
    assert response.url == reverse("account_email_verification_sent")

    code = _code_from_outbox()
    response = client.post(reverse("account_email_verification_sent"), {"code": code})
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == user.pk
    assert user.emailaddress_set.get().verified

    client.post(reverse("account_logout"))
    assert "_auth_user_id" not in client.session
    response = client.post(reverse("account_login"), {"login": "new.buyer@example.com", "password": password})
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == user.pk


def test_login_refused_until_email_verified(client, password):
    client.post(
        reverse("account_signup"),
        {"email": "pending@example.com", "password1": password, "password2": password},
    )
    client.logout()
    response = client.post(reverse("account_login"), {"login": "pending@example.com", "password": password})
    assert "_auth_user_id" not in client.session
    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")


def test_wrong_verification_code_shows_error_next_to_field(client, password):
    client.post(
        reverse("account_signup"),
        {"email": "typo@example.com", "password1": password, "password2": password},
    )
    response = client.post(reverse("account_email_verification_sent"), {"code": "ZZZZZZ"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert response.context["form"].errors["code"]


def test_signup_errors_are_shown_per_field(client, user):
    response = client.post(
        reverse("account_signup"), {"email": user.email, "password1": "short", "password2": "other"}
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "too short" in errors["password1"][0]
    assert "too short" in response.content.decode()
    # allauth does not reveal that the email is taken (account enumeration), and adds nobody.
    assert User.objects.filter(email=user.email).count() == 1
