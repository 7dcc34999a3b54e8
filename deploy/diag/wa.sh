#!/usr/bin/env bash
# WhatsApp path diagnostics on an Avio host (CONTRACT §8): app and WhatsApp-worker health, the OUTBOX_* switches,
# test sends (digits and JID forms), and the logs of the last two minutes. One ✓/✗ line per check.
#
#   AVIO_URL         Avio API                          [http://127.0.0.1:$PORT, PORT from env/env file, else 8000]
#   WAWEB_BASE_URL   WhatsApp worker                   [env, else the env file, else http://127.0.0.1:9001]
#   AVIO_ENV_FILE    env file of the service           [/etc/avio/avio.env]
#   ADMIN_TOKEN      for POST /send                    [env, else the env file]
#   WA_TEST_TO       test recipient (+E164, digits or digits@c.us); test sends are skipped when unset
#   WA_TEST_TENANT   tenant of the test sends          [1]
#   WA_TEST_TEXT     text of the test sends            ["Avio wa.sh test <time>"]
#   AVIO_UNIT        systemd unit for the logs         [avio]
#   WAWEB_UNIT       also show this unit's logs (e.g. waweb), when set
#   AVIO_LOG_FILE    log file used when journalctl is missing or fails
#   DIAG_TIMEOUT     seconds per HTTP request          [20; a send waits for the worker]
#
# The test sends really deliver two WhatsApp messages to WA_TEST_TO (when OUTBOX_ENABLED and the whitelist allow).
# Exit 1 when a check failed. Needs bash, curl and python3; secrets never appear in argv or output.
set -u

AVIO_ENV_FILE=${AVIO_ENV_FILE:-/etc/avio/avio.env}
DIAG_TIMEOUT=${DIAG_TIMEOUT:-20}
AVIO_UNIT=${AVIO_UNIT:-avio}
WA_TEST_TENANT=${WA_TEST_TENANT:-1}
PASSED=0
FAILED=0

