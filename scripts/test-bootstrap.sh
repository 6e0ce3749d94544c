#!/usr/bin/env bash
# Prepare a machine for the test suite, then run the command given (`make test` passes pytest).
#
#   scripts/test-bootstrap.sh .venv/bin/python -m pytest [args]
#
# Used by `make test` and so by `.ci/run`, so that a fresh machine and CI run the same suite:
#   1. Browser tests drive Debian's Chromium (/usr/bin/chromium, never `playwright install`): when it
#      is missing it is installed with apt-get as root (or passwordless sudo); otherwise this stops
#      with the command to run, since every browser test would fail without it.
#   2. With no DATABASE_URL, a PostgreSQL answering on 127.0.0.1:5432 (user postgres) is used, so the
#      PostgreSQL-only tests run instead of skipping; pytest-django creates and drops its own
#      `test_agora` database there and never touches `agora`. Likewise REDIS_URL, with Redis
#      database 1, because the suite flushes its cache database.
#   3. With neither, the embedded SQLite run says plainly which tests are skipped and why. CI=true
#      keeps turning those skips into failures (tests/conftest.py).
# An exported DATABASE_URL / REDIS_URL (CI, a developer's own) is always kept as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
CHROMIUM=/usr/bin/chromium
# Where to look for local services (overridable, e.g. by tests/core/test_test_bootstrap.py).
PG_HOST="${AGORA_TEST_PG_HOST:-127.0.0.1}" PG_PORT="${AGORA_TEST_PG_PORT:-5432}"
REDIS_HOST="${AGORA_TEST_REDIS_HOST:-127.0.0.1}" REDIS_PORT="${AGORA_TEST_REDIS_PORT:-6379}"

say() { printf '[test-bootstrap] %s\n' "$*" >&2; }

# --- 1. Chromium -------------------------------------------------------------------------------
# (AGORA_TEST_BOOTSTRAP_SERVICES_ONLY=1: the service probes alone, as the bootstrap's own tests run
# it, so that a test never installs packages.)
if [ -n "${AGORA_TEST_BOOTSTRAP_SERVICES_ONLY:-}" ]; then
  :
elif [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    say "$CHROMIUM is missing and the browser tests need it. Install Debian's package as root:"
    say "    sudo apt-get update && sudo apt-get install -y chromium"
    say "then run 'make test' again (or run it as root and this script installs it)."
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    say "$CHROMIUM is missing and this machine has no apt-get: install Chromium so that $CHROMIUM runs."
    exit 1
  fi
  say "Installing Debian's chromium for the browser tests (apt-get)."
  ${as_root[@]+"${as_root[@]}"} apt-get update -qq
  ${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
[ -n "${AGORA_TEST_BOOTSTRAP_SERVICES_ONLY:-}" ] || say "Browser: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"

# --- 2. PostgreSQL and Redis on loopback, when nothing is configured ---------------------------
# Probed with the project's own drivers (psycopg, redis), so no client tools are needed.
probe_postgres() {
  "$PY" - "$1" <<'EOF' >/dev/null 2>&1
import sys, psycopg
psycopg.connect(sys.argv[1], connect_timeout=3).execute("SELECT 1")
EOF
}
probe_redis() {
  "$PY" - "$1" <<'EOF' >/dev/null 2>&1
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=3).ping()
EOF
}

if [ -z "${DATABASE_URL:-}" ]; then
  if probe_postgres "postgresql://postgres@$PG_HOST:$PG_PORT/postgres"; then
    export DATABASE_URL="postgres://postgres@$PG_HOST:$PG_PORT/agora"
    say "PostgreSQL answers on $PG_HOST:$PG_PORT: DATABASE_URL=$DATABASE_URL (tests use test_agora)."
  else
    export AGORA_TEST_NO_POSTGRES_REASON="no DATABASE_URL was set and no PostgreSQL answered on $PG_HOST:$PG_PORT (user postgres)"
    say "SQLite run: $AGORA_TEST_NO_POSTGRES_REASON."
    say "The tests marked 'postgres' (row locks, triggers, parallel connections) will be SKIPPED."
    say "Start PostgreSQL there, or export DATABASE_URL=postgres://USER@HOST:PORT/NAME, to run them."
  fi
else
  say "DATABASE_URL is set: using it."
fi

if [ -z "${REDIS_URL:-}" ]; then
  if probe_redis "redis://$REDIS_HOST:$REDIS_PORT/1"; then
    export REDIS_URL="redis://$REDIS_HOST:$REDIS_PORT/1"
    say "Redis answers on $REDIS_HOST:$REDIS_PORT: REDIS_URL=$REDIS_URL."
  else
    say "No Redis on $REDIS_HOST:$REDIS_PORT: the cache is in memory for this run."
  fi
else
  say "REDIS_URL is set: using it."
fi

[ "$#" -gt 0 ] || exit 0
exec "$@"
