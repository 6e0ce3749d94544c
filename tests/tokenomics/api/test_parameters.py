"""GET /api/v1/parameters and /parameters/{key}: the public registry with each value's history."""

from __future__ import annotations

import pytest

from accounts import services as account_services
from tokenomics.parameter_catalog import CATALOG, CATALOG_BY_KEY
from tokenomics.services.parameters import parameter_set

pytestmark = pytest.mark.django_db

URL = "/api/v1/parameters"


def test_public_and_paginated(api_client):
    response = api_client.get(URL)
    assert response.status_code == 200
    page = response.json()
    assert page["count"] == len(CATALOG)
    assert len(page["results"]) == 20
    assert page["next"].endswith("/api/v1/parameters?page=2")
    assert page["previous"] is None
    keys = [(p["category"], p["key"]) for p in page["results"]]
    assert keys == sorted(keys)
    last = api_client.get(URL, {"page": (len(CATALOG) + 19) // 20}).json()
    assert last["next"] is None
    assert len(last["results"]) == (len(CATALOG) % 20 or 20)


def test_values_are_whole_number_strings_even_past_2_53(api_client):
    body = api_client.get(f"{URL}/token.total_supply").json()
    assert body["value"] == str(10**27)
    assert body["min_value"] == body["max_value"] == str(10**27)
    assert body["unit"] == "agr_base_units"
    assert body["category"] == "token"
    assert body["description"] == CATALOG_BY_KEY["token.total_supply"].description


def test_fresh_parameter_has_its_initial_default_as_history(api_client):
    body = api_client.get(f"{URL}/payout.minimum_cents").json()
    assert body["value"] == "1000"
    assert len(body["history"]) == 1
    initial = body["history"][0]
    assert initial["old_value"] is None
    assert initial["new_value"] == "1000"
    assert initial["changed_by"] is None
    assert initial["proposal"] == ""
    assert initial["emergency"] is False


def test_history_lists_each_change_newest_first(api_client, user):
    user.display_name = "Ops Olga"
    user.save()
    parameter_set(key="payout.minimum_cents", value=1_100, reason="Cheaper transfers", changed_by=user)
    parameter_set(
        key="payout.minimum_cents",
        value=2_000,
        proposal_ref="proposal:7",
        reason="Fees went up",
        emergency=True,
    )
    body = api_client.get(f"{URL}/payout.minimum_cents").json()
    assert body["value"] == "2000"
    newest, middle, initial = body["history"]
    assert newest | {"changed_at": None} == {
        "old_value": "1100",
        "new_value": "2000",
        "changed_at": None,
        "changed_by": None,
        "proposal": "proposal:7",
        "reason": "Fees went up",
        "emergency": True,
    }
    assert (middle["old_value"], middle["new_value"]) == ("1000", "1100")
    assert middle["changed_by"] == "Ops Olga"
    assert middle["reason"] == "Cheaper transfers"
    assert middle["emergency"] is False
    assert initial["old_value"] is None
    # The list carries the same history.
    listed = api_client.get(URL, {"category": "payouts"}).json()["results"]
    entry = next(p for p in listed if p["key"] == "payout.minimum_cents")
    assert [h["new_value"] for h in entry["history"]] == ["2000", "1100", "1000"]


def test_category_filter(api_client):
    body = api_client.get(URL, {"category": "payouts"}).json()
    expected = sorted(spec.key for spec in CATALOG if spec.category == "payouts")
    assert body["count"] == len(expected)
    assert [p["key"] for p in body["results"]] == expected


@pytest.mark.parametrize("category", ["nope", ""])
def test_unknown_category_is_400(api_client, category):
    response = api_client.get(URL, {"category": category})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["detail"]) == {"category"}


def test_unknown_key_is_404_envelope(api_client):
    response = api_client.get(f"{URL}/no.such.parameter")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert response.json()["error"]["detail"] == {"key": "no.such.parameter"}


def test_any_api_key_may_read_the_public_registry(api_client, user):
    key = account_services.api_key_create(user=user, name="t", scopes=["inference"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.secret}")
    assert api_client.get(URL).status_code == 200
