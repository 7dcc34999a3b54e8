#!/usr/bin/env bash
# Avio load benchmark (`make bench`). Method and caveats: bench/README.md.
#
# Starts the release binary on loopback with a fresh SQLite file and a fast fake worker (bench/fake_worker.c),
# measures ceilings and real routes in the same run, verifies what was committed, and prints ONE markdown table
# (bench/report.py) on stdout. Progress goes to stderr. Exit 0 when the run completed and every check of
# correctness passed (targets missed are reported in the table, not as a failure); exit 1 when something could not
# be measured or an acknowledged webhook is missing from webhook_events.
#
# Env: AVIO_BIN (default .build-release/release/avio), BENCH_DURATION (s per wrk run, 10), BENCH_THREADS (wrk
# threads, 2), BENCH_SEND_CONNS (16), BENCH_E2E_RATE (msg/s, 200), BENCH_E2E_SECONDS (10), BENCH_TMPDIR (where the
# temp folder with the database goes; default $TMPDIR or /tmp — must be a real disk, not tmpfs, for fsync to count),
# BENCH_KEEP=1 keeps that folder (logs, database, raw wrk output).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
AVIO_BIN=${AVIO_BIN:-.build-release/release/avio}
[[ "$AVIO_BIN" = /* ]] || AVIO_BIN="$ROOT/$AVIO_BIN"
DURATION=${BENCH_DURATION:-10}
THREADS=${BENCH_THREADS:-2}
SEND_CONNS=${BENCH_SEND_CONNS:-16}
E2E_RATE=${BENCH_E2E_RATE:-200}
E2E_SECONDS=${BENCH_E2E_SECONDS:-10}

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; [[ -n "${WORK:-}" && -f "$WORK/avio.log" ]] && { log "last server log lines:"; tail -20 "$WORK/avio.log" >&2; }; exit 1; }

for tool in wrk gcc python3 curl; do command -v "$tool" >/dev/null || die "$tool is missing (make deps-bench installs wrk; gcc, python3, curl are expected)"; done
[[ -x "$AVIO_BIN" ]] || die "no binary at $AVIO_BIN (build it with: make release)"
[[ -f /usr/include/sqlite3.h ]] || die "sqlite3.h missing (libsqlite3-dev)"

WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/avio-bench.XXXXXX")
DB="$WORK/avio.sqlite"
RESULTS="$WORK/results.env"
AVIO_PID="" FAKE_PID="" SAMPLER_PID="" LOAD_PID=""
cleanup() {
    set +e
    local pid
    for pid in "$LOAD_PID" "$SAMPLER_PID" "$AVIO_PID" "$FAKE_PID"; do
        if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
    done
    if [[ "${BENCH_KEEP:-0}" = 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Load generators run in the background and are waited for, so that INT/TERM are handled at once (bash defers traps
# while a foreground child runs) and cleanup can stop them.
run_load() { # run_load OUTFILE CMD...: runs CMD with stdout+stderr to OUTFILE; returns its status
    local out=$1 rc=0
    shift
    "$@" >"$out" 2>&1 &
    LOAD_PID=$!
    wait "$LOAD_PID" || rc=$?
    LOAD_PID=""
    return "$rc"
}

put() { printf '%s=%s\n' "$1" "$2" >> "$RESULTS"; }
now_ns() { date +%s%N; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$AVIO_PID/status"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
sql() { python3 - "$DB" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
print(db.execute(sys.argv[2]).fetchone()[0])
PY
}

# ---------------------------------------------------------------- helpers and machine
log "work dir $WORK"
gcc -O2 -o "$WORK/fake_worker" "$BENCH/fake_worker.c"
gcc -O2 -o "$WORK/sqlite_ceiling" "$BENCH/sqlite_ceiling.c" -lsqlite3
put fs "$(findmnt -no FSTYPE,SOURCE -T "$WORK" 2>/dev/null | tr -s " " || stat -f -c %T "$WORK")"
put nproc "$(nproc)"
put cpu "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
put mem_mb "$(awk '/^MemTotal:/ {printf "%d", $2/1024}' /proc/meminfo)"
put kernel "$(uname -r)"
put sqlite "$(python3 -c 'import sqlite3; print(sqlite3.sqlite_version)')"
put wrk_version "$(wrk -v 2>&1 | head -1 | awk '{print $2}')"
put duration "$DURATION"
put threads "$THREADS"
put send_conns "$SEND_CONNS"
put bin_bytes "$(stat -c %s "$AVIO_BIN")"
# Size as given, and of a stripped copy (what `make release` ships); the original is never modified.
if command -v strip >/dev/null && strip -o "$WORK/avio.stripped" "$AVIO_BIN" 2>/dev/null; then
    put bin_stripped_bytes "$(stat -c %s "$WORK/avio.stripped")"
    put bin_is_stripped "$( (( $(stat -c %s "$WORK/avio.stripped") < $(stat -c %s "$AVIO_BIN") )) && echo no || echo yes)"
    rm -f "$WORK/avio.stripped"
else
    put bin_is_stripped unknown
fi

# ---------------------------------------------------------------- storage ceiling (server not started yet)
log "storage ceiling: C + libsqlite3, WAL, synchronous=FULL, 64 events/transaction (5 s), then 1 event/transaction (2 s)"
line=$("$WORK/sqlite_ceiling" "$WORK/ceiling64.sqlite" 5 64)
put storage64_rows_per_s "$(sed -E 's/.*rows_per_s=([0-9]+).*/\1/' <<<"$line")"
put storage64_commits_per_s "$(sed -E 's/.*commits_per_s=([0-9]+).*/\1/' <<<"$line")"
line=$("$WORK/sqlite_ceiling" "$WORK/ceiling1.sqlite" 2 1)
put storage1_commits_per_s "$(sed -E 's/.*commits_per_s=([0-9]+).*/\1/' <<<"$line")"
rm -f "$WORK"/ceiling*.sqlite*

# ---------------------------------------------------------------- fake worker and server
PORT=$(free_port)
WPORT=$(free_port)
while [[ "$WPORT" = "$PORT" ]]; do WPORT=$(free_port); done
BASE="http://127.0.0.1:$PORT"
ADMIN_TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
PUBLIC_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
WA_WEB_TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(16))')

"$WORK/fake_worker" "$WPORT" >"$WORK/fake.log" 2>&1 &
FAKE_PID=$!
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$WPORT/_count" && break; sleep 0.02; done
curl -fs -o /dev/null "http://127.0.0.1:$WPORT/_count" || die "fake worker did not start"

log "starting $AVIO_BIN on $BASE (fake worker on :$WPORT, LOG_LEVEL=warning, fresh $DB)"
start_ns=$(now_ns)
env PORT="$PORT" HOST=127.0.0.1 DATABASE_URL="$DB" ADMIN_TOKEN="$ADMIN_TOKEN" PUBLIC_KEY="$PUBLIC_KEY" \
    WA_WEB_TOKEN="$WA_WEB_TOKEN" TGWORKER_BASE_URL="http://127.0.0.1:$WPORT" WAWEB_BASE_URL="http://127.0.0.1:$WPORT" \
    APP_BASE_URL="$BASE" OUTBOX_ENABLED=true OUTBOX_WHITELIST="*" LOG_LEVEL=warning \
    "$AVIO_BIN" serve >"$WORK/avio.log" 2>&1 &
AVIO_PID=$!
until curl -fs -o /dev/null --max-time 1 "$BASE/health"; do
    kill -0 "$AVIO_PID" 2>/dev/null || die "avio exited during startup"
    (( $(now_ns) - start_ns < 30000000000 )) || die "no /health 200 within 30 s"
    sleep 0.005
done
put startup_ms "$(( ($(now_ns) - start_ns) / 1000000 ))"
sleep 2
put rss_idle_kb "$(rss_kb)"
put rss_idle_anon_kb "$(awk '/^RssAnon:/ {print $2}' "/proc/$AVIO_PID/status")"
put rss_idle_file_kb "$(awk '/^RssFile:/ {print $2}' "/proc/$AVIO_PID/status")"

TOKEN=$(curl -fsS -H "X-Admin-Token: $ADMIN_TOKEN" "$BASE/admin/provider-token/1" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["provider_token"])') || die "could not get tenant 1's provider token"
[[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/nope")" = 404 ]] || die "GET /nope is not 404"
probe=$(curl -s -X POST -H 'Content-Type: application/json' "$BASE/webhook?token=$TOKEN" \
    -d '{"event":"messages.incoming","tenant":1,"channel":"whatsapp","message_id":"probe-1","from":"79991234567","text":"hi"}')
[[ "$probe" == *'"queued":true'* ]] || die "webhook probe failed: $probe"
probe=$(curl -s -X POST -H 'Content-Type: application/json' -H "X-Admin-Token: $ADMIN_TOKEN" "$BASE/send" \
    -d '{"tenant":1,"channel":"whatsapp","to":"79991234567","text":"x"}')
[[ "$probe" == *'"ok":true'* ]] || die "send probe failed: $probe"

# RSS sampler for the load phases (kB, every 100 ms).
( while kill -0 "$AVIO_PID" 2>/dev/null; do awk '/^VmRSS:/ {print $2}' "/proc/$AVIO_PID/status" 2>/dev/null; sleep 0.1; done ) \
    >"$WORK/rss.log" &
SAMPLER_PID=$!

# ---------------------------------------------------------------- wrk runs
# CPU accounting per run, in clock ticks: avio's own (utime+stime), wrk's (bash `times`: CPU of reaped children of
# this shell, so it must run in this shell, not in $(…)), and the whole machine's busy time from /proc/stat. What is
# left (machine − avio − wrk) is load from other processes, reported so that a noisy run can be recognised.
TCK=$(getconf CLK_TCK)
avio_ticks() { awk '{print $14 + $15}' "/proc/$AVIO_PID/stat"; }
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
# children_ticks must be called as `times >"$WORK/times.txt"; x=$(children_ticks)`: `times` itself has to run in
# this shell (inside $(…) it would report the subshell's children).
children_ticks() {
    awk -v tck="$TCK" 'NR == 2 {
        n = split($0, f, " "); total = 0
        for (i = 1; i <= n; i++) { split(f[i], ms, "m"); sub("s", "", ms[2]); total += ms[1] * 60 + ms[2] }
        printf "%d\n", total * tck }' "$WORK/times.txt"
}

