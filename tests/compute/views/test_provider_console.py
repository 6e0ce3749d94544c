"""The provider console (/provider/): sign-in required, an empty state that says how to register a
node, per-node calls served and latency p50/p99 from the request log (the last 24 hours, served
calls only, the provider's own nodes only), the provider payable balance, and the htmx refresh of
the nodes card alone."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from compute.models_gateway import Entitlement, InferenceRequest, Outcome, Via
from compute.selectors.provider_console import percentile_ms
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import ListingFactory
from tests.tokenomics.factories import staked
from tests.tokenomics.payout_factories import funded_payable
from tokenomics.models.ledger import AccountKind

pytestmark = pytest.mark.django_db


def _call(
    provider, node_id: int, latency_us: int, *, outcome: str = Outcome.OK, ago: timedelta = timedelta()
):
    return InferenceRequest.objects.create(
        request_id=uuid.uuid4(),
        user=UserFactory(),
        listing=ListingFactory(),
        entitlement=Entitlement.PREPAID,
        via=Via.API,
        node_id=node_id,
        provider=provider if outcome == Outcome.OK else None,
        outcome=outcome,
        latency_us=latency_us,
        created_at=timezone.now() - ago,
    )


def test_signed_out_visitors_are_sent_to_log_in(client) -> None:
    response = client.get("/provider/")

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_provider_without_calls_sees_how_to_register_a_node(client, user) -> None:
    client.force_login(user)

    response = client.get("/provider/")

    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="nodes-empty"' in body
    assert f"manage.py run_provider --email {user.email}" in body
    assert "/api/v1/nodes" in body
    assert 'data-provider-payable="USD">$0.00' in body


def test_nodes_show_calls_served_and_latency_percentiles(client, user) -> None:
    for latency_ms in range(1, 101):  # 1 ms .. 100 ms on node 7
        _call(user, 7, latency_ms * 1000)
    _call(user, 9, 2_500)
    _call(user, 9, 9_999_000, ago=timedelta(hours=25))  # outside the 24-hour window
    _call(user, 9, 0, outcome=Outcome.FAILED)  # failed calls are not "served"
    _call(UserFactory(), 11, 1_000)  # another provider's node
    funded_payable(user=user, amount=1_234, kind=AccountKind.PROVIDER_PAYABLE)
    client.force_login(user)

    body = client.get("/provider/").content.decode()

    assert 'data-node="7"' in body
    assert 'data-node="9"' in body
    assert 'data-node="11"' not in body
    node_7 = body.split('data-node="7"')[1].split("</tr>")[0]
    assert '<td class="num" data-calls>100</td>' in node_7
    assert "50.0 ms" in node_7
    assert "99.0 ms" in node_7
    node_9 = body.split('data-node="9"')[1].split("</tr>")[0]
    assert '<td class="num" data-calls>1</td>' in node_9
    assert "2.5 ms" in node_9
    assert 'data-provider-payable="USD">$12.34' in body


def test_htmx_polling_gets_the_nodes_card_alone(client, user) -> None:
    _call(user, 7, 3_000)
    client.force_login(user)

    response = client.get("/provider/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="provider-nodes")

    body = response.content.decode()
    assert body.lstrip().startswith('<section id="provider-nodes"')
    assert 'hx-trigger="every 5s"' in body
    assert 'data-node="7"' in body
    assert "Earnings" not in body


def test_percentiles_are_nearest_rank() -> None:
    assert percentile_ms([], 0.5) is None
    assert percentile_ms([4_000], 0.99) == 4.0
    assert percentile_ms([1_000, 2_000, 3_000, 4_000], 0.5) == 2.0
    assert percentile_ms([1_000, 2_000, 3_000, 4_000], 0.99) == 4.0


def test_an_unstaked_provider_is_told_its_nodes_serve_only_the_playground(client, user) -> None:
    client.force_login(user)

    body = client.get("/provider/").content.decode()

    assert "data-stake-tier>None<" in body
    assert "serve only the free playground" in body
    assert 'id="earnings-empty"' in body


def test_stake_tier_and_earnings_by_source(client, user) -> None:
    staked(user=user, tier="silver")
    funded_payable(user=user, amount=1234, kind=AccountKind.PROVIDER_PAYABLE)  # a settled call share
    client.force_login(user)

    body = client.get("/provider/").content.decode()

    assert "data-stake-tier>Silver<" in body
    assert "Gold from" in body  # the next tier and what it takes
    sources = body[body.index('id="earnings-by-source"') :]
    assert "Calls your nodes served" in sources
    assert 'data-earning="USD">$12.34' in sources
    # Staking moved AGR but earned nothing: no AGR earning is listed.
    assert 'data-earning="AGR"' not in sources
