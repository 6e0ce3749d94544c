"""R4, money under faults (notes/RELIABILITY-ANCHORS.md): buyers call through the real gateway and
router to three stub KServe nodes while the nodes fail in turn (503, malformed outputs, a refused
port, a model not ready, then all of them at once) and the settlement task dies twice midway: once
raising inside a batch after its first posting, once as a separate worker process killed with
SIGKILL after its first posting. After a rerun, the join of what the callers were answered, the
request log and the ledger shows 0 double charges, 0 double provider credits and 0 lost calls, and
`ledger_check` passes.

PostgreSQL + Redis, real threads (each closes its database connection after every call), every
wait bounded; a few hundred calls, so it finishes in seconds.
"""

from __future__ import annotations

import random
import signal
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection

from compute import meter_store
from compute.billing import carry_settle
from compute.models import Node, NodeVersion
from compute.models_gateway import (
    CarryPart,
    Entitlement,
    InferenceRequest,
    MeteringCarry,
    Outcome,
    SettlementBatch,
)
from compute.services import health, routing, settlement
from compute.services.gateway import VIA_API, GatewayError, inference_run
from compute.services.metering import reservations_release
from compute.services.settlement import metering_settle, settle_batch
from marketplace.models import Subscription
from marketplace.models.catalog import ModelSize
from tests import subprocesses
from tests.accounts.factories import UserFactory
from tests.compute.gateway.conftest import active_subscription, per_inference_plan, subscription_plan
from tests.compute.nodes.conftest import _fresh_routing_state  # noqa: F401 - autouse here too
from tests.compute.stub_kserve import MODEL, SPEC_IN, SPEC_OUT, StubNode, closed_port
from tests.marketplace.factories import ListingFactory, VersionFactory
from tests.tokenomics.factories import funded_wallet, staked
from tests.tokenomics.payout_factories import parameter_override
from tokenomics.models import LedgerEntry, LedgerTransaction
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.selectors.ledger import ledger_verify
from tokenomics.selectors.rates import compute_rates
from tokenomics.services.ledger_accounts import user_account_get_or_create
from tokenomics.splits import split_compute

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CALL_TIMEOUT_S = 30  # one call is bounded by the gateway's deadline; this bounds the test's wait
KILL_WAIT_S = 60
THREADS = 4
CALLS_PER_ROUND = 24
FUNDS_CENTS = 50_000


@dataclass(frozen=True)
class Answer:
    """What one caller was answered: the client's side of the join."""

    request_id: str | None
    status: int
    charge_micro: int
    buyer_id: int
    listing_id: int
    entitlement: str


@pytest.fixture
def stubs() -> Iterator[list[StubNode]]:
    started = [StubNode().start() for _ in range(3)]
    yield started
    for stub in started:
        stub.stop()


def _call(buyer: Any, listing: Any, entitlement: str) -> Answer:
    body = {
        "inputs": [{"name": "INPUT_1", "datatype": "FP32", "shape": [1, 4], "data": [1.0, 2.0, 3.0, 4.0]}]
    }
    try:
        try:
            result = inference_run(user=buyer, listing_slug=listing.slug, body=body, via=VIA_API)
        except GatewayError as exc:
            rid = (exc.detail or {}).get("request_id")
            return Answer(rid, exc.status_code, 0, buyer.pk, listing.pk, entitlement)
        assert result.outputs[0]["data"] == [1.0, 2.0, 3.0, 4.0]  # never a malformed output
        return Answer(result.request_id, 200, result.charge_micro, buyer.pk, listing.pk, result.entitlement)
    finally:
        connection.close()  # a worker thread's connection must not outlive its call


def _round(pool: ThreadPoolExecutor, callers: list[tuple[Any, Any, str]], rng: random.Random) -> list[Answer]:
    picks = [rng.choice(callers) for _ in range(CALLS_PER_ROUND)]
    futures = [pool.submit(_call, *pick) for pick in picks]
    return [future.result(timeout=CALL_TIMEOUT_S) for future in futures]


def _set_faults(stubs: list[StubNode], nodes: list[Node], modes: list[str]) -> None:
    """Put each node in `modes` (stub modes, or "refused": after the probe passed, the node's port
    closes) and probe, as beat does every 10 s."""
    for stub, node, mode in zip(stubs, nodes, modes, strict=True):
        Node.objects.filter(pk=node.pk).update(triton_url=stub.url)
        stub.mode = "ok" if mode == "refused" else mode
    health.nodes_probe_all()
    for node, mode in zip(nodes, modes, strict=True):
        if mode == "refused":
            Node.objects.filter(pk=node.pk).update(triton_url=f"http://127.0.0.1:{closed_port()}")
    routing.candidates_forget()


