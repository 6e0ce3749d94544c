#!/usr/bin/env bash
# Everything `make demo` runs beside the web server, started and stopped here:
#   start    localstripe (Stripe's API and Stripe.js) on :8420, a ganache JSON-RPC chain (id 1337)
#            on :8545 and, when REDIS_URL is not set and `redis-server` is installed, a private Redis
#            on :DEMO_REDIS_PORT that keeps nothing on disk (idempotent: reused when already up).
#   worker   a Celery worker with beat (the periodic work: health probes, settlement, escrow
#            releases, renewals) on Redis when REDIS_URL is set, else on the embedded filesystem
#            broker under .demo/celery (config.django.local).
#   providers two local providers
#            (`manage.py run_provider`: a real Triton serving the demo models, registered as nodes
#            of provider@agora.local) on PROVIDER1_PORT and PROVIDER2_PORT (HTTP; gRPC and metrics
#            on the next two ports).
#   stop     ends all of them: SIGTERM, a wait for a clean exit, SIGKILL after STOP_WAIT seconds.
#   run      the whole demo in the foreground: start, migrate, load the demo data, the worker and
#            the providers, then
#            runserver on HOST:PORT; Ctrl-C (or any failure) stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=.demo
PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
STRIPE_PORT=8420
CHAIN_PORT=8545
GANACHE_VERSION=7.9.2
PROVIDER1_PORT=${PROVIDER1_PORT:-8101}
PROVIDER2_PORT=${PROVIDER2_PORT:-8104}
PROVIDER_EMAIL=${PROVIDER_EMAIL:-provider@agora.local}
STOP_WAIT=${STOP_WAIT:-30}
DEMO_REDIS_PORT=${DEMO_REDIS_PORT:-6390}
SERVICES="web localstripe ganache celery provider-1 provider-2 redis"
mkdir -p "$DEMO"

wait_for() {  # url, name[, seconds]
  for _ in $(seq 1 "${3:-60}"); do
    if curl -s -o /dev/null "$1"; then return 0; fi
    sleep 1
  done
  echo "  $2 did not start; see $DEMO/$2.log" >&2
  return 1
}

alive() {  # name: its pid file names a running process
  [ -f "$DEMO/$1.pid" ] && kill -0 "$(cat "$DEMO/$1.pid")" 2>/dev/null
}

# The gateway's counters, request log and node health are shared by the web server, the worker and
# every provider process through Redis. Without it each process would keep its own copy in memory,
# and the worker could never settle the calls the web server metered.
shared_store() {
  if [ -n "${REDIS_URL:-}" ]; then return 0; fi
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "  redis-server is not installed: metered calls stay in the web server's memory and are not" >&2
    echo "  settled by the worker. Install Debian's redis-server (or set REDIS_URL) for the full demo." >&2
    return 0
  fi
  if ! redis-cli -p "$DEMO_REDIS_PORT" ping >/dev/null 2>&1; then
    redis-server --bind 127.0.0.1 --port "$DEMO_REDIS_PORT" --save "" --appendonly no \
      --dir "$DEMO" > "$DEMO/redis.log" 2>&1 &
    echo $! > "$DEMO/redis.pid"
    for _ in $(seq 1 30); do redis-cli -p "$DEMO_REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.2; done
  fi
  export REDIS_URL="redis://127.0.0.1:$DEMO_REDIS_PORT/0"
}

start() {
  shared_store
  if ! curl -s -o /dev/null "http://127.0.0.1:$STRIPE_PORT/js.stripe.com/v3/"; then
    .venv/bin/localstripe --port "$STRIPE_PORT" > "$DEMO/localstripe.log" 2>&1 &
    echo $! > "$DEMO/localstripe.pid"
  fi
  wait_for "http://127.0.0.1:$STRIPE_PORT/js.stripe.com/v3/" localstripe
  # localstripe posts signed webhooks to the demo server, as Stripe would.
  curl -s -o /dev/null -X POST "http://127.0.0.1:$STRIPE_PORT/_config/webhooks/agora" \
    -d "url=http://$HOST:$PORT/webhooks/stripe/" -d "secret=whsec_local_demo"

  if [ ! -x "$DEMO/node_modules/.bin/ganache" ]; then
    echo "  installing ganache@$GANACHE_VERSION from the npm registry (once, ~180 MB)"
    npm install --prefix "$DEMO" --silent --no-audit --no-fund "ganache@$GANACHE_VERSION" > "$DEMO/npm.log" 2>&1
  fi
  if ! curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
      -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "http://127.0.0.1:$CHAIN_PORT"; then
    # A block a second, so confirmations accrue on an idle chain.
    "$DEMO/node_modules/.bin/ganache" --port "$CHAIN_PORT" --wallet.deterministic --chain.chainId 1337 \
      --miner.blockTime 1 --logging.quiet > "$DEMO/ganache.log" 2>&1 &
    echo $! > "$DEMO/ganache.pid"
  fi
  for _ in $(seq 1 60); do
    curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
      -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "http://127.0.0.1:$CHAIN_PORT" && return 0
    sleep 1
  done
  echo "  ganache did not start; see $DEMO/ganache.log" >&2
  return 1
}

