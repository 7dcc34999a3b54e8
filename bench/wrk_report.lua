-- Shared by the wrk scripts: prints the one machine-readable "WRK ..." line that run.sh parses.
-- `statuses` is the status part of the line, e.g. "non2xx=0" or "non2xx=0 expected404=123".
function wrk_report(summary, latency, statuses)
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d %s connect=%d read=%d write=%d timeout=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, statuses, e.connect, e.read, e.write, e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
