"""Ledger throughput (postings per second) and the cost of a full ledger check, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/agora_bench python benchmarks/ledger.py \
        [--postings 3000] [--threads 8] [--entries 1000000] [--profile]

PostgreSQL only: row locks, the deferred balance triggers and parallel connections are what is
measured, and SQLite has none of them. DATABASE_URL defaults to the URL above; the database is
created if missing and migrated. Its name must contain "bench": the script empties the ledger tables
(TRUNCATE) before and after it runs.

Figures, each against a baseline from the same run:
- `transaction_post` of a 2-leg wallet-to-wallet transfer at 1 thread and at N threads (each thread
  its own connection and its own pair of accounts, so the figure is throughput, not one hot row),
  and at N threads all paying from one hot wallet;
- escrow holds (2 legs: the payer's wallet is locked; the escrow account, a platform account, is
  credited without a lock; the posting and the escrow row in one statement) at N threads;
- the 6-leg sale split posted by `escrow_release` at 1 and N threads, each release of another
  creator (the platform's split accounts take entries without a lock; only the escrow row, the
  creator's payable and the creator's running sales totals are locked, all per sale or per creator);
- `ledger_verify()` (what `manage.py ledger_check` runs) over `--entries` entries bulk-loaded with SQL.
Targets at 8 threads on a 2-core machine: transfers >= 1,000/s, escrow holds >= 1,000/s, sale
splits >= 500/s; `ledger_verify()` ok after every scenario.
`--profile` adds queries per posting and where a single-thread posting spends its time.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from support import percentile, setup_django

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/agora_bench"
setup_django(
    script="ledger.py",
    default_url=DEFAULT_URL,
    needs="SQLite has no row locks, deferred triggers or parallel writers to measure",
    empties="the ledger tables",
)

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts import services as account_services  # noqa: E402
from accounts.models import User  # noqa: E402
from tokenomics.models import Escrow, LedgerAccount  # noqa: E402
from tokenomics.models.ledger import AccountKind, TransactionKind  # noqa: E402
from tokenomics.selectors.ledger import ledger_verify  # noqa: E402
from tokenomics.services.escrow import escrow_hold, escrow_release  # noqa: E402
from tokenomics.services.ledger import Leg, transaction_post  # noqa: E402
from tokenomics.services.ledger_accounts import system_account_get_or_create, user_account_get_or_create  # noqa: E402
from tokenomics.services.wallet import wallet_top_up  # noqa: E402

EMAIL_PREFIX = "bench-ledger-"
LEDGER_TABLES = (
    "tokenomics_creatorsales",
    "tokenomics_escrow",
    "tokenomics_ledgerentry",
    "tokenomics_ledgertransaction",
    "tokenomics_ledgeraccount",
)


@dataclass
class Figure:
    scenario: str
    threads: int
    postings: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.postings / self.seconds

    def percentile(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000


def reset() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(LEDGER_TABLES)} RESTART IDENTITY CASCADE")
    User.objects.filter(email__startswith=EMAIL_PREFIX).delete()


_user_numbers = iter(range(10**9))


def new_wallet(*, funded: int = 0) -> LedgerAccount:
    user = account_services.user_create(
        email=f"{EMAIL_PREFIX}{next(_user_numbers)}@bench.local", password=None, email_verified=True
    )
    if funded:
        wallet_top_up(
            user=user,
            asset="USD",
            amount=funded,
            rail="stripe",
            idempotency_key=f"bench-fund-{user.pk}",
            prepaid_bonus=False,
        )
    return user_account_get_or_create(user=user, kind=AccountKind.WALLET, asset="USD")


def run_threads(threads: int, calls: list[list[Callable[[], object]]]) -> tuple[float, list[float]]:
    """Each thread (own connection) makes its list of calls after a common start; returns the wall
    time from the start to the last thread's end, and every call's latency."""
    barrier = threading.Barrier(threads + 1)
    latencies: list[list[float]] = [[] for _ in range(threads)]

    def worker(index: int) -> float:
        try:
            connection.ensure_connection()
            barrier.wait()
            mine = latencies[index]
            for call in calls[index]:
                started = time.perf_counter()
                call()
                mine.append(time.perf_counter() - started)
            return time.perf_counter()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(worker, index) for index in range(threads)]
        barrier.wait()
        started = time.perf_counter()
        ended = max(future.result() for future in futures)
    return ended - started, [latency for per_thread in latencies for latency in per_thread]


def transfers(scenario: str, threads: int, total: int, *, hot_payer: bool = False) -> Figure:
    per_thread = total // threads
    hot = new_wallet(funded=10**12) if hot_payer else None
    calls: list[list[Callable[[], object]]] = []
    for index in range(threads):
        payer = hot or new_wallet(funded=10**12)
        payee = new_wallet()
        tag = f"{scenario}-{threads}-{index}"
        calls.append(
            [
                lambda payer=payer, payee=payee, key=f"bench-{tag}-{n}": transaction_post(
                    kind=TransactionKind.TRANSFER,
                    legs=[Leg(payer, -1), Leg(payee, 1)],
                    idempotency_key=key,
                )
                for n in range(per_thread)
            ]
        )
    seconds, latencies = run_threads(threads, calls)
    return Figure(scenario, threads, per_thread * threads, seconds, latencies)


def holds(threads: int, total: int, tag: str) -> tuple[Figure, list[list[int]]]:
    """Escrow holds from one buyer wallet per thread, for one creator per thread."""
    per_thread = total // threads
    calls: list[list[Callable[[], object]]] = []
    created: list[list[int]] = [[] for _ in range(threads)]
    for index in range(threads):
        wallet = new_wallet(funded=10**12)
        creator = account_services.user_create(
            email=f"{EMAIL_PREFIX}{next(_user_numbers)}@bench.local", password=None
        )

        def hold(
            wallet: LedgerAccount = wallet, creator: User = creator, index: int = index, n: int = 0
        ) -> None:
            escrow = escrow_hold(
                reference=f"bench-{tag}-{index}-{n}",
                creator=creator,
                source_account=wallet,
                amount=10_000 + n,
            )
            created[index].append(escrow.pk)

        calls.append([lambda hold=hold, n=n: hold(n=n) for n in range(per_thread)])
    seconds, latencies = run_threads(threads, calls)
    return Figure("escrow hold (2 legs)", threads, per_thread * threads, seconds, latencies), created


def releases(threads: int, escrows: list[list[int]]) -> Figure:
    calls = [[lambda pk=pk: escrow_release(escrow_id=pk) for pk in mine] for mine in escrows]
    seconds, latencies = run_threads(threads, calls)
    return Figure(
        "sale split via escrow_release (6 legs)", threads, sum(map(len, escrows)), seconds, latencies
    )


def bulk_load(entries: int) -> tuple[float, int]:
    """Balanced 2-entry deposits (external account → one of the bench wallets), written with SQL in
    one transaction (the deferred balance triggers run at its commit), then the cached balances set
    from the entries with one UPDATE. Returns the seconds taken and the transactions written."""
    count = entries // 2
    external = system_account_get_or_create(kind=AccountKind.EXTERNAL_STRIPE, asset="USD")
    wallets = list(
        LedgerAccount.objects.filter(kind=AccountKind.WALLET, asset="USD").values_list("pk", flat=True)
    )
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            WITH tx AS (
                INSERT INTO tokenomics_ledgertransaction
                    (kind, memo, idempotency_key, fingerprint, reference, posted_at)
                SELECT 'deposit', '', 'bench-bulk-' || g, '', '', now()
                  FROM generate_series(1, %(count)s) AS g
                RETURNING id
            )
            INSERT INTO tokenomics_ledgerentry (transaction_id, account_id, asset, amount)
            SELECT tx.id,
                   CASE WHEN side = 1 THEN %(external)s
                        ELSE (%(wallets)s::bigint[])[1 + tx.id %% cardinality(%(wallets)s::bigint[])] END,
                   'USD',
                   CASE WHEN side = 1 THEN -1 ELSE 1 END * (1 + tx.id %% 9973)
              FROM tx CROSS JOIN (VALUES (1), (2)) AS sides(side)
            """,
            {"count": count, "external": external.pk, "wallets": wallets},
        )
        cursor.execute(
            """
            UPDATE tokenomics_ledgeraccount AS a
               SET balance = s.total, updated_at = now()
              FROM (SELECT account_id, SUM(amount) AS total
                      FROM tokenomics_ledgerentry GROUP BY account_id) AS s
             WHERE a.id = s.account_id AND a.balance <> s.total AND a.owner_id IS NOT NULL
            """
        )
    return time.perf_counter() - started, count


