"""CPU per served inference call, in process: a load-independent measure of the gateway's own cost.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/agora_bench REDIS_URL=redis://127.0.0.1:6379/5 \
        .venv/bin/python benchmarks/gateway_cpu.py [--calls 1000] [--profile 40] [--path api|kserve]

`benchmarks/gateway.py` measures wall-clock latency and throughput under gunicorn, which on a shared
machine mostly measures the other processes. This script calls the site's WSGI application directly
(no socket between client and Django, so the client costs nothing) with the same fixtures: a real
PyTriton server, a provider's node registered and probed as in production, a buyer's subscription,
an API key with the `inference` scope, every check on (DEBUG off). It prints, per served call:

- CPU milliseconds of this process (`time.process_time`: Django, DRF, the gateway, redis-py and
  tritonclient; Triton runs in its own process and is not counted);
- SQL queries (Django's CaptureQueriesContext; 0 when every read is cached);
- Redis round trips (each command or pipeline sent by redis-py);
- function calls per call (cProfile's count, Python and C: it does not move with the load);
- with `--profile N`: the top of a cProfile of N calls, by own time and by cumulative time.

Process CPU time barely moves with the machine's load (a busy machine makes a call slower, not
costlier), so figures from different runs compare; still, say `uptime` beside them.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from gateway import MODEL, TENSOR, _fixtures
from support import setup_django

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/agora_bench"


def _environ(path: str, body: bytes, secret: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": f"Bearer {secret}",
        "HTTP_HOST": "localhost",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


class Caller:
    """One POST through the WSGI application, as a gunicorn worker makes it."""

    def __init__(self, application: Any, path: str, body: bytes, secret: str) -> None:
        self.application = application
        self.path, self.body, self.secret = path, body, secret
        self.status = ""

    def _start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        self.status = status
        return lambda data: None

    def __call__(self) -> bytes:
        result = self.application(_environ(self.path, self.body, self.secret), self._start_response)
        try:
            payload = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if not self.status.startswith("200"):
            raise RuntimeError(f"{self.path} answered {self.status}: {payload[:300]!r}")
        return payload


class RedisRoundTrips:
    """Counts what redis-py sends: one per command, one per pipeline."""

    def __init__(self) -> None:
        import redis.connection

        self.count = 0
        self._cls = redis.connection.AbstractConnection
        self._original: Any = self._cls.send_packed_command

    def __enter__(self) -> RedisRoundTrips:
        original = self._original

        def counted(conn: Any, command: Any, check_health: bool = True) -> Any:
            self.count += 1
            return original(conn, command, check_health)

        self._cls.send_packed_command = counted  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        self._cls.send_packed_command = self._original  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000, help="timed calls")
    parser.add_argument("--profile", type=int, default=0, help="also profile this many calls")
    parser.add_argument("--path", choices=["api", "kserve"], default="api")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--profile-file", default="", help="write the profile here (pstats format)")
    parser.add_argument(
        "--handler",
        choices=["site", "django", "both"],
        default="both",
        help="site: config/wsgi.py's handler, as gunicorn runs it; django: Django's plain WSGIHandler "
        "(the full middleware chain for every request); both: taking turns (profile: site)",
    )
    args = parser.parse_args()

    # As benchmarks/gateway.py: the API's own throttles stay on, raised above what the run sends.
    os.environ.setdefault("API_RATE_LIMIT_USER", "100000000/minute")
    os.environ.setdefault("API_RATE_LIMIT_IP", "100000000/minute")
    os.environ.setdefault("NODE_URL_ALLOWLIST", "127.0.0.1")
    setup_django(
        script="gateway_cpu.py",
        default_url=DEFAULT_URL,
        needs="the gateway's request log and row locks are PostgreSQL's",
        empties="nothing (it only adds its own rows)",
    )
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from compute.services.health import nodes_probe_all
    from compute.services.nodes import node_register
    from marketplace.models import ListingVersion
    from tests.compute.pytriton_server import pytriton_server_start, pytriton_server_stop
    from tokenomics.services.parameters import parameters_sync

    call_command("migrate", verbosity=0)
    parameters_sync()
    run = uuid.uuid4().hex[:8]
    slug, buyer_key, _ = _fixtures(run)
    provider = User.objects.get(email=f"provider-{run}@bench.local")
    workdir = Path(tempfile.mkdtemp(prefix="agora-bench-gateway-cpu-"))
    triton_process, triton = pytriton_server_start(workdir)
    try:
        version = ListingVersion.objects.get(listing__slug=slug)
        node_register(provider=provider, triton_url=triton.url, version_ids=[version.pk])
        applications: dict[str, Any] = {}
        if args.handler in ("site", "both"):
            from config.wsgi import application

            applications["site"] = application
        if args.handler in ("django", "both"):
            applications["django"] = get_wsgi_application()
        if args.path == "api":
            path, body = f"/api/v1/inference/{slug}", {"inputs": [TENSOR]}
        else:
            path, body = f"/v2/models/{slug}/infer", {"inputs": [TENSOR]}
        callers = {
            name: Caller(app, path, json.dumps(body).encode(), buyer_key)
            for name, app in applications.items()
        }
        print(f"gateway CPU per call: {path} ({MODEL}), in-process WSGI, DEBUG off")

        probed = time.monotonic()

        def fresh() -> None:  # routing wants a status younger than 3 probe periods (beat's job)
            nonlocal probed
            if time.monotonic() - probed > 15:
                nodes_probe_all()
                probed = time.monotonic()

        for call in callers.values():
            for _ in range(200):  # warm: imports, caches, connections
                call()
        nodes_probe_all()
        probed = time.monotonic()

        for name, call in callers.items():
            # Queries and Redis round trips of a few served calls (every cache warm).
            with CaptureQueriesContext(connection) as queries, RedisRoundTrips() as redis_trips:
                for _ in range(20):
                    call()
            print(f"  [{name} handler] SQL queries per call: {len(queries) / 20:.2f}")
            for query in queries.captured_queries[:5]:
                print(f"    {query['sql'][:160]}")
            print(f"  [{name} handler] Redis round trips per call: {redis_trips.count / 20:.2f}")

        # Batches of 100 calls, the handlers taking turns, so that a change in the machine's load
        # weighs on each alike; the median batch is the figure.
        per_batch: dict[str, list[float]] = {name: [] for name in callers}
        walls: dict[str, float] = dict.fromkeys(callers, 0.0)
        done = 0
        while done < args.calls:
            fresh()
            for name, call in callers.items():
                c0, w0 = time.process_time(), time.perf_counter()
                for _ in range(100):
                    call()
                per_batch[name].append((time.process_time() - c0) / 100)
                walls[name] += time.perf_counter() - w0
            done += 100
        for name, cpus in per_batch.items():
            cpus.sort()
            print(
                f"  [{name} handler] CPU per call: median {cpus[len(cpus) // 2] * 1000:.3f} ms, "
                f"best {cpus[0] * 1000:.3f} ms, mean {sum(cpus) / len(cpus) * 1000:.3f} ms "
                f"(wall per call {walls[name] / done * 1000:.3f} ms, {done} calls)"
            )

        # Function calls (Python and C) per call: a count that does not move with the load.
        profiled = args.profile or 100
        for name, call in callers.items():
            fresh()
            profiler = cProfile.Profile(time.process_time)  # CPU, not waiting on Triton
            profiler.enable()
            for _ in range(profiled):
                call()
            profiler.disable()
            stats = pstats.Stats(profiler, stream=io.StringIO())
            print(f"  [{name} handler] function calls per call: {stats.total_calls / profiled:.0f}")
            if args.profile_file and name == next(iter(callers)):
                profiler.dump_stats(args.profile_file)
            if args.profile and name == next(iter(callers)):
                for order in ("tottime", "cumulative"):
                    out = io.StringIO()
                    pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.top)
                    print(out.getvalue())
    finally:
        pytriton_server_stop(triton_process)


if __name__ == "__main__":
    main()
