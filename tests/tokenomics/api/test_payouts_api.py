"""POST /api/v1/payouts and GET /api/v1/payouts[/<id>]: money objects as exact strings, the error
envelope for the payout rules, Idempotency-Key replays, and only one's own payouts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from accounts import services as account_services
from tests.accounts.factories import UserFactory
from tests.tokenomics.payout_factories import balance_of, funded_payable, payout_wallet
from tokenomics.chain_client import checksum
from tokenomics.models import LedgerTransaction, Payout
from tokenomics.models.ledger import AccountKind
from tokenomics.money import agr

pytestmark = pytest.mark.django_db

URL = "/api/v1/payouts"
ADDRESS = checksum("0x" + "cd" * 20)


def _money(amount: int, asset: str = "USD") -> dict[str, str]:
    return {"amount": str(amount), "asset": asset}


def _bearer(api_client, user, scopes=("read", "write")):
    key = account_services.api_key_create(user=user, name="t", scopes=list(scopes))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.secret}")


def test_anonymous_is_401(api_client):
    assert api_client.post(URL, {}, format="json").status_code == 401
    assert api_client.get(URL).status_code == 401


def test_read_scope_cannot_withdraw(api_client, user):
    _bearer(api_client, user, scopes=["read"])
    response = api_client.post(URL, {"amount": _money(1_000)}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_instant_usd_payout_is_201_with_fee_and_net(api_client, user):
    funded_payable(user=user, amount=50_000)
    _bearer(api_client, user)
    response = api_client.post(URL, {"amount": _money(20_000)}, format="json")
    assert response.status_code == 201
    body = response.json()
    payout = Payout.objects.get()
    assert body == {
        "id": payout.pk,
        "reference": payout.reference,
        "status": "processing",
        "account": "creator",
        "rail": "card",
        "instant": True,
        "amount": _money(20_000),
        "fee": _money(300),
        "net": _money(19_700),
        "to_address": "",
        "tx_hash": None,
        "failure_reason": "",
        "created_at": body["created_at"],
        "settled_at": None,
    }
    assert balance_of(user, AccountKind.CREATOR_PAYABLE) == 30_000


def test_agr_payout_from_the_provider_balance_without_fee(api_client, user):
    funded_payable(user=user, amount=agr(500), asset="AGR", kind=AccountKind.PROVIDER_PAYABLE)
    payout_wallet(user=user, address=ADDRESS)
    _bearer(api_client, user)
    response = api_client.post(
        URL,
        {
            "amount": _money(agr(250), "AGR"),
            "account": "provider",
            "instant": False,
            "to_address": ADDRESS.lower(),
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["account"], body["rail"], body["to_address"]) == ("provider", "agr", ADDRESS)
    assert body["amount"] == body["net"] == _money(agr(250), "AGR")
    assert body["fee"] == _money(0, "AGR")
    assert body["tx_hash"] is None  # not signed yet


def test_rules_answer_with_the_error_envelope(api_client, user):
    funded_payable(user=user, amount=5_000)
    _bearer(api_client, user)
    below = api_client.post(URL, {"amount": _money(999)}, format="json")
    assert below.status_code == 400
    assert below.json()["error"] == {
        "code": "validation_error",
        "message": "The smallest payout is $10.00.",
        "detail": {"minimum": _money(1_000)},
    }
    above = api_client.post(URL, {"amount": _money(5_001)}, format="json")
    assert above.status_code == 402
    assert above.json()["error"]["code"] == "insufficient_funds"
    no_wallet = api_client.post(URL, {"amount": _money(agr(200), "AGR")}, format="json")
    assert no_wallet.status_code == 400  # AGR with no address and no linked wallet
    assert no_wallet.json()["error"]["code"] == "payout_destination_not_allowed"
    assert Payout.objects.count() == 0


def test_agr_payouts_name_an_own_wallet_past_its_cooldown(api_client, user):
    """Issue 13 item 2: `to_address` was free text, and AGR under the instant threshold left at once."""
    funded_payable(user=user, amount=agr(500), asset="AGR")
    _bearer(api_client, user)
    body = {"amount": _money(agr(200), "AGR"), "to_address": ADDRESS}
    refused = api_client.post(URL, body, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "payout_destination_not_allowed"

    payout_wallet(user=user, address=ADDRESS, linked_ago=timedelta(hours=1))
    cooling = api_client.post(URL, body, format="json")
    assert cooling.status_code == 409
    error = cooling.json()["error"]
    assert error["code"] == "payout_destination_cooling_down"
    assert set(error["detail"]) == {"to_address", "usable_at"}
    assert Payout.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"amount": {"amount": 1000, "asset": "USD"}},  # a number, not a string
        {"amount": {"amount": "-1000", "asset": "USD"}},
        {"amount": {"amount": "10.00", "asset": "USD"}},
        {"amount": {"amount": "1000", "asset": "EUR"}},
        {"amount": _money(1_000), "instant": "yes"},
        {"amount": _money(1_000), "account": "wallet"},
        {"amount": _money(1_000, "AGR"), "to_address": "0x1234"},
        {},
    ],
)
def test_malformed_bodies_are_400(api_client, user, body):
    _bearer(api_client, user)
    response = api_client.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_idempotency_key_replays_the_first_response_and_moves_nothing(api_client, user):
    funded_payable(user=user, amount=50_000)
    _bearer(api_client, user)
    body = {"amount": _money(10_000)}
    first = api_client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    transactions = LedgerTransaction.objects.count()
    again = api_client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Payout.objects.count() == 1
    assert LedgerTransaction.objects.count() == transactions
    other = api_client.post(URL, {"amount": _money(20_000)}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"


def test_list_and_detail_show_only_ones_own(api_client, user):
    funded_payable(user=user, amount=50_000)
    stranger = UserFactory()
    funded_payable(user=stranger, amount=50_000)
    _bearer(api_client, stranger)
    theirs = api_client.post(URL, {"amount": _money(1_000)}, format="json").json()
    _bearer(api_client, user)
    mine = [api_client.post(URL, {"amount": _money(1_000 + i)}, format="json").json() for i in range(3)]

    page = api_client.get(URL, {"page_size": 2}).json()
    assert page["count"] == 3
    assert [row["id"] for row in page["results"]] == [mine[2]["id"], mine[1]["id"]]
    assert page["next"] is not None
    assert api_client.get(f"{URL}/{mine[0]['id']}").json() == mine[0]

    hidden = api_client.get(f"{URL}/{theirs['id']}")
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "not_found"
