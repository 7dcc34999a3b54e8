-- wrk script: POST /send (synchronous delivery to the fake WhatsApp worker, bench/fake_worker.c).
-- Env: ADMIN_TOKEN. Recipients cycle over 1000 numbers (OUTBOX_WHITELIST="*").
-- Prints one machine-readable "WRK ..." line at the end (parsed by bench/run.sh).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_report.lua")
local admin = os.getenv("ADMIN_TOKEN") or error("ADMIN_TOKEN is not set")
local headers = { ["Content-Type"] = "application/json", ["X-Admin-Token"] = admin }
local counter = 0

function request()
  counter = counter + 1
  local body = string.format('{"tenant":1,"channel":"whatsapp","to":"7998%07d","text":"x"}', counter % 1000)
  return wrk.format("POST", "/send", headers, body)
end

function done(summary, latency, requests)
  wrk_report(summary, latency, string.format("non2xx=%d", summary.errors.status))
end
