#!/usr/bin/env python3
"""Inbound end-to-end latency for `make bench`: webhook POST → `messages` row visible in SQLite, at a fixed rate.

Open loop: message i is due at t0 + i/rate whatever happened to earlier ones, and every latency is measured from that
due time (so waiting for a free connection counts; no coordinated omission). Requests go over a small pool of
keep-alive connections (opened on demand, at most --conns). A separate thread polls the database file every --poll-ms
(`SELECT … FROM messages WHERE id > last`, a WAL reader: it never blocks Avio's writer) and notes when each
`provider_message_id` first becomes visible. That moment minus the due time is the end-to-end latency; its
resolution is the poll interval plus one query.

It also splits the path with the server's own timestamps (same machine clock, milliseconds):
  ack      due → 200 {"queued":true} received by the client (durable ingest, group commit)
  stamp    webhook_events.received_at → messages.created_at (waiting for and running the inbox worker pass; excludes
           that pass's commit, which the poll-based number includes)

Usage: e2e.py --port P --token T --db FILE [--rate 200] [--seconds 10] [--prefix e2e]
Prints one line: E2E key=value … (parsed by bench/run.sh). Standard library only.
"""
import argparse
import asyncio
import datetime
import sqlite3
import threading
import time


def pct(values, p):
    """Nearest-rank percentile of a list (ms); nan when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100.0 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def iso_to_epoch(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Poller(threading.Thread):
    def __init__(self, db, prefix, poll_s):
        super().__init__(daemon=True)
        self.conn = sqlite3.connect(db, timeout=5, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA query_only = ON")
        self.last_id = self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()[0]
        self.prefix = prefix + "-"
        self.poll_s = poll_s
        self.seen = {}  # provider_message_id -> monotonic time first visible
        self.stop = threading.Event()
        self.polls = 0

    def run(self):
        while not self.stop.is_set():
            rows = self.conn.execute("SELECT id, provider_message_id FROM messages WHERE id > ? ORDER BY id",
                                     (self.last_id,)).fetchall()
            now = time.monotonic()
            self.polls += 1
            for row_id, pmid in rows:
                self.last_id = row_id
                if pmid and pmid.startswith(self.prefix) and pmid not in self.seen:
                    self.seen[pmid] = now
            time.sleep(self.poll_s)


class Pool:
    def __init__(self, host, port, cap):
        self.host, self.port, self.cap = host, port, cap
        self.idle = asyncio.Queue()
        self.opened = 0

    async def get(self):
        if not self.idle.empty():
            return self.idle.get_nowait()
        if self.opened < self.cap:
            self.opened += 1
            return await asyncio.open_connection(self.host, self.port)
        return await self.idle.get()

    def put(self, conn):
        self.idle.put_nowait(conn)


async def post(conn, host, path, body):
    reader, writer = conn
    writer.write((f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    payload = await reader.readexactly(length) if length else b""
    return status, payload


async def run(args):
    pool = Pool(args.host, args.port, args.conns)
    path = f"/webhook?token={args.token}"
    results = {}  # message_id -> (due_mono, due_wall, ack_mono or None, status)
    total = int(args.rate * args.seconds)

    async def one(i, due):
        mid = f"{args.prefix}-{i}"
        due_wall = time.time() - (time.monotonic() - due)
        body = ('{"event":"messages.incoming","tenant":1,"channel":"whatsapp","message_id":"%s","from":"7997%07d","text":"hi"}'
                % (mid, i % 1000)).encode()
        conn = await pool.get()
        try:
            status, payload = await post(conn, args.host, path, body)
            ok = status == 200 and b'"queued":true' in payload
            results[mid] = (due, due_wall, time.monotonic(), status if ok else f"{status}:{payload[:80]!r}")
            pool.put(conn)
        except Exception as error:  # noqa: BLE001 — report, do not crash the run
            results[mid] = (due, due_wall, None, f"error:{error!r}")
            pool.opened -= 1

    t0 = time.monotonic() + 0.05
    tasks = []
    for i in range(total):
        due = t0 + i / args.rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    send_span = time.monotonic() - t0
    return results, send_span, pool.opened


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--prefix", default="e2e")
    parser.add_argument("--conns", type=int, default=32)
    parser.add_argument("--poll-ms", type=float, default=2)
    parser.add_argument("--settle", type=float, default=15, help="seconds to wait for the last rows")
    args = parser.parse_args()

    poller = Poller(args.db, args.prefix, args.poll_ms / 1000.0)
    poller.start()
    results, send_span, opened = asyncio.run(run(args))
    acked = {mid for mid, r in results.items() if r[3] == 200}
    deadline = time.monotonic() + args.settle
    while time.monotonic() < deadline and not acked <= poller.seen.keys():
        time.sleep(0.01)
    poller.stop.set()
    poller.join()

    e2e = [(poller.seen[mid] - results[mid][0]) * 1000 for mid in acked if mid in poller.seen]
    ack = [(results[mid][2] - results[mid][0]) * 1000 for mid in acked]
    # Server-side split from the stored timestamps.
    db = sqlite3.connect(args.db, timeout=5)
    stamps = db.execute("""
        SELECT e.message_id, e.received_at, m.created_at FROM webhook_events e
        JOIN messages m ON m.tenant = e.tenant AND m.channel = e.channel AND m.direction = 'in'
                       AND m.provider_message_id = e.message_id
        WHERE e.message_id LIKE ? """, (args.prefix + "-%",)).fetchall()
    db.close()
    worker = [(iso_to_epoch(c) - iso_to_epoch(r)) * 1000 for _, r, c in stamps]
    failures = [r[3] for r in results.values() if r[3] != 200]
    fields = {
        "sent": len(results), "acked": len(acked), "failed": len(failures), "seen": len(e2e),
        "missing": len(acked - poller.seen.keys()), "rate_achieved": round(len(results) / send_span, 1),
        "p50_ms": round(pct(e2e, 50), 1), "p90_ms": round(pct(e2e, 90), 1), "p99_ms": round(pct(e2e, 99), 1),
        "max_ms": round(max(e2e), 1) if e2e else float("nan"),
        "ack_p50_ms": round(pct(ack, 50), 1), "ack_p99_ms": round(pct(ack, 99), 1),
        "stamp_p50_ms": round(pct(worker, 50), 1), "stamp_p99_ms": round(pct(worker, 99), 1),
        "conns_opened": opened, "polls": poller.polls,
    }
    print("E2E " + " ".join(f"{k}={v}" for k, v in fields.items()))
    if failures:
        print("E2E_FAILURES " + " | ".join(sorted(set(map(str, failures)))[:5]))


if __name__ == "__main__":
    main()
