"""/api/v1/stakes (API keys by scope) and the demo provider staked at Silver by `make demo`'s loader."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import User
from tests.accounts.factories import UserFactory
from tests.tokenomics.factories import funded_wallet
from tokenomics.money import agr
from tokenomics.selectors.staking import bonded, provider_tier

pytestmark = pytest.mark.django_db


def _client(user, scope: str) -> APIClient:
    client = APIClient()
    key = account_services.api_key_create(user=user, name=scope, scopes=[scope]).secret
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_stake_unstake_and_read_the_position_over_the_api() -> None:
    holder = UserFactory()
    funded_wallet(user=holder, amount=agr(300_000), asset="AGR")
    writer, reader = _client(holder, "write"), _client(holder, "read")
    assert reader.post("/api/v1/stakes", {"amount": str(agr(1))}, format="json").status_code == 403
    response = writer.post("/api/v1/stakes", {"amount": str(agr(250_000))}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["tier"]["tier"] == "gold"
    assert response.json()["next_tier"]["tier"] == "platinum"
    assert response.json()["remaining_to_next"] == {"amount": str(agr(750_000)), "asset": "AGR"}
    response = writer.post("/api/v1/stakes/unstake", {"amount": str(agr(200_001))}, format="json")
    assert response.status_code == 201
    body = reader.get("/api/v1/stakes").json()
    assert body["bonded"]["amount"] == str(agr(49_999))
    assert body["tier"]["tier"] == "bronze"
    assert [u["amount"]["amount"] for u in body["unbondings"]] == [str(agr(200_001))]
    too_much = writer.post("/api/v1/stakes", {"amount": str(agr(10**6))}, format="json")
    assert too_much.status_code == 402
    assert too_much.json()["error"]["code"] == "insufficient_funds"


def test_the_demo_provider_is_staked_at_silver_and_a_rerun_changes_nothing() -> None:
    for _ in range(2):
        for command in ("load_demo_data", "load_demo_ledger"):
            call_command(command, stdout=io.StringIO())
    provider = User.objects.get(email="provider@agora.local")
    assert provider_tier(provider) == "silver"
    assert bonded(provider) == agr(60_000)
