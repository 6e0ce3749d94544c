"""The JSON endpoints behind the wallet sign-in page."""

from __future__ import annotations

import json

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.utils import timezone
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
    # Anonymous sign-in nonces live in the cache under a TTL, never in a table (issue 13 item 5).
    assert not SiweNonce.objects.exists()


def test_anonymous_nonce_requests_do_not_grow_a_table(client):
    for _ in range(30):
        response = client.get("/accounts/wallet-login/nonce/", {"address": Account.create().address})
        assert response.status_code == 200
    assert SiweNonce.objects.count() == 0


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


def _linked(user):
    account = Account.create()
    link = h.message(account, services.siwe_nonce_create(purpose=SiweNonce.Purpose.LINK, user=user).nonce)
    services.wallet_link(
        user=user,
        message=link,
        signature=h.sign(link, account),
        context=services.SiweContext(h.DOMAIN, h.URI),
    )
    return account


def test_verify_logs_the_wallet_owner_in(client, user):
    account = _linked(user)
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


def test_a_sign_in_nonce_expires_with_its_ttl(client, user, settings):
    account = _linked(user)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        text = client.get("/accounts/wallet-login/nonce/", {"address": account.address}).json()["message"]
        # Re-signed without an expiration line, so only the nonce's own TTL can refuse it.
        text = "\n".join(line for line in text.split("\n") if not line.startswith("Expiration Time"))
        clock.shift(settings.SIWE_NONCE_TTL_SECONDS + 1)
        response = client.post(
            "/accounts/wallet-login/verify/",
            json.dumps({"message": text, "signature": h.sign(text, account)}),
            content_type="application/json",
        )
    assert response.status_code == 400
    assert response.json()["error"]["detail"]["reason"] == "nonce_invalid"
    assert "_auth_user_id" not in client.session


def test_a_sign_in_message_works_once(client, user):
    account = _linked(user)
    text = client.get("/accounts/wallet-login/nonce/", {"address": account.address}).json()["message"]
    body = json.dumps({"message": text, "signature": h.sign(text, account)})
    assert (
        client.post("/accounts/wallet-login/verify/", body, content_type="application/json").status_code
        == 200
    )
    client.logout()
    again = client.post("/accounts/wallet-login/verify/", body, content_type="application/json")
    assert again.status_code == 400
    assert again.json()["error"]["detail"]["reason"] == "nonce_invalid"


def test_wallet_sign_in_asks_for_the_totp_code_of_a_user_with_mfa(client, user):
    """Issue 13 item 1: a wallet alone must not be a way around two-factor authentication."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    account = _linked(user)

    response = _sign_in_with(client, account)
    assert response.status_code == 200
    body = response.json()
    assert body == {"redirect": "/accounts/2fa/authenticate/", "pending": True}
    assert "_auth_user_id" not in client.session
    assert client.get("/accounts/api-keys/").status_code == 302  # still anonymous

    now = sorted(yield_hotp_counters_from_time())  # the current period, within the tolerance
    code = format_hotp_value(hotp_value(secret, now[len(now) // 2]))
    response = client.post(body["redirect"], {"code": code})
    assert response.status_code == 302, response.content
    assert int(client.session["_auth_user_id"]) == user.pk
    assert client.get("/accounts/api-keys/").status_code == 200


def test_wallet_sign_in_without_mfa_is_a_fresh_authentication(client, user):
    account = _linked(user)
    assert _sign_in_with(client, account).status_code == 200
    page = client.get("/accounts/api-keys/")
    assert page.context["recently_authenticated"] is True
