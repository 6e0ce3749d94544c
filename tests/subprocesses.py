"""Run the project's own programs (manage.py commands, a Celery worker) in a child process that
uses this test session's database, for tests of what only a separate process shows: signals, a
broker between processes, a clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def test_database_url() -> str:
    """A DATABASE_URL naming the database this test session uses (PostgreSQL only: an SQLite test
    database lives in this process's memory)."""
    settings = connection.settings_dict
    if connection.vendor != "postgresql":
        raise RuntimeError("A child process can share only a PostgreSQL test database.")
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment for a child running Django on the test database."""
    env = {**os.environ, "DATABASE_URL": test_database_url(), "PYTHONUNBUFFERED": "1"}
    env.update(extra)
    return env


def wait_for(
    predicate: Callable[[], bool],
    *,
    timeout: float,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
    what: str = "the condition",
) -> None:
    """Poll `predicate` until true; fail with the child's log if it exits or time runs out."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the child exited with {process.returncode} before {what}:\n{tail(log)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {timeout:.0f} s:\n{tail(log)}")
        time.sleep(0.2)


def tail(log: Path | None, lines: int = 60) -> str:
    if log is None or not log.exists():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def start(args: list[str], *, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)


def stop(process: subprocess.Popen[bytes], *, timeout: float = 60.0) -> int:
    """SIGTERM, then wait; SIGKILL only if it does not stop in time. Returns the exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)
    return process.returncode


PYTHON = sys.executable
