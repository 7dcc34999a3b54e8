-- wrk script: reference point between the HTTP ceiling and durable ingest. The same POST /webhook body as ingest.lua,
-- with a WRONG provider token: Avio reads the body, parses and validates the JSON, looks up the tenant's token and
-- answers 401 {"ok":false,"error":"unauthorized"}, never touching the write path. The 401s are EXPECTED: this script
-- reports wrk's >= 400 count as `expected401` (run.sh checks it equals `requests` and that no row was stored).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_report.lua")
local prefix = os.getenv("BENCH_PREFIX") or "refused"
local threads = {}
local counter = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

local path = "/webhook?token=not-the-provider-token"
local headers = { ["Content-Type"] = "application/json" }

function request()
  counter = counter + 1
  local body = string.format(
    '{"event":"messages.incoming","tenant":1,"channel":"whatsapp","message_id":"%s-%d-%d","from":"7999%07d","text":"hi"}',
    prefix, tid, counter, counter % 1000)
  return wrk.format("POST", path, headers, body)
end

function done(summary, latency, requests)
  wrk_report(summary, latency, string.format("non2xx=0 expected401=%d", summary.errors.status))
end
