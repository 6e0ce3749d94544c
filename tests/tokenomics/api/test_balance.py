"""GET /api/v1/balance: the caller's balances per asset and creator tier, money as exact strings."""

from __future__ import annotations

import pytest

from accounts import services as account_services
from tests.tokenomics.factories import funded_wallet
from tokenomics.models import LedgerAccount
from tokenomics.services.escrow import escrow_hold, escrow_release

pytestmark = pytest.mark.django_db

URL = "/api/v1/balance"


def _money(amount: int | str, asset: str) -> dict[str, str]:
    return {"amount": str(amount), "asset": asset}


def _zero(asset: str) -> dict[str, object]:
    return {
        "asset": asset,
        "wallet": _money(0, asset),
        "creator_payable": _money(0, asset),
        "provider_payable": _money(0, asset),
        "stake": _money(0, asset),
    }


def _bearer(api_client, user, scopes):
    key = account_services.api_key_create(user=user, name="t", scopes=scopes)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.secret}")


def _sale(*, creator, buyer, cents: int, reference: str) -> None:
    wallet = funded_wallet(user=buyer, amount=cents)
    escrow = escrow_hold(
        reference=reference, creator=creator, source_account=wallet, amount=cents, payer=buyer
    )
    escrow_release(escrow_id=escrow.pk)


def test_anonymous_is_401_with_the_envelope(api_client):
    response = api_client.get(URL)
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "not_authenticated",
            "message": "Authentication credentials were not provided.",
            "detail": {},
        }
    }


def test_new_user_has_zero_balances_and_bronze_tier(api_client, user):
    api_client.force_authenticate(user)
    body = api_client.get(URL).json()
    assert body == {
        "balances": [_zero("USD"), _zero("AGR")],
        "creator_tier": {
            "tier": "bronze",
            "share_bps": 8000,
            "net_sales": _money(0, "USD"),
            "next_tier": {
                "tier": "silver",
                "share_bps": 8200,
                "threshold": _money(100_000, "USD"),
                "remaining": _money(100_000, "USD"),
            },
        },
    }


def test_balances_equal_what_was_funded_exactly(api_client, user):
    funded_wallet(user=user, amount=123_456, asset="USD")
    funded_wallet(user=user, amount=7, asset="USD")
    api_client.force_authenticate(user)
    usd, agr = api_client.get(URL).json()["balances"]
    assert usd["wallet"] == _money(123_463, "USD")
    assert agr == _zero("AGR")


def test_agr_amounts_beyond_int64_are_exact_strings(api_client, user):
    # 2**64 + 12345 base units (about 18.4 AGR): a float or int64 would drop the last digits.
    amount = 2**64 + 12_345
    funded_wallet(user=user, amount=amount, asset="AGR")
    api_client.force_authenticate(user)
    response = api_client.get(URL)
    assert f'"amount":"{amount}"' in response.content.decode()
    agr = response.json()["balances"][1]
    assert agr["asset"] == "AGR"
    assert agr["wallet"] == {"amount": "18446744073709563961", "asset": "AGR"}


def test_creator_tier_follows_released_sales(api_client, user, other_user):
    _sale(creator=user, buyer=other_user, cents=150_000, reference="order:1")
    api_client.force_authenticate(user)
    body = api_client.get(URL).json()
    # Released at Bronze (the tier before this sale): 80% of the gross to the creator.
    assert body["balances"][0]["creator_payable"] == _money(120_000, "USD")
    assert body["creator_tier"] == {
        "tier": "silver",
        "share_bps": 8200,
        "net_sales": _money(150_000, "USD"),
        "next_tier": {
            "tier": "gold",
            "share_bps": 8500,
            "threshold": _money(1_000_000, "USD"),
            "remaining": _money(850_000, "USD"),
        },
    }


def test_another_users_money_is_not_shown(api_client, user, other_user):
    funded_wallet(user=other_user, amount=5_000)
    api_client.force_authenticate(user)
    body = api_client.get(URL).json()
    assert body["balances"] == [_zero("USD"), _zero("AGR")]
    assert LedgerAccount.objects.filter(owner=other_user).exists()


def test_api_key_with_read_scope_may_read(api_client, user):
    funded_wallet(user=user, amount=250)
    _bearer(api_client, user, ["read"])
    response = api_client.get(URL)
    assert response.status_code == 200
    assert response.json()["balances"][0]["wallet"] == _money(250, "USD")


def test_api_key_without_read_scope_is_403(api_client, user):
    _bearer(api_client, user, ["write", "inference"])
    response = api_client.get(URL)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
