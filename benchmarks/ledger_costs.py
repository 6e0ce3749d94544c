"""What one ledger operation costs, independent of how loaded the machine is: statements, round
trips, and CPU time in this (Django) process and in its PostgreSQL backend, per operation at one
thread. The throughput figures of `ledger.py` swing with the machine's load; these do not (much).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/agora_bench python benchmarks/ledger_costs.py \
        [--ops 500]

- statements: what Django sends (`connection.execute_wrapper`);
- round trips: statements plus the BEGIN and COMMIT that psycopg sends as commands of their own;
- Redis: round trips to the cache (the parameter registry is read through it; 0 without REDIS_URL);
- Python CPU: `time.thread_time()` around the call (this thread only);
- PostgreSQL CPU: the backend process's user + system time (`/proc/<pid>/stat`, clock ticks, so
  only meaningful over many operations; Linux only, same machine);
- wall: elapsed time per operation (this one does depend on the load);
- WAL bytes: write-ahead log written per operation (what each COMMIT must flush; the server's,
  so other writers to the same cluster inflate it).

Operations: a 2-leg transfer (`transaction_post`), an escrow hold (`escrow_hold`), a sale release
(`escrow_release`, the 6-leg split). Same database rules as `ledger.py` (the name contains "bench";
the ledger tables are emptied before and after).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from support import setup_django

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/agora_bench"
setup_django(
    script="ledger_costs.py",
    default_url=DEFAULT_URL,
    needs="the costs measured are PostgreSQL's",
    empties="the ledger tables",
)

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from ledger import EMAIL_PREFIX, new_wallet, reset  # noqa: E402
from psycopg._connection_base import BaseConnection  # noqa: E402
from redis.connection import Connection as RedisConnection  # noqa: E402

from accounts import services as account_services  # noqa: E402
from tokenomics.models.ledger import TransactionKind  # noqa: E402
from tokenomics.services.escrow import escrow_hold, escrow_release  # noqa: E402
from tokenomics.services.ledger import Leg, transaction_post  # noqa: E402

_TICKS = os.sysconf("SC_CLK_TCK")


def _backend_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


@dataclass
class Cost:
    operation: str
    ops: int
    statements: int = 0
    round_trips: int = 0
    cache_round_trips: int = 0
    python_cpu: float = 0.0
    backend_cpu: float = 0.0
    wall: float = 0.0
    wal_bytes: int = 0

    def row(self) -> str:
        n = self.ops
        return (
            f"{self.operation:<32} {self.statements / n:>10.1f} {self.round_trips / n:>11.1f} "
            f"{self.cache_round_trips / n:>5.1f} "
            f"{self.python_cpu / n * 1000:>13.3f} {self.backend_cpu / n * 1000:>9.3f} "
            f"{self.wall / n * 1000:>8.3f} {self.wal_bytes / n:>9.0f}"
        )


@contextmanager
def _counting(cost: Cost) -> Iterator[None]:
    original = BaseConnection._exec_command
    original_read = RedisConnection.read_response

    def read(self: RedisConnection, *args: Any, **kwargs: Any) -> Any:
        cost.cache_round_trips += 1
        return original_read(self, *args, **kwargs)

    def command(self: BaseConnection[Any], *args: Any, **kwargs: Any) -> Any:
        cost.round_trips += 1  # BEGIN, COMMIT, ROLLBACK: psycopg sends them on their own
        return original(self, *args, **kwargs)

    def statement(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        cost.statements += 1
        cost.round_trips += 1
        return execute(sql, params, many, context)

    BaseConnection._exec_command = command  # type: ignore[method-assign]
    RedisConnection.read_response = read  # type: ignore[method-assign, assignment]
    try:
        with connection.execute_wrapper(statement):
            yield
    finally:
        BaseConnection._exec_command = original  # type: ignore[method-assign]
        RedisConnection.read_response = original_read  # type: ignore[method-assign]


def measure(operation: str, calls: Sequence[Callable[[], object]]) -> Cost:
    cost = Cost(operation, len(calls))
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), pg_current_wal_insert_lsn()")
        pid, wal_started = cursor.fetchone()
    backend_started = _backend_cpu_seconds(pid)
    with _counting(cost):
        for call in calls:
            started, cpu_started = time.perf_counter(), time.thread_time()
            call()
            cost.python_cpu += time.thread_time() - cpu_started
            cost.wall += time.perf_counter() - started
    cost.backend_cpu = _backend_cpu_seconds(pid) - backend_started
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), %s)", [wal_started])
        cost.wal_bytes = int(cursor.fetchone()[0])
    return cost


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ops", type=int, default=500, help="operations measured per kind")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    reset()
    try:
        n = args.ops
        payer, payee = new_wallet(funded=10**12), new_wallet()
        creator = account_services.user_create(email=f"{EMAIL_PREFIX}costs@bench.local", password=None)

        def transfer(key: str) -> None:
            transaction_post(
                kind=TransactionKind.TRANSFER, legs=[Leg(payer, -1), Leg(payee, 1)], idempotency_key=key
            )

        held: list[int] = []

        def hold(key: str, amount: int) -> None:
            held.append(escrow_hold(reference=key, creator=creator, source_account=payer, amount=amount).pk)

        # Warm-up: connection, caches of the registry and of compiled statements.
        for k in range(20):
            transfer(f"bench-warm-{k}")
            hold(f"bench-warm-{k}", 10_000)
        for pk in held:
            escrow_release(escrow_id=pk)
        held.clear()

        transfers = [partial(transfer, f"bench-t-{k}") for k in range(n)]
        costs = [measure("transfer (2 legs)", transfers)]
        holds = [partial(hold, f"bench-h-{k}", 10_000 + k) for k in range(n)]
        costs.append(measure("escrow hold (2 legs)", holds))
        releases = [partial(escrow_release, escrow_id=pk) for pk in held]
        costs.append(measure("escrow release (6-leg split)", releases))
        print(f"\nper operation, 1 thread, {n} each (load average {os.getloadavg()[0]:.2f}):")
        print(
            f"{'operation':<32} {'statements':>10} {'round trips':>11} {'Redis':>5} "
            f"{'Python CPU ms':>13} {'PG CPU ms':>9} {'wall ms':>8} {'WAL bytes':>9}"
        )
        for cost in costs:
            print(cost.row())
    finally:
        reset()


if __name__ == "__main__":
    main()
