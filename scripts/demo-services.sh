#!/usr/bin/env bash
# Local stand-ins for the payment rails, for `make demo`: localstripe (Stripe's API and Stripe.js)
# on :8420 and a ganache JSON-RPC chain (id 1337) on :8545. `start` is idempotent; `stop` ends both.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=.demo
STRIPE_PORT=8420
CHAIN_PORT=8545
GANACHE_VERSION=7.9.2
mkdir -p "$DEMO"

wait_for() {  # url, name
  for _ in $(seq 1 60); do
    if curl -s -o /dev/null "$1"; then return 0; fi
    sleep 1
  done
  echo "  $2 did not start; see $DEMO/$2.log" >&2
  return 1
}

start() {
  if ! curl -s -o /dev/null "http://127.0.0.1:$STRIPE_PORT/js.stripe.com/v3/"; then
    .venv/bin/localstripe --port "$STRIPE_PORT" > "$DEMO/localstripe.log" 2>&1 &
    echo $! > "$DEMO/localstripe.pid"
  fi
  wait_for "http://127.0.0.1:$STRIPE_PORT/js.stripe.com/v3/" localstripe
  # localstripe posts signed webhooks to the demo server, as Stripe would.
  curl -s -o /dev/null -X POST "http://127.0.0.1:$STRIPE_PORT/_config/webhooks/agora" \
    -d "url=http://${HOST:-127.0.0.1}:${PORT:-8000}/webhooks/stripe/" -d "secret=whsec_local_demo"

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

stop() {
  for name in localstripe ganache; do
    if [ -f "$DEMO/$name.pid" ]; then
      kill "$(cat "$DEMO/$name.pid")" 2>/dev/null || true
      rm -f "$DEMO/$name.pid"
    fi
  done
}

"${1:-start}"
