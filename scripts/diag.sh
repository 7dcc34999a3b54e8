#!/usr/bin/env bash
# Avio end-to-end diagnostics against a running server (CONTRACT §8; `make diag`, `make diag-verbose`).
#
#   AVIO_URL      base URL of the API            [http://127.0.0.1:8000]
#   ADMIN_TOKEN   admin token (required)
#   PUBLIC_KEY    public key for /pub/*          [falls back to ADMIN_TOKEN: compatibility mode]
#   DIAG_TENANT   tenant used by the checks      [1]
#   DIAG_VERBOSE  1 prints each request and response (secrets masked)
#   DIAG_TIMEOUT  seconds per request            [10]
#
# One line per check (✓/✗), then "N passed, M failed"; exit 1 when a check failed, 2 on a usage error.
# Side effects on the server: the tenant's provider token is created if it did not exist, and one `ready` webhook
# event is stored and queued for DIAG_TENANT (the WhatsApp state of that tenant is marked ready).
# Needs only curl and python3. Secrets never appear on a command line (curl reads them from stdin) or in output.
set -u

AVIO_URL=${AVIO_URL:-http://127.0.0.1:8000}
AVIO_URL=${AVIO_URL%/}
DIAG_TENANT=${DIAG_TENANT:-1}
DIAG_VERBOSE=${DIAG_VERBOSE:-0}
DIAG_TIMEOUT=${DIAG_TIMEOUT:-10}

if [[ -z ${ADMIN_TOKEN:-} ]]; then
    echo "diag: ADMIN_TOKEN is required (export ADMIN_TOKEN=...)" >&2
    exit 2
fi
PUBLIC_KEY_NOTE=""
if [[ -z ${PUBLIC_KEY:-} ]]; then
    PUBLIC_KEY=$ADMIN_TOKEN
    PUBLIC_KEY_NOTE=" (PUBLIC_KEY unset: using ADMIN_TOKEN, compatibility mode)"
fi
if ! [[ $DIAG_TENANT =~ ^[0-9]+$ ]] || (( 10#$DIAG_TENANT < 1 )); then
    echo "diag: DIAG_TENANT must be an integer >= 1 (got '$DIAG_TENANT')" >&2
    exit 2
fi
for tool in curl python3; do
    command -v "$tool" >/dev/null 2>&1 || { echo "diag: $tool is required" >&2; exit 2; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/avio-diag.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
PROVIDER_TOKEN=""
PASSED=0
FAILED=0

# --- helpers -------------------------------------------------------------------------------------------------

# Masks secrets in verbose output: query values of `k`/`token`, JSON "provider_token" values, and any known secret
# long enough not to be mistaken for ordinary text (test setups use short ones like "adm").
mask() {
    local text=$1 secret
    for secret in "$ADMIN_TOKEN" "$PUBLIC_KEY" "$PROVIDER_TOKEN"; do
        (( ${#secret} >= 8 )) && text=${text//"$secret"/"***"}
    done
    printf '%s' "$text" | sed -E 's/("provider_token"[[:space:]]*:[[:space:]]*")[^"]*"/\1***"/g; s/([?&](k|token)=)[^&[:space:]]*/\1***/g'
}

verbose() { [[ $DIAG_VERBOSE == 1 ]] && printf '    %s\n' "$(mask "$*")"; return 0; }

# Percent-encodes one query value.
urlencode() { printf '%s' "$1" | python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.stdin.read(), safe=""), end="")'; }

# Escapes a value for a double-quoted curl config entry.
cfg_quote() { local v=${1//\\/\\\\}; v=${v//\"/\\\"}; printf '"%s"' "$v"; }

# request METHOD PATH_AND_QUERY [BODY] [HEADER...] → sets STATUS (000 when unreachable) and BODY.
# The URL, headers and body go to curl through a config on stdin, so secrets never show in `ps`.
request() {
    local method=$1 target=$2 data=${3:-}
    shift 3 2>/dev/null || shift $#
    local url="$AVIO_URL$target" header
    {
        printf 'url = %s\n' "$(cfg_quote "$url")"
        printf 'request = %s\n' "$(cfg_quote "$method")"
        for header in "$@"; do printf 'header = %s\n' "$(cfg_quote "$header")"; done
        if [[ -n $data ]]; then
            printf 'header = "Content-Type: application/json"\n'
            printf 'data-binary = %s\n' "$(cfg_quote "$data")"
        fi
    } >"$TMP/curl.cfg"
    verbose "→ $method $url${data:+  body: $data}"
    for header in "$@"; do verbose "  ${header%%:*}: <masked>"; done
    local meta
    meta=$(curl -sS -o "$TMP/body" -w '%{http_code} %{time_total}' --max-time "$DIAG_TIMEOUT" -K - <"$TMP/curl.cfg" 2>"$TMP/err")
    STATUS=${meta%% *}
    [[ -z $STATUS ]] && STATUS=000
    BODY=$(cat "$TMP/body" 2>/dev/null || true)
    if [[ $STATUS == 000 ]]; then
        verbose "← no answer: $(head -c 300 "$TMP/err")"
    elif [[ ${SHOW_BODY:-1} == 0 ]]; then
        verbose "← $STATUS in ${meta#* }s (${#BODY} bytes)"
    else
        local shown=$BODY
        (( ${#shown} > 600 )) && shown="${shown:0:600}… (${#BODY} bytes)"
        verbose "← $STATUS in ${meta#* }s: $shown"
    fi
}

# json_field KEY: prints the top-level KEY of BODY (booleans as true/false, null or missing as nothing).
json_field() {
    printf '%s' "$BODY" | python3 -c '
import json, sys
try:
    value = json.loads(sys.stdin.read()).get(sys.argv[1])
except Exception:
    sys.exit(1)
if value is None:
    sys.exit(0)
print(json.dumps(value) if isinstance(value, bool) else value, end="")
' "$1"
}

# Check lines are written by this script and never contain a secret.
pass() { PASSED=$((PASSED + 1)); printf '✓ %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); printf '✗ %s\n' "$*"; }

# Short description of an unexpected answer.
got() {
    if [[ $STATUS == 000 ]]; then
        printf 'no answer from %s' "$AVIO_URL"
    else
        local code
        code=$(json_field error 2>/dev/null || true)
        printf 'got %s%s' "$STATUS" "${code:+ $code}"
    fi
}

T=$DIAG_TENANT
K=$(urlencode "$PUBLIC_KEY")
[[ $DIAG_VERBOSE == 1 ]] && echo "Avio diagnostics: $AVIO_URL, tenant $T$PUBLIC_KEY_NOTE"

# --- checks --------------------------------------------------------------------------------------------------

# 1. /health
request GET /health ""
if [[ $STATUS == 200 && $(json_field ok) == true ]]; then
    pass "GET /health → 200 ok:true (db $(json_field db))"
else
    fail "GET /health → expected 200 ok:true, $(got)"
fi

# 2. /metrics
SHOW_BODY=0 request GET /metrics ""
if [[ $STATUS == 200 ]] && grep -q '^http_requests_total' "$TMP/body"; then
    pass "GET /metrics → has http_requests_total"
    [[ $DIAG_VERBOSE == 1 ]] && grep '^http_requests_total' "$TMP/body" | head -3 | sed 's/^/    /'
elif [[ $STATUS == 200 ]]; then
    fail "GET /metrics → 200 but no http_requests_total series"
else
    fail "GET /metrics → expected 200, $(got)"
fi

# 3. provider token (created when missing)
request GET "/admin/provider-token/$T" "" "X-Admin-Token: $ADMIN_TOKEN"
if [[ $STATUS == 200 ]]; then
    PROVIDER_TOKEN=$(json_field provider_token 2>/dev/null || true)
fi
if [[ -n $PROVIDER_TOKEN ]]; then
    pass "GET /admin/provider-token/$T → provider_token (${#PROVIDER_TOKEN} chars)"
elif [[ $STATUS == 401 ]]; then
    fail "GET /admin/provider-token/$T → 401: ADMIN_TOKEN is not the server's"
else
    fail "GET /admin/provider-token/$T → expected 200 with provider_token, $(got)"
fi

# 4. webhook with the tenant's token
READY="{\"event\":\"ready\",\"tenant\":$T,\"channel\":\"whatsapp\"}"
if [[ -n $PROVIDER_TOKEN ]]; then
    request POST "/webhook?token=$(urlencode "$PROVIDER_TOKEN")" "$READY"
    if [[ $STATUS == 200 ]]; then
        pass "POST /webhook?token=(provider token) ready → 200"
    else
        fail "POST /webhook?token=(provider token) ready → expected 200, $(got)"
    fi
else
    fail "POST /webhook?token=(provider token) → not tried: no provider token"
fi

# 5. webhook with a wrong token
request POST "/webhook?token=diag-wrong-token-$RANDOM$RANDOM" "$READY"
if [[ $STATUS == 401 ]]; then
    pass "POST /webhook with a wrong token → 401"
else
    fail "POST /webhook with a wrong token → expected 401, $(got)"
fi

# 6. WhatsApp public status
request GET "/pub/wa/status?tenant=$T&k=$K" ""
if [[ $STATUS == 200 ]]; then
    pass "GET /pub/wa/status → 200 (state $(json_field state))"
elif [[ $STATUS == 401 ]]; then
    fail "GET /pub/wa/status → 401 invalid_key: PUBLIC_KEY is not the server's"
else
    fail "GET /pub/wa/status → expected 200, $(got)"
fi

# 7. Telegram public status (the worker may be down: the route itself is fine then)
request GET "/pub/tg/status?tenant=$T&k=$K" ""
if [[ $STATUS == 200 ]]; then
    pass "GET /pub/tg/status → 200 (state $(json_field state))"
elif [[ $STATUS == 502 && $(json_field error 2>/dev/null) == tg_unavailable ]]; then
    pass "GET /pub/tg/status → 502 tg_unavailable: reachable route, worker down (warning)"
elif [[ $STATUS == 401 ]]; then
    fail "GET /pub/tg/status → 401 invalid_key: PUBLIC_KEY is not the server's"
else
    fail "GET /pub/tg/status → expected 200 or 502 tg_unavailable, $(got)"
fi

# 8. /send is guarded
request POST /send "{\"tenant\":$T,\"channel\":\"telegram\",\"to\":\"me\",\"text\":\"diag\"}"
if [[ $STATUS == 401 ]]; then
    pass "POST /send without token → 401"
else
    fail "POST /send without token → expected 401, $(got)"
fi

echo "$PASSED passed, $FAILED failed"
(( FAILED == 0 )) || exit 1
exit 0