pass() { PASSED=$((PASSED + 1)); printf '✓ %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); printf '✗ %s\n' "$*"; }
note() { printf '– %s\n' "$*"; }

for tool in curl python3; do
    command -v "$tool" >/dev/null 2>&1 || { echo "wa.sh: $tool is required" >&2; exit 2; }
done
TMP=$(mktemp -d "${TMPDIR:-/tmp}/avio-wa.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT

# A variable of the env file (systemd EnvironmentFile syntax: NAME=value, optional quotes, `#` comment lines).
# The file is read, never sourced.
env_file_value() {
    [[ -r $AVIO_ENV_FILE ]] || return 1
    local line value
    line=$(grep -E "^[[:space:]]*(export[[:space:]]+)?$1[[:space:]]*=" "$AVIO_ENV_FILE" 2>/dev/null | tail -n 1)
    [[ -n $line ]] || return 1
    value=${line#*=}
    value=${value#"${value%%[![:space:]]*}"}
    value=${value%"${value##*[![:space:]]}"}
    if [[ ${#value} -ge 2 && ( ${value:0:1} == '"' && ${value: -1} == '"' || ${value:0:1} == "'" && ${value: -1} == "'" ) ]]; then
        value=${value:1:${#value}-2}
    fi
    printf '%s' "$value"
}

# setting NAME: sets VALUE and SOURCE from the environment, else the env file; returns 1 when neither has it.
setting() {
    if [[ -n ${!1+x} ]]; then
        VALUE=${!1}; SOURCE="environment"
    elif VALUE=$(env_file_value "$1"); then
        SOURCE=$AVIO_ENV_FILE
    else
        VALUE=""; SOURCE="unset"
        return 1
    fi
}

cfg_quote() { local v=${1//\\/\\\\}; v=${v//\"/\\\"}; printf '"%s"' "$v"; }

# request METHOD URL [BODY] [HEADER...] → STATUS (000 = no answer), BODY. Secrets go to curl on stdin.
request() {
    local method=$1 url=$2 data=${3:-} header meta
    shift 3 2>/dev/null || shift $#
    {
        printf 'url = %s\nrequest = %s\n' "$(cfg_quote "$url")" "$(cfg_quote "$method")"
        for header in "$@"; do printf 'header = %s\n' "$(cfg_quote "$header")"; done
        if [[ -n $data ]]; then
            printf 'header = "Content-Type: application/json"\ndata-binary = %s\n' "$(cfg_quote "$data")"
        fi
    } >"$TMP/curl.cfg"
    meta=$(curl -sS -o "$TMP/body" -w '%{http_code}' --max-time "$DIAG_TIMEOUT" -K - <"$TMP/curl.cfg" 2>"$TMP/err")
    STATUS=${meta:-000}
    BODY=$(cat "$TMP/body" 2>/dev/null || true)
}

# json_field KEY: the top-level KEY of BODY (booleans as true/false; nothing when absent or not JSON).
json_field() {
    printf '%s' "$BODY" | python3 -c '
import json, sys
try:
    value = json.loads(sys.stdin.read()).get(sys.argv[1])
except Exception:
    sys.exit(0)
if value is not None:
    print(json.dumps(value) if isinstance(value, (bool, dict, list)) else value, end="")
' "$1"
}

short_body() { local b=${BODY//$'\n'/ }; (( ${#b} > 160 )) && b="${b:0:160}…"; printf '%s' "$b"; }

is_true() { case "${1,,}" in 1|true|yes|on) return 0 ;; *) return 1 ;; esac; }

# --- settings ------------------------------------------------------------------------------------------------

if [[ -z ${AVIO_URL:-} ]]; then
    setting PORT || VALUE=8000
    AVIO_URL="http://127.0.0.1:${VALUE:-8000}"
fi
AVIO_URL=${AVIO_URL%/}
if [[ -z ${WAWEB_BASE_URL:-} ]]; then
    WAWEB_BASE_URL=$(env_file_value WAWEB_BASE_URL || env_file_value WA_WEB_URL || echo http://127.0.0.1:9001)
fi
WAWEB_BASE_URL=${WAWEB_BASE_URL%/}
setting ADMIN_TOKEN; ADMIN=$VALUE

if [[ -r $AVIO_ENV_FILE ]]; then
    echo "env file: $AVIO_ENV_FILE"
elif [[ -e $AVIO_ENV_FILE ]]; then
    echo "env file: $AVIO_ENV_FILE is not readable by $(id -un); using the environment only"
else
    echo "env file: $AVIO_ENV_FILE not found; using the environment only"
fi

# --- 1. health -----------------------------------------------------------------------------------------------

request GET "$AVIO_URL/health" ""
APP_OUTBOX=""
if [[ $STATUS == 200 && $(json_field ok) == true ]]; then
    APP_OUTBOX=$(json_field outbox_enabled)
    pass "app $AVIO_URL/health → 200 (db $(json_field db), outbox_enabled $APP_OUTBOX)"
elif [[ $STATUS == 000 ]]; then
    fail "app $AVIO_URL/health → no answer ($(head -c 160 "$TMP/err"))"
else
    fail "app $AVIO_URL/health → $STATUS $(short_body)"
fi

request GET "$WAWEB_BASE_URL/health" ""
if [[ $STATUS =~ ^2 ]]; then
    pass "WhatsApp worker $WAWEB_BASE_URL/health → $STATUS $(short_body)"
elif [[ $STATUS == 000 ]]; then
    fail "WhatsApp worker $WAWEB_BASE_URL/health → no answer ($(head -c 160 "$TMP/err"))"
else
    fail "WhatsApp worker $WAWEB_BASE_URL/health → $STATUS $(short_body)"
fi

# --- 2. OUTBOX_* ---------------------------------------------------------------------------------------------

OUTBOX_ON=false
if setting OUTBOX_ENABLED; then
    if is_true "$VALUE"; then
        OUTBOX_ON=true
        pass "OUTBOX_ENABLED=$VALUE ($SOURCE): sending is on"
    else
        fail "OUTBOX_ENABLED=$VALUE ($SOURCE): sending is off, /send answers 403 outbox_disabled"
    fi
else
    fail "OUTBOX_ENABLED is unset (default false): /send answers 403 outbox_disabled"
fi
if [[ -n $APP_OUTBOX && $APP_OUTBOX != "$OUTBOX_ON" ]]; then
    note "the running app reports outbox_enabled=$APP_OUTBOX: it reads its environment only at start (systemctl restart avio)"
fi

TEST_DIGITS=""
if [[ -n ${WA_TEST_TO:-} ]]; then
    TEST_DIGITS=${WA_TEST_TO%@c.us}
    TEST_DIGITS=${TEST_DIGITS//[!0-9]/}
    [[ ${#TEST_DIGITS} == 11 && $TEST_DIGITS == 8* ]] && TEST_DIGITS="7${TEST_DIGITS:1}"  # §6.2
fi
setting OUTBOX_WHITELIST
WHITELIST=$VALUE
if [[ -z ${WHITELIST//[ ,]/} ]]; then
    fail "OUTBOX_WHITELIST is empty ($SOURCE): every recipient is refused (403 not_whitelisted)"
elif [[ " ${WHITELIST//,/ } " == *" * "* ]]; then
    pass "OUTBOX_WHITELIST=$WHITELIST ($SOURCE): every recipient is allowed"
else
    listed=""
    if [[ -n $TEST_DIGITS ]]; then
        read -r -a entries <<<"${WHITELIST//,/ }"
        for entry in "${entries[@]}"; do
            digits=${entry%@c.us}; digits=${digits//[!0-9]/}
            [[ ${#digits} == 11 && $digits == 8* ]] && digits="7${digits:1}"
            [[ -n $digits && $digits == "$TEST_DIGITS" ]] && listed=yes
        done
    fi
    if [[ -z $TEST_DIGITS || -n $listed ]]; then
        pass "OUTBOX_WHITELIST=$WHITELIST ($SOURCE)${listed:+: WA_TEST_TO is listed}"
    else
        fail "OUTBOX_WHITELIST=$WHITELIST ($SOURCE): WA_TEST_TO ($TEST_DIGITS) is not listed, test sends will be refused"
    fi
fi

# --- 3. test sends -------------------------------------------------------------------------------------------

if [[ -z ${WA_TEST_TO:-} ]]; then
    note "test sends skipped: set WA_TEST_TO=<+E164 | digits | digits@c.us> (and WA_TEST_TENANT) to send two messages"
elif [[ -z $ADMIN ]]; then
    fail "test sends: ADMIN_TOKEN is neither in the environment nor in $AVIO_ENV_FILE"
elif [[ -z $TEST_DIGITS ]]; then
    fail "test sends: WA_TEST_TO has no digits"
else
    TEXT=${WA_TEST_TEXT:-"Avio wa.sh test $(date -u +%H:%M:%S)"}
    for to in "$TEST_DIGITS" "$TEST_DIGITS@c.us"; do
        payload=$(TENANT=$WA_TEST_TENANT TO=$to TEXT=$TEXT python3 -c '
import json, os
print(json.dumps({"tenant": int(os.environ["TENANT"]), "channel": "whatsapp", "to": os.environ["TO"],
                  "text": os.environ["TEXT"]}), end="")') || { fail "send to $to: bad WA_TEST_TENANT"; continue; }
        request POST "$AVIO_URL/send" "$payload" "X-Admin-Token: $ADMIN"
        if [[ $STATUS == 200 && $(json_field ok) == true ]]; then
            id=$(json_field message_id)
            pass "POST /send whatsapp to $to → 200 (to $(json_field to)${id:+, message_id $id})"
        elif [[ $STATUS == 000 ]]; then
            fail "POST /send whatsapp to $to → no answer ($(head -c 160 "$TMP/err"))"
        else
            err=$(json_field error)
            fail "POST /send whatsapp to $to → $STATUS ${err:-$(short_body)}"
        fi
    done
fi

# --- 4. logs of the last two minutes -------------------------------------------------------------------------

# show_unit_logs UNIT: the unit's journal of the last two minutes; returns 1 (printing nothing) when journalctl is
# missing or fails, or when it has no entries and AVIO_LOG_FILE is there to fall back on.
show_unit_logs() {
    command -v journalctl >/dev/null 2>&1 || { echo "journalctl not installed" >"$TMP/why"; return 1; }
    if ! journalctl -u "$1" --since "2 min ago" --no-pager -o short-iso >"$TMP/logs" 2>"$TMP/why"; then
        return 1
    fi
    local count
    count=$(grep -vc '^-- ' "$TMP/logs" || true)
    if [[ $count == 0 && -n ${AVIO_LOG_FILE:-} && -r ${AVIO_LOG_FILE:-} ]]; then
        echo "journalctl has no entries for $1" >"$TMP/why"
        return 1
    fi
    if [[ $count == 0 ]]; then
        pass "logs of unit $1, last 2 minutes: no entries (is the unit name right? AVIO_UNIT / WAWEB_UNIT)"
        return 0
    fi
    pass "logs of unit $1, last 2 minutes ($count lines):"
    grep -v '^-- ' "$TMP/logs" | tail -n "${LOG_LINES:-200}" | sed 's/^/    /'
}

if ! show_unit_logs "$AVIO_UNIT"; then
    why=$(head -c 160 "$TMP/why" 2>/dev/null | tr '\n' ' ')
    if [[ -n ${AVIO_LOG_FILE:-} && -r $AVIO_LOG_FILE ]]; then
        pass "logs: last ${LOG_LINES:-200} lines of $AVIO_LOG_FILE (${why% })"
        tail -n "${LOG_LINES:-200}" "$AVIO_LOG_FILE" | sed 's/^/    /'
    elif [[ -n ${AVIO_LOG_FILE:-} ]]; then
        fail "logs: ${why% }; and AVIO_LOG_FILE=$AVIO_LOG_FILE is not readable"
    else
        fail "logs: ${why% }; set AVIO_LOG_FILE to read a log file instead"
    fi
fi
if [[ -n ${WAWEB_UNIT:-} ]]; then
    show_unit_logs "$WAWEB_UNIT" || fail "logs of unit $WAWEB_UNIT: $(head -c 160 "$TMP/why" | tr '\n' ' ')"
fi

echo "$PASSED passed, $FAILED failed"
(( FAILED == 0 ))
