"""Issue 13 item 1 in the browser: the API-key and wallet pages ask an old session to confirm it
is the account holder (allauth's reauthentication) before a key or wallet changes."""

from __future__ import annotations

import pytest

from accounts import services
from accounts.models import ApiKey, Wallet
from tests.accounts.reauth import login_recently

pytestmark = pytest.mark.django_db


def test_an_old_session_is_sent_to_reauthenticate_and_the_post_is_replayed(client, user, password):
    login_recently(client, user, seconds_ago=301)
    page = client.get("/accounts/api-keys/")
    assert page.status_code == 200
    assert page.context["recently_authenticated"] is False
    assert b'id="reauthenticate-notice"' in page.content

    response = client.post("/accounts/api-keys/", {"name": "ci", "scopes": ["read"]})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/?next=")
    assert not ApiKey.objects.exists()

    # allauth replays the suspended POST once the password is confirmed.
    response = client.post(response["Location"], {"password": password})
    assert response.status_code == 200
    assert ApiKey.objects.get().name == "ci"
    assert response.context["created_secret"].startswith("agr_live_")


def test_htmx_requests_are_redirected_whole_page(client, user):
    login_recently(client, user, seconds_ago=301)
    key = services.api_key_create(user=user, name="k", scopes=["read"])
    response = client.post(f"/accounts/api-keys/{key.api_key.pk}/revoke/", HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"] == "/accounts/reauthenticate/?next=%2Faccounts%2Fapi-keys%2F"
    assert ApiKey.objects.get().revoked_at is None


def test_a_recent_session_revokes(client, user):
    login_recently(client, user)
    key = services.api_key_create(user=user, name="k", scopes=["read"])
    response = client.post(f"/accounts/api-keys/{key.api_key.pk}/revoke/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert ApiKey.objects.get().revoked_at is not None


def test_unlinking_a_wallet_needs_a_recent_authentication(client, user):
    wallet = Wallet.objects.create(user=user, address="0x" + "ab" * 20, chain_id=1337)
    login_recently(client, user, seconds_ago=301)
    page = client.get("/accounts/wallets/")
    assert b'id="reauthenticate-link"' in page.content
    assert b'id="link-wallet"' not in page.content
    response = client.post(f"/accounts/wallets/{wallet.pk}/unlink/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert Wallet.objects.filter(pk=wallet.pk).exists()

    login_recently(client, user)
    assert b'id="link-wallet"' in client.get("/accounts/wallets/").content
    client.post(f"/accounts/wallets/{wallet.pk}/unlink/")
    assert not Wallet.objects.filter(pk=wallet.pk).exists()
