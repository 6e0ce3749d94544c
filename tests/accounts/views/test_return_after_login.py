"""Sign-up and log-in bring the visitor back to the page they came from (issue 12, item 10).

Through the real allauth pages: the header's links carry `next`, the forms keep it (also through
the emailed-code verification of a sign-up), and a `next` off this site is ignored.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.core import mail
from django.urls import reverse

from tests.marketplace.factories import ListingFactory

pytestmark = pytest.mark.django_db


def _header_link(html: str, label: str) -> str:
    match = re.search(rf'<a [^>]*href="([^"]+)"[^>]*>{label}</a>', html)
    assert match, f"no {label} link in the header"
    return unescape(match.group(1))


def _code_from_outbox() -> str:
    match = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", mail.outbox[-1].body, re.MULTILINE)
    assert match, mail.outbox[-1].body
    return match.group(1)


@pytest.fixture
def model_url() -> str:
    listing = ListingFactory()
    url = reverse("marketplace:listing", args=[listing.slug])
    return url


def test_signing_up_from_a_model_page_returns_to_it(client, password, model_url):
    page = client.get(model_url)
    assert page.status_code == 200
    signup_url = _header_link(page.content.decode(), "Sign up")
    assert signup_url == f"{reverse('account_signup')}?next={model_url.replace('/', '%2F')}"

    form = client.get(signup_url).content.decode()
    assert f'name="next" value="{model_url}"' in form
    response = client.post(
        signup_url,
        {"email": "newcomer@example.com", "password1": password, "password2": password, "next": model_url},
    )
    assert response.url == reverse("account_email_verification_sent")  # the emailed code first
    response = client.post(reverse("account_email_verification_sent"), {"code": _code_from_outbox()})
    assert response.status_code == 302
    assert response.url == model_url
    assert "_auth_user_id" in client.session


def test_logging_in_from_a_model_page_returns_to_it(client, user, password, model_url):
    login_url = _header_link(client.get(model_url).content.decode(), "Log in")
    # The sign-up page offers log-in instead; the header there carries the same destination on.
    assert _header_link(client.get(login_url).content.decode(), "Sign up").endswith(
        f"?next={model_url.replace('/', '%2F')}"
    )
    response = client.post(login_url, {"login": user.email, "password": password, "next": model_url})
    assert response.status_code == 302
    assert response.url == model_url


@pytest.mark.parametrize("target", ["https://evil.example/steal", "//evil.example/", "javascript:alert(1)"])
def test_a_next_off_this_site_is_ignored(client, user, password, target):
    login_page = client.get(reverse("account_login"), {"next": target}).content.decode()
    assert "evil.example" not in _header_link(login_page, "Sign up")
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": password, "next": target}
    )
    assert response.status_code == 302
    assert response.url == reverse("home")
