"""The inference gateway as deployed against a direct tritonclient call to the same Triton.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/agora_bench REDIS_URL=redis://127.0.0.1:6379/5 \
        .venv/bin/python benchmarks/gateway.py [--calls 2000] [--rss-calls 10000] [--workers 4] [--port 19310]

What runs (issue 17, "How it is checked"): a real PyTriton server with the demo models (`python -m
compute.demo_models.server`, as the test fixture starts it); the site under gunicorn with
`--workers` workers of config/gunicorn.conf.py (gthread, keep-alive; not runserver), PostgreSQL and
Redis, DEBUG off, every check of the hot path on (API key with the `inference` scope, entitlement on
a subscription quota counted in Redis, the per-tier rate limit, input validation against the tensor
spec, routing, output validation, metering to the request-log stream, Prometheus counters). The node
is registered the way a provider does it, with `POST /api/v1/nodes` and the provider's API key.

Measured in the same run, each at 1 and 8 concurrent clients (threads, one keep-alive connection
each) on the `identity_fp32` model (FP32 [1, 4] in and out):
- direct: `tritonclient.http.InferenceServerClient.infer` to Triton;
- gateway: `POST /api/v1/inference/{slug}` with the same tensor.
It prints p50 and p99 latency, requests per second and the ratios (added p50 at 1 client, gateway
throughput / direct at 8 clients), then each gunicorn worker's RSS before and after `--rss-calls`
more gateway calls (flat means no per-call growth). Figures only; nothing here is asserted by the
test suite. Targets from the issue, printed as met or missed: added p50 <= 1.5 ms at 1 client,
gateway >= 0.5x direct throughput at 8 clients, worker RSS flat (< 5 MiB growth) over 10,000 calls.

The database name must contain "bench": the script creates its own users, listing and node and
leaves them (it never empties tables), but it is not a database to point at real data.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from support import percentile, setup_django

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/agora_bench"
MODEL = "identity_fp32"
TENSOR = {"name": "INPUT_1", "datatype": "FP32", "shape": [1, 4], "data": [0.1, 0.2, 0.3, 0.4]}


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes used so far (their threads included)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / ticks


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _run(clients: int, calls: int, make_call: Callable[[], Callable[[], None]]) -> tuple[list[float], float]:
    """`calls` calls spread over `clients` threads (each with its own connection from
    `make_call`); the per-call latencies (s) and the wall time."""
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = calls // clients
    errors: list[BaseException] = []
    callers = [make_call() for _ in range(clients)]
    start_gate = threading.Barrier(clients + 1)

    def worker(call: Callable[[], None]) -> None:
        mine: list[float] = []
        start_gate.wait()
        try:
            for _ in range(per_client):
                began = time.perf_counter()
                call()
                mine.append(time.perf_counter() - began)
        except BaseException as exc:  # report, do not hang the barrier
            errors.append(exc)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(call,)) for call in callers]
    for thread in threads:
        thread.start()
    start_gate.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"{len(errors)} client(s) failed; first: {errors[0]!r}")
    return latencies, wall


def _line(name: str, clients: int, latencies: list[float], wall: float) -> dict[str, float]:
    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    rate = len(latencies) / wall
    print(f"  {name:<8} {clients:>2} client(s): p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  {rate:8.0f} req/s")
    return {"p50": p50, "p99": p99, "rate": rate}


class GatewayClient:
    """One keep-alive connection to gunicorn, calling the inference route with an API key."""

    def __init__(self, port: int, slug: str, secret: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.path = f"/api/v1/inference/{slug}"
        self.body = json.dumps({"inputs": [TENSOR]}).encode()
        self.headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}

    def __call__(self) -> None:
        self.conn.request("POST", self.path, body=self.body, headers=self.headers)
        response = self.conn.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"gateway answered {response.status}: {payload[:300]!r}")


def _fixtures(run: str) -> tuple[str, str, str]:
    """A creator's hosted listing of identity_fp32, a buyer subscribed with a quota no run
    exhausts, the buyer's inference key and the provider's key. Returns (slug, buyer key,
    provider key)."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts import services as accounts
    from marketplace.hosted_demo import IDENTITY
    from marketplace.models import (
        Category,
        Listing,
        ListingStatus,
        ListingVersion,
        Plan,
        PlanKind,
        Subscription,
        SubscriptionStatus,
    )
    from tokenomics.services.parameters import parameter_set

    creator = accounts.user_create(email=f"creator-{run}@bench.local", password=None)
    buyer = accounts.user_create(email=f"buyer-{run}@bench.local", password=None)
    provider = accounts.user_create(email=f"provider-{run}@bench.local", password=None)
    # Paid calls are routed only to providers with at least the minimum (Bronze) stake.
    from tests.tokenomics.factories import staked

    staked(user=provider)
    category, _ = Category.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    listing = Listing.objects.create(
        creator=creator,
        title=f"Bench {run}",
        slug=f"bench-{run}",
        summary="Gateway benchmark.",
        category=category,
        status=ListingStatus.PUBLISHED,
        published_at=timezone.now(),
    )
    ListingVersion.objects.create(
        listing=listing,
        version="1.0.0",
        major=1,
        triton_model_name=IDENTITY.triton_name,
        input_spec=IDENTITY.input_spec,
        output_spec=IDENTITY.output_spec,
    )
    plan = Plan.objects.create(
        listing=listing,
        kind=PlanKind.SUBSCRIPTION,
        name="Bench",
        price_cents=1900,
        interval="month",
        monthly_quota=1_000_000_000,
        rate_limit_per_minute=1_000_000,
    )
    now = timezone.now()
    Subscription.objects.create(
        buyer=buyer,
        plan=plan,
        listing=listing,
        rail="card",
        status=SubscriptionStatus.ACTIVE,
        monthly_quota=plan.monthly_quota,
        current_period_start=now - timedelta(days=1),
        current_period_end=now + timedelta(days=29),
    )
    # The rate limit stays on; lifted above what 8 clients can send in a minute.
    parameter_set(
        key="inference.rate_limit.subscription_per_minute",
        value=1_000_000,
        reason="benchmark",
        emergency=True,
    )
    buyer_key = accounts.api_key_create(user=buyer, name="bench", scopes=["inference"]).secret
    provider_key = accounts.api_key_create(user=provider, name="bench", scopes=["read", "write"]).secret
    return listing.slug, buyer_key, provider_key


