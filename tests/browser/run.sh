#!/usr/bin/env bash
# Browser test of the admin page: starts the fake workers and Avio on free loopback ports with a temporary
# database, then drives headless Chromium through tests/browser/admin_page_test.py.
# Usage: tests/browser/run.sh            (from anywhere; paths are relative to the repo root)
# Env:   AVIO_BIN (default .build/debug/avio), PYTHON (default python3), CHROME_BIN, CHROMEDRIVER,
#        BROWSER_TEST_TIMEOUT (seconds, default 120), KEEP_TMP=1 keeps the temp folder.
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$(pwd)
AVIO_BIN=${AVIO_BIN:-.build/debug/avio}
PYTHON=${PYTHON:-python3}
OUT=test-output/browser

if [[ ! -x "$AVIO_BIN" ]]; then
    echo "browser test: $AVIO_BIN is not an executable (build it first or set AVIO_BIN)" >&2
    exit 2
fi
if ! "$PYTHON" -c 'import selenium' 2>/dev/null; then
    echo "browser test: the Python package selenium is missing (pip install selenium)" >&2
    exit 2
fi
for tool in "${CHROME_BIN:-/usr/bin/chromium}" "${CHROMEDRIVER:-/usr/bin/chromedriver}"; do
    if [[ ! -x "$tool" ]]; then
        echo "browser test: $tool is missing (apt-get install chromium chromium-driver)" >&2
        exit 2
    fi
done

mkdir -p "$OUT"
rm -f "$OUT"/*.png "$OUT"/*.log
TMP=$(mktemp -d "${TMPDIR:-/tmp}/avio-browser.XXXXXX")
PIDS=()

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ "${KEEP_TMP:-}" == 1 ]]; then echo "browser test: temp folder kept: $TMP"; else rm -rf "$TMP"; fi
    echo "browser test: screenshots and logs in $ROOT/$OUT/"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Three free loopback ports (Avio, fake Telegram worker, fake WhatsApp worker).
read -r APP_PORT TG_PORT WA_PORT < <("$PYTHON" - <<'EOF'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
for s in socks:
    s.close()
EOF
)

export ADMIN_TOKEN="browser-admin-$RANDOM$RANDOM"
export PUBLIC_KEY="browser-public-$RANDOM$RANDOM"
export WA_WEB_TOKEN="browser-waweb-$RANDOM$RANDOM"
export FAKE_TG_PASSWORD="browser-2fa-secret"
APP_URL="http://127.0.0.1:$APP_PORT"

ADMIN_TOKEN=$ADMIN_TOKEN WA_WEB_TOKEN=$WA_WEB_TOKEN APP_BASE_URL=$APP_URL FAKE_TG_PASSWORD=$FAKE_TG_PASSWORD \
    "$PYTHON" scripts/fake_workers.py --tg-port "$TG_PORT" --wa-port "$WA_PORT" >"$OUT/fake_workers.log" 2>&1 &
FAKE_PID=$!
PIDS+=($FAKE_PID)

env PORT="$APP_PORT" HOST=127.0.0.1 DATABASE_URL="$TMP/avio.sqlite" TG_SESSIONS_DIR="$TMP/tg-sessions" \
    APP_BASE_URL="$APP_URL" TGWORKER_BASE_URL="http://127.0.0.1:$TG_PORT" WAWEB_BASE_URL="http://127.0.0.1:$WA_PORT" \
    OUTBOX_ENABLED=true OUTBOX_WHITELIST='*' LOG_LEVEL=info \
    "$AVIO_BIN" serve >"$OUT/avio.log" 2>&1 &
AVIO_PID=$!
PIDS+=($AVIO_PID)

# Wait (up to 20 s) for Avio's /health and the fake workers.
up() { curl -fs -o /dev/null --max-time 1 "$1"; }
for i in $(seq 1 100); do
    if up "$APP_URL/health" && up "http://127.0.0.1:$TG_PORT/health" && up "http://127.0.0.1:$WA_PORT/health"; then break; fi
    if ! kill -0 "$AVIO_PID" 2>/dev/null; then
        echo "browser test: avio exited during start-up; its log:" >&2; tail -n 30 "$OUT/avio.log" >&2; exit 1
    fi
    if [[ $i == 100 ]]; then
        echo "browser test: avio or the fake workers did not come up in 20 s" >&2; tail -n 30 "$OUT/avio.log" >&2; exit 1
    fi
    sleep 0.2
done
echo "browser test: avio $APP_URL (pid $AVIO_PID), fake workers telegram :$TG_PORT whatsapp :$WA_PORT (pid $FAKE_PID)"

status=0
# The scenario enforces BROWSER_TEST_TIMEOUT itself (SIGALRM), so Ctrl-C still reaches it and closes the browser.
BASE_URL=$APP_URL TG_FAKE_URL="http://127.0.0.1:$TG_PORT" WA_FAKE_URL="http://127.0.0.1:$WA_PORT" OUT_DIR="$OUT" \
    BROWSER_TEST_TIMEOUT="${BROWSER_TEST_TIMEOUT:-120}" "$PYTHON" tests/browser/admin_page_test.py || status=$?
if [[ $status != 0 ]]; then
    echo "browser test: FAILED (exit $status)" >&2
    # a helper that died under the test (killed from outside, crashed) explains most "connection refused" failures
    for name_pid in "avio:$AVIO_PID" "fake workers:$FAKE_PID"; do
        pid=${name_pid##*:}
        if ! kill -0 "$pid" 2>/dev/null; then
            rc=0; wait "$pid" 2>/dev/null || rc=$?
            echo "browser test: ${name_pid%:*} (pid $pid) was no longer running during the test (exit status $rc)" >&2
        fi
    done
    echo "browser test: last lines of $OUT/avio.log:" >&2
    tail -n 20 "$OUT/avio.log" >&2
    echo "browser test: last lines of $OUT/fake_workers.log:" >&2
    tail -n 5 "$OUT/fake_workers.log" >&2
fi
exit "$status"
