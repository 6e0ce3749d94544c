"""The JSON endpoints behind the wallet sign-in page."""

from __future__ import annotations

import json

import pytest
from eth_account import Account

from accounts import services
from accounts.models import SiweNonce
from tests.accounts import siwe_helpers as h

pytestmark = pytest.mark.django_db


def test_nonce_builds_the_exact_message_for_the_address(client):
    account = Account.create()
    response = client.get(
        "/accounts/wallet-login/nonce/", {"address": account.address.lower(), "chain_id": 1337}
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["message"].startswith(
        f"testserver wants you to sign in with your Ethereum account:\n{account.address}\n"
    )
    assert f"Nonce: {body['nonce']}" in body["message"]
    assert SiweNonce.objects.get().purpose == SiweNonce.Purpose.LOGIN


@pytest.mark.parametrize(
    "address",
    ["", "0x123", "0x52908400098527886E0F7030069857D2E4169ee8"],  # last: bad checksum
)
def test_nonce_refuses_bad_addresses_with_400(client, address):
    response = client.get("/accounts/wallet-login/nonce/", {"address": address})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def _sign_in_with(client, account):
    """What the wallet sign-in page does: fetch the message for the address, sign it, post it."""
    text = client.get("/accounts/wallet-login/nonce/", {"address": account.address}).json()["message"]
    return client.post(
        "/accounts/wallet-login/verify/",
        json.dumps({"message": text, "signature": h.sign(text, account)}),
        content_type="application/json",
    )


def test_verify_logs_the_wallet_owner_in(client, user):
    account = Account.create()
    link = h.message(account, services.siwe_nonce_create(purpose=SiweNonce.Purpose.LINK, user=user).nonce)
    services.wallet_link(
        user=user,
        message=link,
        signature=h.sign(link, account),
        context=services.SiweContext(h.DOMAIN, h.URI),
    )
    response = _sign_in_with(client, account)
    assert response.status_code == 200
    assert response.json() == {"redirect": "/"}
    assert int(client.session["_auth_user_id"]) == user.pk


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"message": "x"}', b'{"message": "x", "signature": "0x12"}']
)
def test_verify_refuses_malformed_bodies(client, body):
    response = client.post("/accounts/wallet-login/verify/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert "_auth_user_id" not in client.session


def test_verify_refuses_an_unlinked_wallet(client):
    response = _sign_in_with(client, Account.create())
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert "_auth_user_id" not in client.session