def _register_node(port: int, provider_key: str, triton_url: str, slug: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    body = json.dumps(
        {"triton_url": triton_url, "gpu": "cpu", "region": "local", "versions": [f"{slug}@1.0.0"]}
    )
    conn.request(
        "POST",
        "/api/v1/nodes",
        body=body,
        headers={
            "Authorization": f"Bearer {provider_key}",
            "Content-Type": "application/json",
        },
    )
    response = conn.getresponse()
    payload = response.read()
    if response.status not in (200, 201):
        raise SystemExit(
            f"benchmarks/gateway.py: POST /api/v1/nodes answered {response.status}: {payload[:500]!r} "
            "(the node registry and the router are compute's part of issue 17)"
        )


def _probe_every_period() -> None:
    """Run the node health probe every 10 s in a daemon thread, as beat does in production (a
    node whose status is older than 3 periods gets no traffic)."""
    from compute.services.health import nodes_probe_all
    from compute.services.routing import PROBE_PERIOD_SECONDS

    def loop() -> None:
        while True:
            nodes_probe_all()
            time.sleep(PROBE_PERIOD_SECONDS)

    threading.Thread(target=loop, daemon=True, name="probe").start()


STAND_IN_HOOK = """

def post_worker_init(worker):
    from compute.services.gateway_backend import gateway_backend_set
    from tests.compute.gateway.backend import DirectTritonBackend

    gateway_backend_set(DirectTritonBackend(address={address!r}, node_id=1, provider_id=None))
"""


def _stand_in_config(workdir: Path, address: str) -> Path:
    """A gunicorn config: the deployment's own (config/gunicorn.conf.py) and, in each worker, the
    stand-in router."""
    path = workdir / "gunicorn_stand_in.conf.py"
    shared = (ROOT / "config" / "gunicorn.conf.py").read_text()
    path.write_text(shared + STAND_IN_HOOK.format(address=address))
    return path


METRICS_TOKEN = "bench-" + "m" * 32


def _metrics_calls(port: int, slug: str) -> float:
    """Served calls of `slug` as /metrics reports them (prometheus-client's multiprocess sum)."""
    from prometheus_client.parser import text_string_to_metric_families

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    text = conn.getresponse().read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "agora_inference_calls_total"
        and sample.labels.get("listing") == slug
        and sample.labels.get("outcome") == "ok"
    )


