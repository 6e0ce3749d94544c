"""Buying in AGR on a real in-process EVM: the 15% discount, the transfer verified through the
order's endpoint, the money held in escrow; a refund goes back on chain to the paying address."""

from __future__ import annotations

import re

import pytest

from accounts import services as account_services
from marketplace.models import Order, OrderStatus
from marketplace.services.orders import order_create
from tests.marketplace.commerce import on_sale
from tests.tokenomics.chain.conftest import Chain, link, pay
from tokenomics.chain_client import address_of
from tokenomics.models import ChainPayout, Escrow
from tokenomics.money import agr
from tokenomics.selectors.ledger import user_balances
from tokenomics.services.chain_payouts import chain_payouts_process

pytestmark = pytest.mark.django_db


def test_an_agr_purchase_then_a_refund_back_on_chain(api_client, user, chain: Chain, new_key) -> None:
    key = new_key(agr(1_000))
    link(user, key)
    api_key = account_services.api_key_create(user=user, name="t", scopes=["read", "write"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.secret}")
    plan = on_sale(price_cents=4_900)

    created = api_client.post("/api/v1/orders", {"plan": plan.pk, "rail": "agr"}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    # $49.00 = 490 AGR at the reference price, less the 15% AGR discount.
    assert body["list_price"] == {"amount": str(agr(490)), "asset": "AGR"}
    assert body["agr_discount"] == {"amount": str(agr(490) * 15 // 100), "asset": "AGR"}
    assert body["total"] == {"amount": str(agr(4165) // 10), "asset": "AGR"}
    assert body["agr"]["amount"] == body["total"]
    assert body["agr"]["reference"] == f"order:{body['id']}"

    tx_hash = pay(chain, key, agr(4165) // 10)
    paid = api_client.post(f"/api/v1/orders/{body['id']}/agr-payment", {"tx_hash": tx_hash}, format="json")
    assert paid.status_code == 200, paid.json()
    assert paid.json()["status"] == "in_escrow"
    order = Order.objects.get(pk=body["id"])
    assert Escrow.objects.get(pk=order.escrow_id).amount == agr(4165) // 10
    balance_before = chain.client.erc20_balance(token=chain.token, address=address_of(key))

    refunded = api_client.post(f"/api/v1/orders/{body['id']}/refund", {}, format="json")
    assert refunded.status_code == 200, refunded.json()
    assert refunded.json()["status"] == OrderStatus.REFUNDED
    payout = ChainPayout.objects.get(reference=f"refund:order:{order.pk}")
    assert (payout.to_address, payout.amount) == (address_of(key), agr(4165) // 10)
    chain_payouts_process()
    payout.refresh_from_db()
    assert payout.status in (ChainPayout.Status.BROADCAST, ChainPayout.Status.CONFIRMED)
    after = chain.client.erc20_balance(token=chain.token, address=address_of(key))
    assert after - balance_before == agr(4165) // 10
    assert next(b for b in user_balances(user=user) if b.asset == "AGR").wallet == 0


def test_verifying_while_the_chain_node_is_down_is_503_chain_unavailable(
    api_client, user, chain: Chain, settings
) -> None:
    api_key = account_services.api_key_create(user=user, name="t", scopes=["read", "write"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.secret}")
    plan = on_sale(price_cents=4_900)
    order = api_client.post("/api/v1/orders", {"plan": plan.pk, "rail": "agr"}, format="json").json()
    settings.WEB3_PROVIDER_URL = "http://127.0.0.1:9"  # discard port: connection refused
    settings.WEB3_RPC_TIMEOUT_SECONDS = 2
    response = api_client.post(
        f"/api/v1/orders/{order['id']}/agr-payment", {"tx_hash": "0x" + "ab" * 32}, format="json"
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "chain_unavailable"
    assert Order.objects.get(pk=order["id"]).status == OrderStatus.AWAITING_PAYMENT


def test_a_second_agr_order_of_an_owned_license_is_refunded_to_the_wallet_on_arrival(
    api_client, user, chain: Chain, new_key, django_capture_on_commit_callbacks
) -> None:
    key = new_key(agr(1_000))
    link(user, key)
    api_key = account_services.api_key_create(user=user, name="t", scopes=["read", "write"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.secret}")
    plan = on_sale(price_cents=4_900)
    total = agr(4165) // 10
    # Two checkouts opened before either was paid: "you already own this" cannot stop the second.
    ids = [
        api_client.post("/api/v1/orders", {"plan": plan.pk, "rail": "agr"}, format="json").json()["id"]
        for _ in "ab"
    ]

    statuses = []
    for order_id in ids:
        tx_hash = pay(chain, key, total)
        with django_capture_on_commit_callbacks(execute=True):
            paid = api_client.post(
                f"/api/v1/orders/{order_id}/agr-payment", {"tx_hash": tx_hash}, format="json"
            )
        assert paid.status_code == 200, paid.json()
        statuses.append(paid.json()["status"])

    assert statuses == [OrderStatus.IN_ESCROW, OrderStatus.REFUNDED]
    second = Order.objects.get(pk=ids[1])
    assert (second.refunded_amount, second.escrow_id) == (total, None)
    assert Order.objects.get(pk=ids[0]).license.revoked_at is None
    assert not ChainPayout.objects.filter(reference=f"refund:order:{second.pk}").exists()
    assert next(b for b in user_balances(user=user) if b.asset == "AGR").wallet == total  # credit


def test_the_pay_panel_script_gets_json_from_the_order_verification(client, user, chain: Chain) -> None:
    # static/js/pay.js posts the hash as JSON to the order's verify view: refusals come back as the
    # API's error body with the reason code, whose words the panel carries (REASON_TEXT).
    client.force_login(user)
    plan = on_sale(price_cents=4_900)
    order = order_create(buyer=user, plan_id=plan.pk, rail="agr").order
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert 'id="agr-reasons"' in page

    url = re.search(r'data-verify-url="([^"]+)"', page).group(1)
    refused = client.post(url, {"tx_hash": "0x" + "ab" * 32}, content_type="application/json")
    body = refused.json()
    assert (refused.status_code, body["error"]["code"]) == (409, "payment_not_verified")
    assert body["error"]["detail"]["reason"] == "tx_not_found"
    bad = client.post(url, {"tx_hash": "nope"}, content_type="application/json").json()["error"]
    assert (bad["code"], bad["detail"]["reason"]) == ("payment_not_verified", "invalid_tx_hash")
    empty = client.post(url, {}, content_type="application/json")
    assert (empty.status_code, empty.json()["error"]["code"]) == (400, "validation_error")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.AWAITING_PAYMENT
