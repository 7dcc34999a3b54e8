-- wrk script: HTTP ceiling, GET /nope on the same binary. /nope matches no route: it passes the same middleware
-- (RequestLogMiddleware: metrics + log call, ErrorMiddleware) and answers the catalogue's 404 JSON, without touching
-- SQLite. The 404s are EXPECTED here: wrk counts every status >= 400 in errors.status, so this script reports that
-- count as `expected404` (run.sh checks it equals `requests`). Prints one machine-readable "WRK ..." line at the end.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_report.lua")
wrk.method = "GET"
wrk.path = "/nope"

function done(summary, latency, requests)
  wrk_report(summary, latency, string.format("non2xx=0 expected404=%d", summary.errors.status))
end
