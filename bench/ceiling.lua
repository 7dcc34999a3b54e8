-- wrk script: HTTP ceiling, GET /nope on the same binary. /nope matches no route: it passes the same middleware
-- (RequestLogMiddleware: metrics + log call, ErrorMiddleware) and answers the catalogue's 404 JSON, without touching
-- SQLite. The 404s are EXPECTED here: wrk counts every status >= 400 in errors.status, so this script reports that
-- count as `expected404` (run.sh checks it equals `requests`). Prints one machine-readable "WRK ..." line at the end.
wrk.method = "GET"
wrk.path = "/nope"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d non2xx=0 expected404=%d connect=%d read=%d write=%d timeout=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, e.status, e.connect, e.read, e.write, e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
