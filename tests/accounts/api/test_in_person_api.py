"""Issue 13 item 1 through the API: wallets (and so payout destinations) are managed only by the
account holder in person, in a session that authenticated in the last five minutes."""

from __future__ import annotations

import pytest
from django.core import mail
from eth_account import Account

from accounts import services
from accounts.models import SiweNonce, Wallet
from tests.accounts import siwe_helpers as h
from tests.accounts.reauth import login_recently

pytestmark = pytest.mark.django_db


def _signed_link(user):
    account = Account.create()
    text = h.message(account, services.siwe_nonce_create(purpose=SiweNonce.Purpose.LINK, user=user).nonce)
    return account, {"message": text, "signature": h.sign(text, account)}


def test_a_write_key_cannot_link_a_wallet(api_client, user):
    """The attack of the issue: a leaked write key linked the attacker's wallet for sign-in."""
    key = services.api_key_create(user=user, name="leaked", scopes=["read", "write", "inference"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.secret}")
    _account, body = _signed_link(user)
    response = api_client.post("/api/v1/wallets", body, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "api_key_not_allowed"
    assert not Wallet.objects.exists()
    nonce = api_client.get("/api/v1/wallets/nonce")
    assert nonce.status_code == 403
    assert nonce.json()["error"]["code"] == "api_key_not_allowed"
    # Listing stays open to a read key.
    assert api_client.get("/api/v1/wallets").status_code == 200


def test_a_write_key_cannot_unlink_a_wallet(api_client, user):
    _account, body = _signed_link(user)
    wallet = services.wallet_link(user=user, context=services.SiweContext(h.DOMAIN, h.URI), **body)
    key = services.api_key_create(user=user, name="leaked", scopes=["read", "write"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.secret}")
    response = api_client.delete(f"/api/v1/wallets/{wallet.pk}")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "api_key_not_allowed"
    assert Wallet.objects.filter(pk=wallet.pk).exists()


def test_an_old_session_reauthenticates_before_linking(api_client, user):
    login_recently(api_client, user, seconds_ago=600)
    assert api_client.get("/api/v1/wallets/nonce").json()["error"]["code"] == "reauthentication_required"
    _account, body = _signed_link(user)
    response = api_client.post("/api/v1/wallets", body, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "reauthentication_required"
    assert not Wallet.objects.exists()


def test_a_recent_session_links_and_the_owner_is_emailed(
    api_client, user, django_capture_on_commit_callbacks
):
    login_recently(api_client, user)
    nonce = api_client.get("/api/v1/wallets/nonce", {"address": Account.create().address})
    assert nonce.status_code == 200
    account, body = _signed_link(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/v1/wallets", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["address"] == account.address
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]
    assert account.address in message.body
    assert "cool-down" in message.body


def test_relinking_an_own_wallet_sends_no_second_email(user, django_capture_on_commit_callbacks):
    account = Account.create()
    for _ in range(2):
        text = h.message(account, services.siwe_nonce_create(purpose=SiweNonce.Purpose.LINK, user=user).nonce)
        with django_capture_on_commit_callbacks(execute=True):
            services.wallet_link(
                user=user,
                message=text,
                signature=h.sign(text, account),
                context=services.SiweContext(h.DOMAIN, h.URI),
            )
    assert len(mail.outbox) == 1


def test_link_nonces_per_user_are_capped(user):
    for _ in range(services.LINK_NONCES_PER_USER + 7):
        services.siwe_nonce_create(purpose=SiweNonce.Purpose.LINK, user=user)
    assert SiweNonce.objects.filter(user=user).count() == services.LINK_NONCES_PER_USER
