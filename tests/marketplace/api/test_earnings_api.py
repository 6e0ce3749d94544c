"""GET /api/v1/creator/earnings: the caller's series, tier and next threshold, and payable
balances, from real ledger sales; money as exact strings."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services as account_services
from accounts.models import User
from tests.accounts.factories import UserFactory
from tests.tokenomics.factories import funded_wallet
from tokenomics.money import agr
from tokenomics.services.escrow import escrow_hold, escrow_release

pytestmark = pytest.mark.django_db

URL = "/api/v1/creator/earnings"
_refs = itertools.count()


def money(amount: int, asset: str = "USD") -> dict[str, str]:
    return {"amount": str(amount), "asset": asset}


def sale(*, creator: User, amount: int, asset: str = "USD") -> None:
    """A buyer's payment held in escrow and released to the split, through tokenomics."""
    buyer = UserFactory()
    wallet = funded_wallet(user=buyer, amount=amount, asset=asset)
    escrow = escrow_hold(
        reference=f"test-api:{next(_refs)}",
        creator=creator,
        source_account=wallet,
        amount=amount,
        payer=buyer,
    )
    escrow_release(escrow_id=escrow.pk)


def test_anonymous_is_401(api_client):
    response = api_client.get(URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_new_creator_gets_a_zero_series_and_bronze(api_client, user):
    api_client.force_authenticate(user)
    body = api_client.get(URL).json()
    today = timezone.localdate()
    assert (body["asset"], body["days"], body["interval"]) == ("USD", 30, "day")
    assert len(body["series"]) == 30
    assert body["series"][0] == {
        "date": (today - timedelta(days=29)).isoformat(),
        "gross": money(0),
        "earnings": money(0),
    }
    assert body["series"][-1]["date"] == today.isoformat()
    assert {key: body[key] for key in body if key != "series"} == {
        "asset": "USD",
        "days": 30,
        "interval": "day",
        "gross": money(0),
        "earnings": money(0),
        "tier": "bronze",
        "share_bps": 8000,
        "net_sales": money(0),
        "next_tier": "silver",
        "next_threshold": money(100_000),
        "progress_bps": 0,
        "payable": [money(0, "USD"), money(0, "AGR")],
    }


def test_sales_show_in_the_series_tier_and_payable(api_client, user):
    sale(creator=user, amount=10_000)
    sale(creator=user, amount=15_001)
    api_client.force_authenticate(user)
    body = api_client.get(URL, {"days": "90"}).json()
    assert len(body["series"]) == 90
    assert body["series"][-1] == {
        "date": timezone.localdate().isoformat(),
        "gross": money(25_001),
        "earnings": money(8_000 + 12_000),
    }
    assert body["gross"] == money(25_001)
    assert body["earnings"] == money(20_000)
    assert body["net_sales"] == money(25_001)
    assert body["progress_bps"] == 2_500  # $250.01 of $1,000, rounded down
    assert body["payable"] == [money(20_000, "USD"), money(0, "AGR")]


def test_agr_amounts_are_exact_strings(api_client, user):
    amount = agr(12_345) + 1  # past 2**53: a JSON number would lose the last digit
    sale(creator=user, amount=amount, asset="AGR")
    api_client.force_authenticate(user)
    body = api_client.get(URL, {"asset": "AGR", "days": 365}).json()
    assert body["interval"] == "week"
    assert body["gross"] == money(amount, "AGR")
    assert body["earnings"] == money(amount * 8_000 // 10_000, "AGR")
    assert body["payable"][1] == money(amount * 8_000 // 10_000, "AGR")
    assert all(point["gross"]["asset"] == "AGR" for point in body["series"])


def test_only_the_callers_sales(api_client, user, other_user):
    sale(creator=other_user, amount=90_000)
    api_client.force_authenticate(user)
    body = api_client.get(URL).json()
    assert body["gross"] == money(0)
    assert body["payable"][0] == money(0)
    assert body["net_sales"] == money(0)


@pytest.mark.parametrize("query", [{"days": "7"}, {"asset": "EUR"}, {"days": "thirty"}])
def test_bad_query_is_400(api_client, user, query):
    api_client.force_authenticate(user)
    response = api_client.get(URL, query)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_read_scope_suffices(api_client, user):
    key = account_services.api_key_create(user=user, name="r", scopes=["read"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.secret}")
    assert api_client.get(URL).status_code == 200
