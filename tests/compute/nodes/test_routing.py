"""Routing with failover against stub KServe servers (R1, R2, R3, R5, R6 as routing sees them).

The stubs are real HTTP servers on loopback spoken to through tritonclient, so every failure is a
real refused connection, 5xx, timeout or malformed answer; nothing in routing is mocked.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from compute import node_state
from compute.services import health, routing
from compute.services.routing import NoProviderAvailable, ProviderFailed, route_infer
from compute.tensors import validate_inputs
from tests.compute.nodes.conftest import serving
from tests.compute.stub_kserve import StubNode, closed_port

pytestmark = pytest.mark.django_db

INPUTS = [{"name": "INPUT_1", "datatype": "FP32", "shape": [1, 4], "data": [1.0, 2.0, 3.0, 4.0]}]


def _run(version: Any, deadline_s: float = 5.0) -> routing.RoutedResult:
    return route_infer(version, validate_inputs(version.input_spec, INPUTS), deadline_s=deadline_s)


def _start(stubs: list[StubNode], mode: str = "ok", **kw: Any) -> StubNode:
    stub = StubNode(mode=mode, **kw).start()
    stubs.append(stub)
    return stub


def test_a_call_is_served_with_the_spec_checked_outputs(version, stubs) -> None:
    node = serving(version, _start(stubs).url)
    result = _run(version)
    assert result.node_id == node.pk
    assert result.attempts == 1
    assert result.outputs == [
        {"name": "OUTPUT_1", "datatype": "FP32", "shape": [1, 4], "data": [1.0, 2.0, 3.0, 4.0]}
    ]


def test_r1_one_faulty_node_of_three_costs_no_call(version, stubs) -> None:
    good = [serving(version, _start(stubs).url) for _ in range(2)]
    bad_stub = _start(stubs, "error")
    serving(version, bad_stub.url)
    calls = 600  # benchmarks/gateway.py runs the 10,000 of R1
    served = []
    for n in range(calls):
        if n % 100 == 0:
            health.nodes_probe_all()  # what beat does every 10 s; the 503 node passes its probe
        served.append(_run(version))
    # Every call succeeded, on a good node: failures were retried elsewhere.
    assert len(served) == calls
    assert all(r.outputs[0]["data"] == [1.0, 2.0, 3.0, 4.0] for r in served)
    assert {r.node_id for r in served} <= {n.pk for n in good}
    # Passive ejection took the faulty node out after its first failures: it saw only a handful
    # (a few more each time its cool-down ended and a probe let it back).
    assert bad_stub.infer_calls <= 20, bad_stub.infer_calls
    assert sum(r.attempts for r in served) - calls == bad_stub.infer_calls


def test_r1_a_node_failing_readiness_gets_no_call(version, stubs) -> None:
    serving(version, _start(stubs).url)
    not_ready_stub = _start(stubs, "not_ready")
    serving(version, not_ready_stub.url)
    health.nodes_probe_all()
    for _ in range(200):
        _run(version)
    assert not_ready_stub.infer_calls == 0


@pytest.mark.parametrize("mode", ["error", "malformed", "refused", "hang"])
def test_each_provider_fault_fails_over_to_another_node(version, stubs, mode: str) -> None:
    url = f"http://127.0.0.1:{closed_port()}" if mode == "refused" else _start(stubs, mode).url
    faulty = serving(version, url)
    healthy = serving(version, _start(stubs).url)
    # Make the faulty node look fastest, so power of two choices tries it first.
    routing._ewma_ms[faulty.pk], routing._ewma_ms[healthy.pk] = 0.1, 1_000.0
    result = _run(version, deadline_s=2.0)
    assert result.node_id == healthy.pk
    assert result.attempts == 2


def test_a_4xx_is_never_retried(version, stubs) -> None:
    refusing = _start(stubs, "bad_input")
    first = serving(version, refusing.url)
    other = _start(stubs)
    second = serving(version, other.url)
    routing._ewma_ms[first.pk], routing._ewma_ms[second.pk] = 0.1, 1_000.0
    with pytest.raises(ProviderFailed) as excinfo:
        _run(version)
    assert excinfo.value.attempts == 1
    assert (refusing.infer_calls, other.infer_calls) == (1, 0)


def test_at_most_two_retries_then_provider_failed(version, stubs) -> None:
    stubs_bad = [_start(stubs, "error") for _ in range(4)]
    for stub in stubs_bad:
        serving(version, stub.url)
    with pytest.raises(ProviderFailed) as excinfo:
        _run(version)
    assert excinfo.value.attempts == 3
    assert sum(s.infer_calls for s in stubs_bad) == 3


def test_the_deadline_bounds_the_whole_call(version, stubs) -> None:
    for _ in range(3):
        serving(version, _start(stubs, "hang").url)
    with pytest.raises(ProviderFailed):
        _run(version, deadline_s=1.0)


def test_no_node_is_503_material(version) -> None:
    with pytest.raises(NoProviderAvailable):
        _run(version)


def test_a_stale_probe_counts_as_unhealthy(version, stubs) -> None:
    from datetime import timedelta

    from django.utils import timezone

    node = serving(version, _start(stubs).url)
    node.last_probe_at = timezone.now() - timedelta(seconds=routing.STALE_AFTER_SECONDS + 1)
    node.save()
    routing.candidates_forget()
    with pytest.raises(NoProviderAvailable):
        _run(version)


def test_ejection_keeps_half_the_pool_and_returns_after_cooldown_and_a_probe(version, stubs) -> None:
    a, b = serving(version, _start(stubs).url), serving(version, _start(stubs).url)
    now = 1_000_000.0
    assert node_state.eject(a.pk, pool=[a.pk, b.pk], now=now)
    # The second of two may not go: at most half of a model's pool is out at once.
    assert not node_state.eject(b.pk, pool=[a.pk, b.pk], now=now)
    until = node_state.ejected_until(a.pk)
    assert until == now + node_state.COOLDOWN_BASE_SECONDS
    assert not node_state.readmit_if_due(a.pk, probe_ok=True, now=until - 1)  # cool-down not over
    assert not node_state.readmit_if_due(a.pk, probe_ok=False, now=until + 1)  # probe failed
    assert node_state.readmit_if_due(a.pk, probe_ok=True, now=until + 1)
    # A second ejection lasts twice as long.
    assert node_state.eject(a.pk, pool=[a.pk, b.pk], now=now)
    assert node_state.ejected_until(a.pk) == now + 2 * node_state.COOLDOWN_BASE_SECONDS


def test_the_probe_writes_minutes_uptime_and_latency(version, stubs) -> None:
    node = serving(version, _start(stubs).url)
    for _ in range(20):
        _run(version)
    import time as clock

    node_state_minute = int(clock.time() // 60) * 60
    drained = node_state.minutes_drain(node.pk, before=node_state_minute + 60)
    assert sum(v.get("ok", 0) for v in drained.values()) == 20
    assert np.isfinite(sum(sum(v.values()) for v in drained.values()))


def test_the_public_provider_page_shows_uptime_latency_and_nodes(version, stubs, client) -> None:
    node = serving(version, _start(stubs).url)
    for _ in range(5):
        _run(version)
    health.nodes_probe_all()
    # The probe's minute and the calls' minute are stored; read them back as the page does.
    import time as clock

    node_state.minutes_drain(node.pk, before=clock.time() + 60)
    page = client.get(f"/providers/{node.provider_id}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-node="{node.pk}"' in html
    assert "Healthy" in html
    assert "data-uptime-24h>100%" in html
    assert client.get("/providers/999999/").status_code == 404


def test_r2_three_failures_in_a_row_take_a_node_out_by_the_next_request(version, stubs) -> None:
    good = [serving(version, _start(stubs).url) for _ in range(3)]
    bad_stub = _start(stubs, "error")
    bad = serving(version, bad_stub.url)
    routing._ewma_ms[bad.pk] = 0.1  # the faulty node looks fastest: picked whenever it is drawn
    for node in good:
        routing._ewma_ms[node.pk] = 50.0
    for _ in range(300):
        assert _run(version).node_id != bad.pk
        if bad_stub.infer_calls == node_state.CONSECUTIVE_FAILURES:
            break
    assert bad_stub.infer_calls == node_state.CONSECUTIVE_FAILURES
    assert node_state.ejected([bad.pk]) == {bad.pk}
    for _ in range(100):  # out from the very next request on, in every process (Redis)
        assert _run(version).attempts == 1
    assert bad_stub.infer_calls == node_state.CONSECUTIVE_FAILURES


def test_r2_half_of_a_minutes_calls_failing_calls_for_ejection_and_older_calls_do_not_count(version) -> None:
    now = 1_000_000.0
    node_id = 424242
    # Alternating: never 3 failures in a row, but at the 6th call half of the minute's calls failed.
    verdicts = [node_state.record(node_id, ok=n % 2 == 0, latency_ms=5.0, now=now + n) for n in range(6)]
    assert verdicts == [False] * 5 + [True]
    # A minute later those calls are out of the window: one failure among none is not 50% of 6.
    other = 434343
    for n in range(5):
        node_state.record(other, ok=n % 2 == 0, latency_ms=5.0, now=now + n)
    assert (
        node_state.record(other, ok=False, latency_ms=None, now=now + node_state.WINDOW_SECONDS + 20) is False
    )


def test_r5_probes_every_10_s_and_a_probe_times_out_before_a_call_would(version, stubs) -> None:
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from config.celery import app

    schedule = {entry["task"]: float(entry["schedule"]) for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["compute.probe_nodes"] <= 10.0
    app.loader.import_default_modules()  # what a worker does at start: autodiscovery
    assert "compute.probe_nodes" in app.tasks
    assert routing.STALE_AFTER_SECONDS == 3 * routing.PROBE_PERIOD_SECONDS
    # A probe must give up before a call's first attempt would (half of the end-to-end deadline).
    assert routing.deadline_seconds() / 2 > health.PROBE_TIMEOUT_S
    assert health.PROBE_TIMEOUT_S < routing.PROBE_PERIOD_SECONDS
    # Within 3 periods a node is a candidate; past them, not.
    node = serving(version, _start(stubs).url)
    node.last_probe_at = timezone.now() - timedelta(seconds=routing.STALE_AFTER_SECONDS - 2)
    node.save()
    routing.candidates_forget()
    assert _run(version).node_id == node.pk


def test_r1_each_fault_in_turn_on_one_node_of_three_costs_no_call(version, stubs) -> None:
    """R1 in small (benchmarks/gateway.py runs the 10,000): one node of three faulty, the fault
    changing in turn, and the faulty node changing too; >= 99.9% of calls served (here: all of
    them), and the node failing readiness gets no call."""
    from compute.models import Node

    nodes_stubs = [_start(stubs) for _ in range(3)]
    nodes = [serving(version, stub.url) for stub in nodes_stubs]
    faults = ["refused", "error", "hang", "slow", "malformed", "not_ready"]
    served = failed = 0
    calls_per_turn = 25
    for turn, fault in enumerate(faults):
        faulty = turn % 3
        for index, (stub, node) in enumerate(zip(nodes_stubs, nodes, strict=True)):
            stub.mode = fault if index == faulty and fault != "refused" else "ok"
            stub.delay_s = 0.3
            Node.objects.filter(pk=node.pk).update(triton_url=stub.url)
        health.nodes_probe_all()
        if fault == "refused":  # the port closes after the probe passed
            Node.objects.filter(pk=nodes[faulty].pk).update(triton_url=f"http://127.0.0.1:{closed_port()}")
            routing.candidates_forget()
        before = nodes_stubs[faulty].infer_calls
        for _ in range(calls_per_turn):
            try:
                result = _run(version, deadline_s=2.0)
            except ProviderFailed:
                failed += 1
                continue
            served += 1
            assert result.outputs[0]["data"] == [1.0, 2.0, 3.0, 4.0]
        if fault == "not_ready":
            assert nodes_stubs[faulty].infer_calls == before  # 0 calls to a node failing readiness
    assert served / (served + failed) >= 0.999
    assert served == calls_per_turn * len(faults)