def queries_per_call(call: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def profile_postings(count: int) -> None:
    payer, payee = new_wallet(funded=10**12), new_wallet()

    def post(n: int) -> None:
        transaction_post(
            kind=TransactionKind.TRANSFER,
            legs=[Leg(payer, -1), Leg(payee, 1)],
            idempotency_key=f"bench-prof-{n}",
        )

    print(f"\nqueries per 2-leg transfer: {queries_per_call(lambda: post(-1))}")
    escrow = escrow_hold(
        reference="bench-prof-escrow",
        creator=User.objects.filter(email__startswith=EMAIL_PREFIX).first(),
        source_account=payer,
        amount=10_000,
    )
    release_queries = queries_per_call(lambda: escrow_release(escrow_id=escrow.pk))
    print(f"queries per escrow_release (6 legs): {release_queries}")
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.runcall(lambda: [post(n) for n in range(count)])
    elapsed = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    waiting = sum(
        total
        for (filename, _, name), (_, _, _, total, _) in stats.stats.items()
        if name == "wait" and "psycopg" in filename and filename.endswith("connection.py")
    )
    print(
        f"{count} transfers under cProfile: {elapsed / count * 1000:.2f} ms each, of which "
        f"{waiting / count * 1000:.2f} ms waiting for PostgreSQL and the rest in Python "
        "(cProfile inflates the Python share)"
    )
    stats.sort_stats("tottime").print_stats(12)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postings", type=int, default=3000, help="postings per measurement")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--entries", type=int, default=1_000_000, help="entries for the ledger_check figure")
    parser.add_argument("--profile", action="store_true", help="queries per posting and a cProfile breakdown")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    reset()
    try:
        n, threads = args.postings, args.threads
        figures: list[Figure] = []
        transfers("warm-up", 1, 100)
        figures.append(transfers("transfer (2 legs)", 1, n))
        figures.append(transfers("transfer (2 legs), own pairs", threads, n))
        figures.append(transfers("transfer (2 legs), one hot payer", threads, n, hot_payer=True))
        held, escrows_by_thread = holds(threads, 2 * n, "hold")
        figures.append(held)
        # Release half of them from one thread, then the other half from N threads.
        first = [[pk for mine in escrows_by_thread for pk in mine[: len(mine) // 2]]]
        rest = [mine[len(mine) // 2 :] for mine in escrows_by_thread]
        figures.append(releases(1, first))
        figures.append(releases(threads, rest))

        print(f"\ndatabase: PostgreSQL {connection.pg_version // 10000}; {os.cpu_count()} CPUs")
        print(
            f"{'scenario':<44} {'threads':>7} {'postings':>8} {'postings/s':>10} {'p50 ms':>7} {'p99 ms':>7}"
        )
        for figure in figures:
            print(
                f"{figure.scenario:<44} {figure.threads:>7} {figure.postings:>8} {figure.rate:>10.0f} "
                f"{figure.percentile(0.50):>7.2f} {figure.percentile(0.99):>7.2f}"
            )
        transfer_1, transfer_n, hot, held, sale_1, sale_n = figures
        print(f"transfers, {threads} threads / 1 thread:  {transfer_n.rate / transfer_1.rate:.2f}x")
        print(f"transfers, one hot payer / own pairs: {hot.rate / transfer_n.rate:.2f}x")
        print(f"sale splits, {threads} threads / 1 thread: {sale_n.rate / sale_1.rate:.2f}x")
        for label, figure, target in (
            ("transfers", transfer_n, 1000),
            ("escrow holds", held, 1000),
            ("sale splits", sale_n, 500),
        ):
            verdict = "meets" if figure.rate >= target else "misses"
            print(f"target >= {target:,} {label}/s at {threads} threads: {verdict} ({figure.rate:.0f}/s)")
        assert Escrow.objects.filter(state="held").count() == 0
        report = ledger_verify()
        print(f"ledger_verify() after the scenarios: ok={report.ok}")
        assert report.ok, report

        if args.profile:
            profile_postings(1000)

        if args.entries:
            load_seconds, written = bulk_load(args.entries)
            started = time.perf_counter()
            report = ledger_verify()
            verify_seconds = time.perf_counter() - started
            print(f"\nledger_check over {report.entries:,} entries ({report.transactions:,} transactions):")
            print(f"  bulk load of {2 * written:,} entries (SQL, triggers at commit): {load_seconds:8.2f} s")
            print(f"  ledger_verify():                                   {verify_seconds:8.2f} s")
            print(f"  report ok: {report.ok}; trial balance {report.trial_balance}")
            if not report.ok:
                sys.exit(1)
        print(f"\nmedian transfer latency, 1 thread: {statistics.median(transfer_1.latencies) * 1000:.2f} ms")
    finally:
        reset()


if __name__ == "__main__":
    main()
