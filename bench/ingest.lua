-- wrk script: durable webhook ingest (POST /webhook, `messages.incoming`, one unique message_id per request).
-- Env: AVIO_TOKEN (tenant 1's provider token), BENCH_PREFIX (message_id prefix, one per run, so that run.sh can count
-- this run's rows in webhook_events). Ids are "<prefix>-<thread>-<counter>", unique across threads and runs.
-- BENCH_REFUSED=1 sends the same requests with a WRONG token: the reference run "refused before storage" (Avio reads,
-- parses and validates the body, looks up the tenant's token, answers 401 and never reaches the write path). Those
-- 401s are expected: they are reported as `expected401` (run.sh checks it equals `requests` and that no row exists).
-- Prints one machine-readable "WRK ..." line at the end (parsed by bench/run.sh).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_report.lua")
local refused = os.getenv("BENCH_REFUSED") == "1"
local token = refused and "not-the-provider-token" or (os.getenv("AVIO_TOKEN") or error("AVIO_TOKEN is not set"))
local prefix = os.getenv("BENCH_PREFIX") or "wrk"
local threads = {}
local counter = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)        -- global `tid` in that thread's Lua state
end

local path = "/webhook?token=" .. token
local headers = { ["Content-Type"] = "application/json" }

function request()
  counter = counter + 1
  local body = string.format(
    '{"event":"messages.incoming","tenant":1,"channel":"whatsapp","message_id":"%s-%d-%d","from":"7999%07d","text":"hi"}',
    prefix, tid, counter, counter % 1000)
  return wrk.format("POST", path, headers, body)
end

function done(summary, latency, requests)
  if refused then
    wrk_report(summary, latency, string.format("non2xx=0 expected401=%d", summary.errors.status))
  else
    wrk_report(summary, latency, string.format("non2xx=%d", summary.errors.status))
  end
end