# run_wrk NAME CONNS SCRIPT [PATH]: one wrk run; its "WRK k=v …" line becomes NAME_k=v in the results, plus
# NAME_avio_cores, NAME_wrk_cores, NAME_other_cores (average CPU cores used during the run).
run_wrk() {
    local name=$1 conns=$2 script=$3 path=${4:-/} a0 m0 c0 t0 a1 m1 c1 t1 rc=0
    log "wrk $name: $conns connections, $THREADS threads, ${DURATION}s ($script)"
    times >"$WORK/times.txt"; c0=$(children_ticks); a0=$(avio_ticks); m0=$(machine_ticks); t0=$(now_ns)
    AVIO_TOKEN="$TOKEN" ADMIN_TOKEN="$ADMIN_TOKEN" BENCH_PREFIX="$name" \
        run_load "$WORK/wrk-$name.txt" wrk -t"$THREADS" -c"$conns" -d"${DURATION}s" --timeout 10s -s "$BENCH/$script" "$BASE$path" ||
        rc=$?
    a1=$(avio_ticks); m1=$(machine_ticks); t1=$(now_ns); times >"$WORK/times.txt"; c1=$(children_ticks)
    (( rc == 0 )) || die "wrk $name failed: $(tail -5 "$WORK/wrk-$name.txt")"
    local line secs
    line=$(grep '^WRK ' "$WORK/wrk-$name.txt") || die "wrk $name printed no result line"
    put "${name}_conns" "$conns"
    for kv in ${line#WRK }; do put "${name}_${kv%%=*}" "${kv#*=}"; done
    secs=$(( (t1 - t0) / 1000000 ))   # ms
    put "${name}_avio_cores" "$(awk -v t="$(( a1 - a0 ))" -v k="$TCK" -v ms="$secs" 'BEGIN {printf "%.2f", t / k / (ms / 1000)}')"
    put "${name}_wrk_cores" "$(awk -v t="$(( c1 - c0 ))" -v k="$TCK" -v ms="$secs" 'BEGIN {printf "%.2f", t / k / (ms / 1000)}')"
    put "${name}_other_cores" "$(awk -v m="$(( m1 - m0 ))" -v a="$(( a1 - a0 ))" -v c="$(( c1 - c0 ))" -v k="$TCK" -v ms="$secs" \
        'BEGIN {o = (m - a - c) / k / (ms / 1000); printf "%.2f", o < 0 ? 0 : o}')"
}

pending() { sql "SELECT COUNT(*) FROM inbox WHERE status = 'pending'"; }
# wait_inbox NAME: lets the inbox worker finish the backlog left by an ingest run, so that the next run starts from
# an idle server; records how long it took (the inbox worker's catch-up rate).
wait_inbox() {
    local name=$1 t0 left
    t0=$(now_ns)
    left=$(pending)
    put "${name}_backlog" "$left"
    while (( left > 0 )) && (( $(now_ns) - t0 < 120000000000 )); do sleep 0.2; left=$(pending); done
    put "${name}_drain_ms" "$(( ($(now_ns) - t0) / 1000000 ))"
    put "${name}_left" "$left"
    log "inbox backlog after $name: $(grep "^${name}_backlog=" "$RESULTS" | cut -d= -f2) jobs, drained in $(( ($(now_ns) - t0) / 1000000 )) ms (left $left)"
}

# verify NAME: rows of this run in webhook_events (the message_id prefix is the run name) against wrk's 2xx count.
verify() {
    local name=$1
    sleep 0.5   # let requests in flight when wrk stopped finish
    put "${name}_rows" "$(sql "SELECT COUNT(*) FROM webhook_events WHERE message_id LIKE '${name}-%'")"
    put "${name}_msg_rows" "$(sql "SELECT COUNT(*) FROM messages WHERE direction = 'in' AND provider_message_id LIKE '${name}-%'")"
}

run_wrk http16 16 ceiling.lua /nope
run_wrk ingest16 16 ingest.lua
verify ingest16
wait_inbox ingest16
run_wrk http64 64 ceiling.lua /nope
run_wrk ingest64 64 ingest.lua
verify ingest64
wait_inbox ingest64
BENCH_REFUSED=1 run_wrk refused64 64 ingest.lua
put refused64_rows "$(sql "SELECT COUNT(*) FROM webhook_events WHERE message_id LIKE 'refused64-%'")"
before=$(curl -fs "http://127.0.0.1:$WPORT/_count" | tr -dc 0-9)
run_wrk send "$SEND_CONNS" send.lua /send
sleep 0.5
put send_worker_requests "$(( $(curl -fs "http://127.0.0.1:$WPORT/_count" | tr -dc 0-9) - before ))"
put send_msg_rows "$(sql "SELECT COUNT(*) FROM messages WHERE direction = 'out' AND text = 'x'")"
put rss_load_peak_kb "$(sort -n "$WORK/rss.log" | tail -1)"

# ---------------------------------------------------------------- inbound end to end
log "inbound end to end: $E2E_RATE msg/s for ${E2E_SECONDS}s (open loop, bench/e2e.py)"
run_load "$WORK/e2e.txt" python3 "$BENCH/e2e.py" --port "$PORT" --token "$TOKEN" --db "$DB" --rate "$E2E_RATE" \
    --seconds "$E2E_SECONDS" --prefix e2e || die "e2e.py failed: $(tail -5 "$WORK/e2e.txt")"
line=$(grep '^E2E ' "$WORK/e2e.txt") || die "e2e.py printed no result line: $(tail -5 "$WORK/e2e.txt")"
put e2e_rate "$E2E_RATE"
for kv in ${line#E2E }; do put "e2e_${kv%%=*}" "${kv#*=}"; done
kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=""
sleep 1
put rss_after_kb "$(rss_kb)"
put rss_hwm_kb "$(awk '/^VmHWM:/ {print $2}' "/proc/$AVIO_PID/status")"
put server_errors "$(grep -ciE 'error|critical' "$WORK/avio.log" || true)"

# ---------------------------------------------------------------- stop and report
kill "$AVIO_PID"; wait "$AVIO_PID" 2>/dev/null || true; AVIO_PID=""
kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null || true; FAKE_PID=""
log "done; rendering the table"
python3 "$BENCH/report.py" "$RESULTS"