def _wait_http(port: int, path: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status < 500:
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"benchmarks/gateway.py: nothing answered on port {port} after {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000, help="calls per scenario")
    parser.add_argument("--rss-calls", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=19310)
    parser.add_argument(
        "--stand-in-router",
        action="store_true",
        help="route with the gateway tests' one-node DirectTritonBackend instead of compute's router "
        "(for figures before the router and the node registry land; printed on the first line)",
    )
    args = parser.parse_args()

    setup_django(
        script="gateway.py",
        default_url=DEFAULT_URL,
        needs="the gateway's request log and row locks are PostgreSQL's",
        empties="nothing (it only adds its own rows)",
    )
    import numpy as np
    import tritonclient.http as triton_http
    from django.core.management import call_command

    from tests.compute.pytriton_server import pytriton_server_start, pytriton_server_stop
    from tokenomics.services.parameters import parameters_sync

    call_command("migrate", verbosity=0)
    parameters_sync()
    run = uuid.uuid4().hex[:8]
    slug, buyer_key, provider_key = _fixtures(run)

    workdir = Path(tempfile.mkdtemp(prefix="agora-bench-gateway-"))
    multiproc = workdir / "prometheus"
    multiproc.mkdir()
    triton_process, triton = pytriton_server_start(workdir)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.django.local"),
        "DJANGO_DEBUG": "false",
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
        # The API's own throttles stay on, raised above what the run sends (as for the plan's limit).
        "API_RATE_LIMIT_USER": "100000000/minute",
        "API_RATE_LIMIT_IP": "100000000/minute",
        "METRICS_BEARER_TOKEN": METRICS_TOKEN,
        # Outbound calls to a loopback Triton are refused outside development unless allowed.
        "NODE_URL_ALLOWLIST": os.environ.get("NODE_URL_ALLOWLIST", "127.0.0.1"),
    }
    gunicorn = subprocess.Popen(  # noqa: S603 (our own gunicorn, fixed arguments)
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "--config",
            str(
                _stand_in_config(workdir, triton.http_address)
                if args.stand_in_router
                else "config/gunicorn.conf.py"
            ),
            "config.wsgi",
            "--workers",
            str(args.workers),
            "--bind",
            f"127.0.0.1:{args.port}",
            "--keep-alive",
            "30",
            "--access-logfile",
            "/dev/null",
            "--error-logfile",
            str(workdir / "gunicorn.log"),
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        _wait_http(args.port, "/healthz")
        print(f"gateway benchmark: {args.workers} gunicorn workers, Triton at {triton.url}, model {MODEL}")

        def direct() -> Callable[[], None]:
            client = triton_http.InferenceServerClient(
                triton.http_address, connection_timeout=30, network_timeout=30
            )
            tensor = triton_http.InferInput("INPUT_1", [1, 4], "FP32")
            tensor.set_data_from_numpy(np.array([[0.1, 0.2, 0.3, 0.4]], dtype=np.float32))
            return lambda: client.infer(MODEL, [tensor])

        def gateway() -> Callable[[], None]:
            return GatewayClient(args.port, slug, buyer_key)

        figures: dict[tuple[str, int], dict[str, float]] = {}
        _run(8, 400, direct)  # warm
        for clients in (1, 8):
            latencies, wall = _run(clients, args.calls, direct)
            figures[("direct", clients)] = _line("direct", clients, latencies, wall)

        if args.stand_in_router:
            print("  (router: the stand-in DirectTritonBackend, one node, no retries; not compute's router)")
        else:
            _register_node(args.port, provider_key, triton.url, slug)
            _probe_every_period()  # what Celery beat does in production: routing needs fresh health
        _run(args.workers * 2, args.workers * 100, gateway)  # warm: connections, caches, imports
        for clients in (1, 8):
            workers = _children(gunicorn.pid)
            cpu_before = _cpu_seconds(workers)
            latencies, wall = _run(clients, args.calls, gateway)
            figures[("gateway", clients)] = _line("gateway", clients, latencies, wall)
            # CPU of the gunicorn workers per call: what the machine's load does not change much.
            cpu = (_cpu_seconds(workers) - cpu_before) / len(latencies) * 1000
            print(f"           gunicorn workers' CPU per call: {cpu:.2f} ms")

        added = figures[("gateway", 1)]["p50"] - figures[("direct", 1)]["p50"]
        ratio = figures[("gateway", 8)]["rate"] / figures[("direct", 8)]["rate"]
        print(
            f"added p50 at 1 client: {added:.2f} ms (target <= 1.5 ms: {'met' if added <= 1.5 else 'MISSED'})"
        )
        print(
            f"gateway / direct throughput at 8 clients: {ratio:.2f}x "
            f"(target >= 0.5x: {'met' if ratio >= 0.5 else 'MISSED'})"
        )

        workers = _children(gunicorn.pid)
        before = {pid: _rss_kib(pid) for pid in workers}
        _run(8, args.rss_calls, gateway)
        after = {pid: _rss_kib(pid) for pid in workers}
        worst = 0
        for pid in workers:
            growth = after[pid] - before[pid]
            worst = max(worst, growth)
            print(
                f"  worker {pid}: RSS {before[pid] / 1024:.1f} MiB -> {after[pid] / 1024:.1f} MiB "
                f"({growth / 1024:+.1f} MiB)"
            )
        print(
            f"worst worker RSS growth over {args.rss_calls} calls: {worst / 1024:.1f} MiB "
            f"(target flat, < 5 MiB: {'met' if worst < 5 * 1024 else 'MISSED'})"
        )
        counted = _metrics_calls(args.port, slug)
        print(f"/metrics, summed over the workers: {counted:.0f} served calls of this listing")
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        try:
            gunicorn.wait(timeout=30)
        except subprocess.TimeoutExpired:
            gunicorn.kill()
        pytriton_server_stop(triton_process)


if __name__ == "__main__":
    main()
