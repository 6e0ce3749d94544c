"""SLA slashing with real routing: a timeout the gateway's own deadline caused is not the node's
failure and never counts against its provider; a timeout the node caused does. And G6 with
routing on PostgreSQL: SLA slashes racing unstakes and payouts conserve value."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from compute import node_state
from compute.models import Node, NodeMinute, NodeVersion
from compute.services import health, routing
from compute.services.routing import ProviderFailed, route_infer
from compute.services.sla import provider_sla_evaluate
from compute.tensors import validate_inputs
from tests.compute.sla.conftest import DAY_END, node_of, record_day, staked_provider
from tests.compute.stub_kserve import MODEL, StubNode
from tests.marketplace.factories import VersionFactory
from tests.tokenomics.concurrency.threads import race
from tests.tokenomics.payout_factories import funded_payable
from tokenomics.errors import InsufficientFunds, InvalidState
from tokenomics.models import LedgerAccount, Payout, Slash
from tokenomics.models.ledger import AccountKind, Asset
from tokenomics.money import agr
from tokenomics.selectors.ledger import ledger_verify, system_balance
from tokenomics.services.payouts import payout_request
from tokenomics.services.staking import unstake_start

INPUTS = [{"name": "INPUT_1", "datatype": "FP32", "shape": [1, 4], "data": [1.0, 2.0, 3.0, 4.0]}]


@pytest.fixture
def _fresh_routing() -> Iterator[None]:
    cache.clear()
    node_state.reset_for_tests()
    routing.candidates_forget()
    routing._ewma_ms.clear()
    yield
    routing.candidates_forget()
    routing._ewma_ms.clear()


def _serving(version: Any, stub: StubNode, provider: Any) -> Node:
    node = Node.objects.create(
        provider=provider,
        name=f"hang-{provider.pk}",
        triton_url=stub.url,
        healthy=True,
        last_probe_at=timezone.now(),
        advertised_latency_ms=50,
    )
    NodeVersion.objects.create(node=node, version=version, model_name=MODEL, ready=True)
    return node


@pytest.mark.django_db
@pytest.mark.usefixtures("_fresh_routing")
def test_a_timeout_our_deadline_caused_never_counts_against_the_provider() -> None:
    version = VersionFactory()
    first_owner, second_owner = staked_provider(), staked_provider()
    first_stub = StubNode(mode="hang").start()
    second_stub = StubNode(mode="hang").start()
    try:
        first = _serving(version, first_stub, first_owner)
        second = _serving(version, second_stub, second_owner)
        end = timezone.now().replace(second=0, microsecond=0) + timedelta(hours=1)
        for node in (first, second):
            record_day(node, end=end, probes=10, probes_ok=10)
        routing._ewma_ms[first.pk], routing._ewma_ms[second.pk] = 0.1, 1_000.0  # first is tried first

        # The first node hangs through its full share of the deadline (its fault); the second
        # gets only what the deadline has left, less than a full share (ours).
        with pytest.raises(ProviderFailed):
            route_infer(version, validate_inputs(version.input_spec, INPUTS), deadline_s=0.6)
    finally:
        first_stub.stop()
        second_stub.stop()

    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        health._drain_calls(first.pk)
        health._drain_calls(second.pk)
    failed = dict(
        NodeMinute.objects.filter(node__in=[first, second], calls_failed__gt=0).values_list(
            "node_id", "calls_failed"
        )
    )
    assert failed == {first.pk: 1}

    # 10 probes passed and one call failed by the node: 10 / 11 is under 95%.
    slash = provider_sla_evaluate(provider=first_owner, end=end)
    assert slash is not None
    assert slash.evidence["availability"] == {"ok": 10, "total": 11, "min_bps": 9500}
    assert provider_sla_evaluate(provider=second_owner, end=end) is None
    assert not Slash.objects.filter(user=second_owner).exists()


def _agr(user: Any, kind: str) -> int:
    row = LedgerAccount.objects.filter(owner=user, kind=kind, asset=Asset.AGR).first()
    return int(row.balance) if row else 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_g6_sla_slashes_racing_unstakes_and_payouts_conserve_value() -> None:
    providers = [staked_provider(stake_whole=150_000, wallet_whole=200_000) for _ in range(3)]
    for provider in providers:
        funded_payable(user=provider, amount=9_000, kind=AccountKind.PROVIDER_PAYABLE)
        node = node_of(provider)
        for day in range(3):
            record_day(node, end=DAY_END + timedelta(days=day), probes=100, probes_ok=80)
    burned_before = system_balance(kind=AccountKind.BURN, asset=Asset.AGR)
    plan = [
        (provider, action, n)
        for n in range(3)
        for provider in providers
        for action in ("slash", "unstake", "payout")
    ]

    def call(index: int) -> object:
        provider, action, n = plan[index]
        if action == "slash":
            return provider_sla_evaluate(provider=provider, end=DAY_END + timedelta(days=n))
        if action == "unstake":
            return unstake_start(user=provider, amount=agr(40_000), idempotency_key=f"u{n}")
        return payout_request(
            user=provider,
            asset="USD",
            amount=2_500,
            account_kind=AccountKind.PROVIDER_PAYABLE,
            reference=f"race-{provider.pk}-{n}",
        )

    outcomes = race(len(plan), call)
    allowed = (InsufficientFunds, InvalidState)
    assert all(o.ok or isinstance(o.error, allowed) for o in outcomes), [o for o in outcomes if not o.ok]

    burned = system_balance(kind=AccountKind.BURN, asset=Asset.AGR) - burned_before
    held = sum(
        _agr(p, AccountKind.WALLET) + _agr(p, AccountKind.STAKE) + _agr(p, AccountKind.UNBONDING)
        for p in providers
    )
    assert held + burned == 3 * agr(200_000)  # AGR: nothing created, nothing lost
    assert burned == sum(s.total for s in Slash.objects.filter(user__in=providers))
    assert Slash.objects.filter(user__in=providers).count() == 9  # each day judged once, each slashed
    for provider in providers:
        payable = LedgerAccount.objects.get(
            owner=provider, kind=AccountKind.PROVIDER_PAYABLE, asset=Asset.USD
        )
        paid = sum(int(p.amount) for p in Payout.objects.filter(user=provider))
        assert int(payable.balance) + paid == 9_000  # USD: every cent is payable or paid out
        assert int(payable.balance) >= 0
    assert not LedgerAccount.objects.filter(kind__in=["stake", "unbonding"], balance__lt=0).exists()
    report = ledger_verify()
    assert report.ok, report
