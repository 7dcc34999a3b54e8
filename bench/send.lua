-- wrk script: POST /send (synchronous delivery to the fake WhatsApp worker, bench/fake_worker.c).
-- Env: ADMIN_TOKEN. Recipients cycle over 1000 numbers (OUTBOX_WHITELIST="*").
-- Prints one machine-readable "WRK ..." line at the end (parsed by bench/run.sh).
local admin = os.getenv("ADMIN_TOKEN") or error("ADMIN_TOKEN is not set")
local headers = { ["Content-Type"] = "application/json", ["X-Admin-Token"] = admin }
local counter = 0

function request()
  counter = counter + 1
  local body = string.format('{"tenant":1,"channel":"whatsapp","to":"7998%07d","text":"x"}', counter % 1000)
  return wrk.format("POST", "/send", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d non2xx=%d connect=%d read=%d write=%d timeout=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, e.status, e.connect, e.read, e.write, e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