class Killed(Exception):
    pass


def _settle_raising_after_first_posting(monkeypatch: pytest.MonkeyPatch) -> None:
    real_post = settlement.transaction_post
    posted: list[str] = []

    def dies_after_first_posting(**kwargs: Any) -> Any:
        if posted:
            raise Killed
        posted.append(kwargs["idempotency_key"])
        return real_post(**kwargs)

    monkeypatch.setattr(settlement, "transaction_post", dies_after_first_posting)
    try:
        while settlement.log_drain():
            pass
        batches_before = SettlementBatch.objects.count()
        with pytest.raises(Killed):
            settle_batch(limit=12)
        assert posted, "the batch never reached its postings"
        assert SettlementBatch.objects.count() == batches_before  # the batch rolled back whole
        assert not LedgerTransaction.objects.filter(idempotency_key=posted[0]).exists()
    finally:
        monkeypatch.setattr(settlement, "transaction_post", real_post)


def _settle_in_a_worker_killed_midway(tmp_path: Path) -> None:
    marker, log = tmp_path / "posted", tmp_path / "settle.log"
    batches_before = SettlementBatch.objects.count()
    worker = subprocesses.start(
        [sys.executable, "-m", "tests.compute.gateway.settle_until_killed", str(marker)],
        log=log,
        env=subprocesses.child_env(DJANGO_SETTINGS_MODULE="config.django.test"),
    )
    try:
        subprocesses.wait_for(
            marker.exists, timeout=KILL_WAIT_S, process=worker, log=log, what="first posting of the batch"
        )
        key = marker.read_text()
    finally:
        worker.kill()  # SIGKILL: no clean-up of any kind runs in the worker
        worker.wait(timeout=KILL_WAIT_S)
    assert worker.returncode == -signal.SIGKILL
    # PostgreSQL rolled the killed worker's transaction back: its posting and batch are gone.
    assert not LedgerTransaction.objects.filter(idempotency_key=key).exists()
    assert SettlementBatch.objects.count() == batches_before


def _replay(batches: list[SettlementBatch]) -> tuple[dict[int, dict[str, Any]], dict[tuple, int]]:
    """What each batch's postings must be, replayed from the request log alone: per batch and
    (buyer, listing), the hold's debit and each provider's credit; and the carries left."""
    carries: dict[tuple[int, int, str, int], int] = defaultdict(int)
    rates = compute_rates(staking_tier=None)
    expected: dict[int, dict[str, Any]] = {}
    for batch in batches:
        creator: dict[tuple[int, int], int] = defaultdict(int)
        fees: dict[tuple[int, int], dict[int, int]] = defaultdict(lambda: defaultdict(int))
        creators: dict[int, int] = {}
        for row in InferenceRequest.objects.filter(settlement=batch).select_related("listing"):
            creator[(row.user_id, row.listing_id)] += row.creator_price_micro
            creators[row.listing_id] = row.listing.creator_id
            if row.compute_fee_micro:
                fees[(row.user_id, row.listing_id)][row.provider_id] += row.compute_fee_micro
        postings: dict[tuple[int, int], dict[str, Any]] = {}
        for (user_id, listing_id), amount in creator.items():
            key = (user_id, listing_id, CarryPart.CREATOR, creators[listing_id])
            total, carries[key] = carry_settle(carry_micro=carries[key], amount_micro=amount)
            providers: dict[int, int] = {}
            for provider_id, fee in fees[(user_id, listing_id)].items():
                fee_key = (user_id, listing_id, CarryPart.COMPUTE, provider_id)
                cents, carries[fee_key] = carry_settle(carry_micro=carries[fee_key], amount_micro=fee)
                total += cents
                credit = split_compute(fee=cents, rates=rates).provider
                if credit:
                    providers[provider_id] = credit
            if total:
                postings[(user_id, listing_id)] = {"hold": -total, "providers": providers}
        expected[batch.pk] = postings
    return expected, carries


