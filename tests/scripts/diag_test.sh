#!/usr/bin/env bash
# Runs scripts/diag.sh against a real `avio serve` (no workers: the Telegram check reports "worker down" and passes):
# it must pass with the right token and fail (exit 1) with a wrong one, and never print the secrets.
set -euo pipefail
cd "$(dirname "$0")/../.."
AVIO_BIN=${AVIO_BIN:-.build/debug/avio}
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
admin="diag-admin-$RANDOM$RANDOM" public="diag-public-$RANDOM$RANDOM"
PORT=$port HOST=127.0.0.1 DATABASE_URL="$tmp/avio.sqlite" ADMIN_TOKEN=$admin PUBLIC_KEY=$public LOG_LEVEL=warning \
  TGWORKER_BASE_URL=http://127.0.0.1:9 WAWEB_BASE_URL=http://127.0.0.1:9 "$AVIO_BIN" serve >"$tmp/avio.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done

fail() { echo "diag test FAILED: $*"; cat "$tmp/out"; exit 1; }
AVIO_URL="http://127.0.0.1:$port" ADMIN_TOKEN=$admin PUBLIC_KEY=$public DIAG_VERBOSE=1 DIAG_TIMEOUT=5 scripts/diag.sh >"$tmp/out" 2>&1 \
  || fail "diag.sh failed against a healthy server"
grep -q " 0 failed" "$tmp/out" || fail "no '0 failed' summary"
! grep -q -e "$admin" -e "$public" "$tmp/out" || fail "a secret was printed"
if AVIO_URL="http://127.0.0.1:$port" ADMIN_TOKEN=wrong-token PUBLIC_KEY=$public DIAG_TIMEOUT=5 scripts/diag.sh >"$tmp/out" 2>&1; then
    fail "diag.sh passed with a wrong admin token"
fi
echo "diag test passed: $(grep -c '✓' <(AVIO_URL="http://127.0.0.1:$port" ADMIN_TOKEN=$admin PUBLIC_KEY=$public scripts/diag.sh 2>&1)) checks ✓ with the right token, failure detected with a wrong one"
