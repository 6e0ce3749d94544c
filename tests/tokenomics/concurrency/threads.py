"""Real threads against PostgreSQL: each worker runs on its own connection, closed when it ends."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.db import OperationalError, connection

BARRIER_TIMEOUT = 60
# How long a worker thread keeps trying to connect while the server has no free connection slot
# (the other xdist worker's tests and live servers may hold many for a moment); under the barrier's
# timeout, so the others still wait for it.
CONNECT_PATIENCE = 40


def connect_when_a_slot_is_free() -> None:
    """Open this thread's connection, retrying while PostgreSQL answers "too many clients": what a
    concurrency test races is the code under test, not the server's connection limit."""
    deadline = time.monotonic() + CONNECT_PATIENCE
    while True:
        try:
            connection.ensure_connection()
            return
        except OperationalError as exc:
            full = "too many clients" in str(exc) or "remaining connection slots" in str(exc)
            if not full or time.monotonic() > deadline:
                raise
            connection.close()
            time.sleep(0.25)


@dataclass(frozen=True)
class Outcome:
    """What one call returned or raised: the test reads both, no exception escapes a worker."""

    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def named(self, success: str, *, refused: type[BaseException]) -> str:
        """`success`, "refused" for the expected refusal, or the unexpected error itself."""
        if self.ok:
            return success
        return "refused" if isinstance(self.error, refused) else repr(self.error)


def capture(fn: Callable[[], Any]) -> Outcome:
    try:
        return Outcome(value=fn())
    except Exception as exc:
        return Outcome(error=exc)


def in_own_connection(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run `fn` and close this thread's connection afterwards (a worker thread opens its own)."""

    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        finally:
            connection.close()

    return run


def run_together(count: int, work: Callable[[int, threading.Barrier], Any]) -> list[Any]:
    """Start `count` threads on a barrier and return what each returned, in thread order.

    `work(index, barrier)` is called after the first barrier wait; it may wait on the barrier again
    (every thread must, the same number of times) to separate phases.
    """
    barrier = threading.Barrier(count, timeout=BARRIER_TIMEOUT)

    @in_own_connection
    def worker(index: int) -> Any:
        connect_when_a_slot_is_free()  # connect before the start line, not inside the race
        barrier.wait()
        return work(index, barrier)

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(worker, index) for index in range(count)]
        return [future.result() for future in futures]


def race(count: int, call: Callable[[int], Any]) -> list[Outcome]:
    """`count` threads make `call(index)` at the same moment; every result or error is kept."""
    return run_together(count, lambda index, barrier: capture(lambda: call(index)))


def backends_waiting_on_locks() -> int:
    """Other backends of this database now blocked on a lock (a row lock or another's insert)."""
    with connection.cursor() as cursor:
        # pg_stat_activity is a snapshot per transaction; clear it, since the caller may be in one.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        (count,) = cursor.fetchone()
    return int(count)


def wait_until_blocked(future: Future[Any] | None = None, timeout: float = 10) -> None:
    """Return once another backend waits on a lock, or `future` (the call expected to wait) is done:
    a call that no longer needs to wait (the code changed) must not fail the test here."""
    deadline = time.monotonic() + timeout
    while backends_waiting_on_locks() < 1:
        if future is not None and future.done():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"no backend waited on a lock within {timeout} s")
        time.sleep(0.01)


class PauseOnce:
    """Stops the thread that armed it the first time it reaches `checkpoint()`, until `resume()`.

    Tests wrap a service's collaborator with it (monkeypatch) to hold a transaction at a chosen point,
    between two of its statements, so that an interleaving happens every run instead of by chance.
    """

    def __init__(self) -> None:
        self.reached = threading.Event()
        self._go = threading.Event()
        self._ident: int | None = None

    def arm(self) -> None:
        self._ident = threading.get_ident()

    def checkpoint(self) -> None:
        if threading.get_ident() == self._ident and not self.reached.is_set():
            self.reached.set()
            if not self._go.wait(BARRIER_TIMEOUT):
                raise AssertionError("PauseOnce was never resumed")

    def wait_reached(self, timeout: float = 10) -> None:
        if not self.reached.wait(timeout):
            raise AssertionError("the paused thread never reached its checkpoint")

    def resume(self) -> None:
        self._go.set()