def test_r4_no_double_charge_no_double_credit_no_lost_call_under_faults_and_killed_settlement(
    stubs: list[StubNode], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert django_settings.CACHES["default"]["BACKEND"].endswith("RedisCache"), "R4 needs Redis"
    rng = random.Random(4)
    # 7,330 micro-USD of compute fee a call (x10 for a large model): whole cents reach the providers
    # within a few calls, with sub-cent rests carried between batches.
    parameter_override("compute.base_rate_micro_usd", 733)
    # Staked at Bronze: only staked providers' nodes take paid traffic.
    providers = [staked(user=UserFactory()) for _ in stubs]
    versions = []
    listings = []
    for name in ("r4-a", "r4-b"):
        listing = ListingFactory(slug=name, size=ModelSize.LARGE)
        version = VersionFactory(
            listing=listing,
            version="1.0.0",
            triton_model_name=MODEL,
            input_spec=[SPEC_IN],
            output_spec=[SPEC_OUT],
        )
        per_inference_plan(listing, price_per_1000_cents=3_333)  # 33,330 micro-USD: sub-cent rests
        listings.append(listing)
        versions.append(version)
    nodes = []
    for stub, provider in zip(stubs, providers, strict=True):
        node = Node.objects.create(
            provider=provider, name=stub.url, triton_url=stub.url, advertised_latency_ms=50
        )
        for version in versions:
            NodeVersion.objects.create(node=node, version=version, model_name=MODEL, ready=True)
        nodes.append(node)
    buyers = [UserFactory() for _ in range(3)]
    for buyer in buyers:
        funded_wallet(user=buyer, amount=FUNDS_CENTS)
    subscriber = UserFactory()
    sub = active_subscription(buyer=subscriber, plan=subscription_plan(listings[0], quota=1_000))
    callers = [(b, listing, Entitlement.PREPAID) for b in buyers for listing in listings]
    callers.append((subscriber, listings[0], Entitlement.SUBSCRIPTION))

    answers: list[Answer] = []
    not_ready_calls = 0
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        # One node of three faulty, in turn, each fault a different one.
        for modes in (["error", "ok", "ok"], ["ok", "malformed", "ok"], ["ok", "ok", "refused"]):
            _set_faults(stubs, nodes, modes)
            answers += _round(pool, callers, rng)
        # The settlement task dies inside a batch, after its first posting.
        _settle_raising_after_first_posting(monkeypatch)
        _set_faults(stubs, nodes, ["not_ready", "ok", "ok"])
        before = stubs[0].infer_calls
        answers += _round(pool, callers, rng)
        not_ready_calls += stubs[0].infer_calls - before
        # Every node failing at once: these calls fail, and must cost nothing.
        _set_faults(stubs, nodes, ["error", "error", "malformed"])
        answers += _round(pool, callers, rng)
        # A settlement worker process is killed (SIGKILL) midway through a batch.
        _settle_in_a_worker_killed_midway(tmp_path)
        _set_faults(stubs, nodes, ["ok", "error", "ok"])
        answers += _round(pool, callers, rng)
    # The rerun, twice: the second moves nothing.
    first = metering_settle()
    second = metering_settle()
    assert first["calls"] > 0
    assert (second["stored"], second["batches"]) == (0, 0)
    assert meter_store.log_length() == 0

    # --- The callers' side: every call was answered once, with a request id, and nothing else.
    statuses = Counter(answer.status for answer in answers)
    assert set(statuses) <= {200, 502}, statuses
    # R1 in small: every round with a node of three faulty served every call; the round with every
    # node failing failed every call (502), and those must cost nothing.
    assert statuses == {200: 5 * CALLS_PER_ROUND, 502: CALLS_PER_ROUND}
    assert not_ready_calls == 0  # R1: no call reached the node failing readiness
    assert all(answer.request_id for answer in answers)
    by_id = {answer.request_id: answer for answer in answers}
    assert len(by_id) == len(answers)

    # --- The request log: 0 lost calls, 0 phantom calls, each stored once with its outcome.
    rows = {str(row.request_id): row for row in InferenceRequest.objects.all()}
    assert set(rows) == set(by_id)  # 0 lost, 0 invented
    for rid, answer in by_id.items():
        row = rows[rid]
        assert (row.user_id, row.listing_id) == (answer.buyer_id, answer.listing_id)
        if answer.status == 200:
            assert row.outcome == Outcome.OK
            assert row.entitlement == answer.entitlement
            if row.entitlement == Entitlement.PREPAID:
                assert row.charge_micro == answer.charge_micro > 0
                assert row.settlement_id is not None  # settled, once (one column)
            else:
                assert answer.charge_micro == 0
                assert row.settlement_id is None
        else:
            assert (row.outcome, row.charge_micro, row.settlement_id) == (Outcome.FAILED, 0, None)

    # --- The ledger joined to the log: every posting is its batch's, and exactly what the log owes.
    batches = list(SettlementBatch.objects.order_by("pk"))
    expected, carries = _replay(batches)
    postings = LedgerTransaction.objects.filter(kind=TransactionKind.INFERENCE)
    by_batch: dict[int, list[LedgerTransaction]] = defaultdict(list)
    for posting in postings:
        by_batch[int(posting.reference.removeprefix("inference-batch:"))].append(posting)
    assert set(by_batch) <= {batch.pk for batch in batches}  # no posting of a rolled-back batch
    for batch in batches:
        got: dict[tuple[int, int], dict[str, Any]] = {}
        for posting in by_batch[batch.pk]:
            entries = list(posting.entries.select_related("account"))
            assert sum(entry.amount for entry in entries) == 0
            (hold,) = [e for e in entries if e.account.kind == AccountKind.METERING_HOLD]
            listing_id = int(posting.idempotency_key.rsplit(":", 1)[1])
            group = (hold.account.owner_id, listing_id)
            assert group not in got  # one posting per (buyer, listing) and batch: no double charge
            got[group] = {
                "hold": hold.amount,
                "providers": {
                    e.account.owner_id: e.amount
                    for e in entries
                    if e.account.kind == AccountKind.PROVIDER_PAYABLE
                },
            }
        assert got == expected[batch.pk], f"batch {batch.pk}"
    stored_carries = {
        (c.user_id, c.listing_id, c.part, c.payee_id): c.carry_micro for c in MeteringCarry.objects.all()
    }
    assert {k: v for k, v in stored_carries.items() if v} == {k: v for k, v in carries.items() if v}

    # 0 double charges: each buyer's hold paid exactly floor(what they consumed) per pair.
    for buyer in buyers:
        billed = -sum(
            e.amount
            for e in LedgerEntry.objects.filter(
                transaction__kind=TransactionKind.INFERENCE,
                account__owner=buyer,
                account__kind=AccountKind.METERING_HOLD,
            )
        )
        consumed = sum(
            r.charge_micro for r in rows.values() if r.user_id == buyer.pk and r.outcome == Outcome.OK
        )
        owed = sum(v for k, v in carries.items() if k[0] == buyer.pk)
        assert billed * 10_000 + owed == consumed
        # Failed calls gave their draw back: what the hold has is the reservation left plus the rests.
        hold = user_account_get_or_create(user=buyer, kind=AccountKind.METERING_HOLD, asset="USD")
        wallet = user_account_get_or_create(user=buyer, kind=AccountKind.WALLET, asset="USD")
        hold.refresh_from_db()
        assert hold.balance * 10_000 == (meter_store.credit_left(buyer.pk) or 0) + owed
        assert wallet.balance + hold.balance + billed == FUNDS_CENTS
    # 0 double provider credits: each provider's payable is the sum of its expected credits.
    paid: list[int] = []
    for provider in providers:
        credited = user_account_get_or_create(user=provider, kind=AccountKind.PROVIDER_PAYABLE, asset="USD")
        credited.refresh_from_db()
        assert credited.balance == sum(
            p["providers"].get(provider.pk, 0) for batch in expected.values() for p in batch.values()
        )
        paid.append(credited.balance)
    # The rounds spread the work: a node faulty in one round sends its calls to the others, so
    # several providers served. (Whether each one's fees reached a whole cent yet is chance: a
    # provider with a few calls may hold only a carried rest, which the carries check above covers.)
    served_by = {row.provider_id for row in rows.values() if row.outcome == Outcome.OK}
    assert len(served_by) >= 2, served_by
    assert sum(paid) > 0
    # Subscription calls: counted against the quota once each, never billed per call.
    served_sub = sum(
        1 for r in rows.values() if r.entitlement == Entitlement.SUBSCRIPTION and r.outcome == Outcome.OK
    )
    assert Subscription.objects.get(pk=sub.pk).quota_used == served_sub > 0

    # Unused reservations go back; the ledger holds.
    assert reservations_release() > 0
    assert ledger_verify().ok
    call_command("ledger_check")
