"""POST /api/v1/credits with AGR on a real in-process EVM: instructions, then the transfer verified
through the API and credited once with the prepaid bonus; refusals carry the failed check."""

from __future__ import annotations

import pytest

from accounts import services as account_services
from tests.tokenomics.chain.conftest import Chain, link, pay
from tokenomics.money import agr
from tokenomics.selectors.ledger import user_balances

pytestmark = pytest.mark.django_db


def _bearer(api_client, user) -> None:
    key = account_services.api_key_create(user=user, name="t", scopes=["read", "write"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.secret}")


def test_an_agr_top_up_is_verified_and_credited_once(api_client, user, chain: Chain, new_key) -> None:
    _bearer(api_client, user)
    key = new_key(agr(1_000))
    link(user, key)
    created = api_client.post("/api/v1/credits", {"rail": "agr", "amount": str(agr(100))}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["card"] is None
    assert body["agr"]["token_address"].lower() == chain.token.lower()
    assert body["agr"]["amount"] == {"amount": str(agr(100)), "asset": "AGR"}

    tx_hash = pay(chain, key, agr(100))
    url = f"/api/v1/credits/{body['id']}/agr-payment"
    first = api_client.post(url, {"tx_hash": tx_hash}, format="json")
    again = api_client.post(url, {"tx_hash": tx_hash}, format="json")
    assert first.status_code == 200, first.json()
    assert first.json()["status"] == "succeeded"
    assert again.status_code == 200
    wallet = next(b for b in user_balances(user=user) if b.asset == "AGR").wallet
    assert wallet == agr(110)  # 100 paid + the 10% prepaid bonus, once


def test_a_transfer_from_an_unlinked_wallet_is_refused_with_its_reason(
    api_client, user, chain: Chain, new_key
) -> None:
    _bearer(api_client, user)
    key = new_key(agr(1_000))  # never linked to the user
    created = api_client.post("/api/v1/credits", {"rail": "agr", "amount": str(agr(5))}, format="json").json()
    tx_hash = pay(chain, key, agr(5))
    response = api_client.post(
        f"/api/v1/credits/{created['id']}/agr-payment", {"tx_hash": tx_hash}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["detail"]["reason"]) == ("payment_not_verified", "sender_not_linked")
    assert next(b for b in user_balances(user=user) if b.asset == "AGR").wallet == 0


def test_a_malformed_hash_is_a_validation_error(api_client, user, chain: Chain) -> None:
    _bearer(api_client, user)
    created = api_client.post("/api/v1/credits", {"rail": "agr", "amount": "5"}, format="json").json()
    response = api_client.post(
        f"/api/v1/credits/{created['id']}/agr-payment", {"tx_hash": "0x12"}, format="json"
    )
    assert response.status_code == 400
    assert "tx_hash" in response.json()["error"]["detail"]


def test_a_chain_node_that_is_down_is_503_chain_unavailable(api_client, user, chain: Chain, settings) -> None:
    _bearer(api_client, user)
    created = api_client.post("/api/v1/credits", {"rail": "agr", "amount": "5"}, format="json").json()
    settings.WEB3_PROVIDER_URL = "http://127.0.0.1:9"  # discard port: connection refused
    settings.WEB3_RPC_TIMEOUT_SECONDS = 2
    response = api_client.post(
        f"/api/v1/credits/{created['id']}/agr-payment", {"tx_hash": "0x" + "ab" * 32}, format="json"
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "chain_unavailable"
