"""`make test` on a fresh machine (issue 13, item 9): scripts/test-bootstrap.sh finds local services.

The script runs for real, with `env` as the command it hands over to, so each test reads the
environment the suite would get. Chromium's installation is not exercised here (it needs apt and
root, and a test must not install packages); every browser test fails without /usr/bin/chromium,
which is what the bootstrap's first step prevents.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

SCRIPT = Path(settings.BASE_DIR) / "scripts" / "test-bootstrap.sh"
PROBE = "test_postgres_marker_probe"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when this returns: nothing answers there


def _bootstrap(**env: str) -> tuple[dict[str, str], str]:
    base = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/"),
        "PYTHON": sys.executable,
        "AGORA_TEST_BOOTSTRAP_SERVICES_ONLY": "1",  # never apt-get from inside a test
    }
    result = subprocess.run(
        [str(SCRIPT), "env"], env={**base, **env}, capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    seen = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return seen, result.stderr


def test_an_exported_database_and_redis_are_kept():
    seen, _ = _bootstrap(
        DATABASE_URL="postgres://someone@db.example:5433/x", REDIS_URL="redis://r.example:1/3"
    )
    assert seen["DATABASE_URL"] == "postgres://someone@db.example:5433/x"
    assert seen["REDIS_URL"] == "redis://r.example:1/3"


def test_with_nothing_answering_the_sqlite_run_says_what_is_skipped():
    port = str(_closed_port())
    seen, err = _bootstrap(AGORA_TEST_PG_PORT=port, AGORA_TEST_REDIS_PORT=port)
    assert "DATABASE_URL" not in seen
    assert "REDIS_URL" not in seen
    assert "will be SKIPPED" in err
    assert f"no PostgreSQL answered on 127.0.0.1:{port}" in seen["AGORA_TEST_NO_POSTGRES_REASON"]


@pytest.mark.postgres
def test_a_local_postgresql_is_found_when_no_database_url_is_set():
    host, port = connection.settings_dict["HOST"], str(connection.settings_dict["PORT"] or 5432)
    if connection.settings_dict["USER"] != "postgres" or host not in ("127.0.0.1", "localhost"):
        pytest.fail("this test probes the suite's own server, expected at postgres@127.0.0.1")
    seen, err = _bootstrap(
        AGORA_TEST_PG_HOST=host, AGORA_TEST_PG_PORT=port, AGORA_TEST_REDIS_PORT=str(_closed_port())
    )
    assert seen["DATABASE_URL"] == f"postgres://postgres@{host}:{port}/agora"
    assert "AGORA_TEST_NO_POSTGRES_REASON" not in seen
    assert "SKIPPED" not in err


def test_a_local_redis_is_found_on_database_1_when_no_redis_url_is_set():
    if not settings.REDIS_URL:
        # `make test` sets REDIS_URL whenever Redis answers, so only a bare pytest without Redis gets here.
        if os.environ.get("CI"):
            pytest.fail("CI must export REDIS_URL")
        pytest.skip("no Redis configured for this run: nothing to find")
    from urllib.parse import urlsplit

    url = urlsplit(settings.REDIS_URL)
    seen, _ = _bootstrap(
        DATABASE_URL="sqlite:///x.sqlite3",
        AGORA_TEST_REDIS_HOST=url.hostname or "",
        AGORA_TEST_REDIS_PORT=str(url.port),
    )
    assert seen["REDIS_URL"] == f"redis://{url.hostname}:{url.port}/1"


def test_a_sqlite_run_ends_with_a_banner_naming_the_skipped_postgresql_tests(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "CI", "PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST")
    }
    env["AGORA_TEST_NO_POSTGRES_REASON"] = "nothing answered (a test)"
    # One PostgreSQL-only test, run on SQLite without CI=true: skipped, and the run says so at the end.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"{__file__}::test_postgres_marker_probe",
        ],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert "1 skipped" in result.stdout, result.stdout
    assert "PostgreSQL tests SKIPPED" in result.stdout
    assert "1 tests marked 'postgres' did not run: nothing answered (a test)" in result.stdout


@pytest.mark.postgres
def test_postgres_marker_probe():
    assert connection.vendor == "postgresql"