worker() {
  if ! alive celery; then
    # Its output (mail printed by the console backend, warnings) goes to this terminal.
    "$PY" -m celery -A config worker --beat --schedule "$DEMO/celerybeat-schedule" --loglevel=WARNING \
      --concurrency=2 --without-mingle --without-gossip --without-heartbeat &
    echo $! > "$DEMO/celery.pid"
  fi
}

providers() {
  local number=1
  for http in "$PROVIDER1_PORT" "$PROVIDER2_PORT"; do
    local name="provider-$number"
    if ! alive "$name"; then
      "$PY" manage.py run_provider --email "$PROVIDER_EMAIL" --name "demo-node-$number" --host 127.0.0.1 \
        --http-port "$http" --grpc-port $((http + 1)) --metrics-port $((http + 2)) > "$DEMO/$name.log" 2>&1 &
      echo $! > "$DEMO/$name.pid"
    fi
    number=$((number + 1))
  done
  # The first start trains the demo models (cached under .demo/models afterwards).
  wait_for "http://127.0.0.1:$PROVIDER1_PORT/v2/health/ready" provider-1 180
  wait_for "http://127.0.0.1:$PROVIDER2_PORT/v2/health/ready" provider-2 180
}

stop() {
  local pids=""
  for name in $SERVICES; do
    if [ -f "$DEMO/$name.pid" ]; then
      local pid
      pid=$(cat "$DEMO/$name.pid")
      if kill -TERM "$pid" 2>/dev/null; then pids="$pids $pid"; fi
      rm -f "$DEMO/$name.pid"
    fi
  done
  # Providers stop their Triton and the worker finishes its task: give them time, then insist.
  for _ in $(seq 1 "$STOP_WAIT"); do
    local running=""
    for pid in $pids; do kill -0 "$pid" 2>/dev/null && running="$running $pid"; done
    pids=$running
    [ -z "$pids" ] && return 0
    sleep 1
  done
  for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
}

run() {
  trap stop EXIT
  trap 'exit 130' INT TERM
  start
  "$PY" manage.py migrate --noinput
  # The loaders are one-shot scripts: their tasks (search index, mail) run in-process.
  CELERY_TASK_ALWAYS_EAGER=true "$PY" manage.py load_demo_data
  CELERY_TASK_ALWAYS_EAGER=true "$PY" manage.py load_demo_ledger
  CELERY_TASK_ALWAYS_EAGER=true "$PY" manage.py load_demo_catalog
  CELERY_TASK_ALWAYS_EAGER=true "$PY" manage.py load_demo_inference
  CELERY_TASK_ALWAYS_EAGER=true "$PY" manage.py load_demo_epochs
  CELERY_TASK_ALWAYS_EAGER=true "$PY" manage.py load_demo_governance
  CELERY_TASK_ALWAYS_EAGER=true "$PY" manage.py chain_deploy
  worker
  providers
  cat <<EOF

  Agora is running at http://$HOST:$PORT/
  Stripe (localstripe): http://127.0.0.1:$STRIPE_PORT   Chain (ganache): http://127.0.0.1:$CHAIN_PORT, chain id 1337
  Providers (real Triton, demo models): http://127.0.0.1:$PROVIDER1_PORT and http://127.0.0.1:$PROVIDER2_PORT
  Celery worker with beat: $( [ -n "${REDIS_URL:-}" ] && echo "on Redis ($REDIS_URL)" || echo "on the filesystem broker in $DEMO/celery" )
  Demo logins (password agora-demo-2026): buyer@agora.local, creator@agora.local,
  provider@agora.local, admin@agora.local (staff, /admin/). API docs: http://$HOST:$PORT/api/docs/
  Emails (verification codes, password resets) are printed below. Stop with Ctrl-C.

EOF
  # In the background and waited for, so a signal to this script runs its trap at once (bash
  # defers traps while a foreground child runs); without the autoreloader, one process to stop.
  "$PY" manage.py runserver --noreload "$HOST:$PORT" &
  echo $! > "$DEMO/web.pid"
  wait "$!"
}

"${1:-start}"
