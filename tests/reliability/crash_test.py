#!/usr/bin/env python3
"""Crash test: kill -9 Avio under load, restart it on the same database, check that nothing acknowledged is lost.

Python 3 standard library only. Bounded: ~5 s typically, at most ~45 s (startup and drain timeouts) in the default mode.

What it does
  1. Starts scripts/fake_workers.py (FAKE_LOG on, so every delivery is recorded) and `avio serve` on free loopback
     ports with a fresh temporary SQLite database.
  2. Load: WEBHOOK_THREADS threads POST /webhook `messages.incoming` events (unique message_id each) and SEND_THREADS
     threads POST /send?async=1 (unique text and meta.idempotency_key each).
  3. After CRASH_AFTER seconds it sends SIGKILL to the server mid-load and records which requests got a 2xx.
  4. Restarts the server on the same database (and the same port), re-posts what a real worker / client would retry
     (every webhook and send that got no answer, plus a sample of acknowledged ones, which must come back as
     duplicates), then waits until inbox `pending` = 0 and outbox `queued` = 0.
  5. Asserts: every acknowledged webhook id is in webhook_events and exactly once in messages (direction 'in');
     every 202'd send has its outbox row, ends 'sent', and the fake WhatsApp worker received its text at least once.
     Duplicate deliveries (at-least-once across a crash) are counted and reported, not failed.

Leases: jobs claimed by the killed process are still leased in the database; `avio serve` releases such leases at
startup (it is the only process working its file's queues), so the drain after the restart does not wait for them to
expire. The test only reports how many there were.

Environment: AVIO_BIN (default .build/debug/avio, relative to the repository root), WEBHOOK_THREADS (8),
SEND_THREADS (4), CRASH_AFTER (2.0 s), DRAIN_TIMEOUT (30 s), KEEP_TMP=1 keeps the
temporary folder (database, logs). Exit status 0 when every check passes, 1 on a failed check, 2 on a setup error.
"""
import http.client
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
AVIO_BIN = os.environ.get("AVIO_BIN", ".build/debug/avio")
if not os.path.isabs(AVIO_BIN):
    AVIO_BIN = os.path.join(ROOT, AVIO_BIN)
FAKE_WORKERS = os.path.join(ROOT, "scripts", "fake_workers.py")
WEBHOOK_THREADS = int(os.environ.get("WEBHOOK_THREADS", "8"))
SEND_THREADS = int(os.environ.get("SEND_THREADS", "4"))
CRASH_AFTER = float(os.environ.get("CRASH_AFTER", "2.0"))
DRAIN_TIMEOUT = float(os.environ.get("DRAIN_TIMEOUT", "30"))
ADMIN = "rel-admin-" + uuid.uuid4().hex
PUBLIC = "rel-public-" + uuid.uuid4().hex
WA_TOKEN = "rel-wa-" + uuid.uuid4().hex
TENANT = 1
RUN = uuid.uuid4().hex[:8]  # makes ids unique per run

procs = []  # every process this test started; all are ended in cleanup()


class SetupError(Exception):
    pass


def log(msg):
    print(f"[crash_test] {msg}", flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None, headers=None, timeout=5.0):
    """One request on a fresh connection; returns (status, parsed JSON or None)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json"} if data is not None else {}
        hdrs.update(headers or {})
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, None
    finally:
        conn.close()


class Client:
    """A keep-alive connection for the load threads; reconnects after any error."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def post(self, path, body, headers):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5.0)
        data = json.dumps(body).encode()
        try:
            self.conn.request("POST", path, body=data, headers={"Content-Type": "application/json", **headers})
            resp = self.conn.getresponse()
            raw = resp.read()
        except Exception:
            self.close()
            raise
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, None

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None


def start_avio(port, db_path, tg_port, wa_port, log_path):
    env = dict(os.environ)
    env.update({
        "PORT": str(port), "HOST": "127.0.0.1", "DATABASE_URL": db_path, "ADMIN_TOKEN": ADMIN, "PUBLIC_KEY": PUBLIC,
        "WA_WEB_TOKEN": WA_TOKEN, "TGWORKER_BASE_URL": f"http://127.0.0.1:{tg_port}",
        "WAWEB_BASE_URL": f"http://127.0.0.1:{wa_port}", "APP_BASE_URL": f"http://127.0.0.1:{port}",
        "OUTBOX_ENABLED": "true", "OUTBOX_WHITELIST": "*", "LOG_LEVEL": "warning",
        "TG_SESSIONS_DIR": os.path.join(os.path.dirname(db_path), "tg-sessions"),
    })
    out = open(log_path, "ab")
    p = subprocess.Popen([AVIO_BIN, "serve"], env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         cwd=os.path.dirname(db_path), start_new_session=True)
    out.close()
    procs.append(p)
    deadline = time.time() + 30
    while time.time() < deadline:
        if p.poll() is not None:
            raise SetupError(f"avio exited with {p.returncode} at startup; see {log_path}")
        try:
            status, _ = request(port, "GET", "/health", timeout=1.0)
            if status == 200:
                return p
        except OSError:
            pass
        time.sleep(0.1)
    raise SetupError(f"avio did not answer /health within 30 s; see {log_path}")


def start_fakes(tg_port, wa_port, app_port, fake_log, log_path):
    env = dict(os.environ)
    env.update({"ADMIN_TOKEN": ADMIN, "WA_WEB_TOKEN": WA_TOKEN, "APP_BASE_URL": f"http://127.0.0.1:{app_port}",
                "FAKE_LOG": fake_log})
    out = open(log_path, "ab")
    p = subprocess.Popen([sys.executable, FAKE_WORKERS, "--tg-port", str(tg_port), "--wa-port", str(wa_port)], env=env,
                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    out.close()
    procs.append(p)
    deadline = time.time() + 10
    while time.time() < deadline:
        if p.poll() is not None:
            raise SetupError(f"fake workers exited with {p.returncode}; see {log_path}")
        try:
            if request(wa_port, "GET", "/health", timeout=1.0)[0] == 200:
                return p
        except OSError:
            pass
        time.sleep(0.1)
    raise SetupError("fake workers did not start within 10 s")


def kill(p):
    if p.poll() is None:
        try:
            os.kill(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def cleanup():
    for p in procs:
        kill(p)


def webhook_body(mid):
    return {"event": "messages.incoming", "tenant": TENANT, "channel": "whatsapp", "message_id": mid,
            "from": "79991234567", "text": f"hi {mid}"}


def send_body(key):
    # The fake worker receives the body without meta, so the text identifies the job.
    return {"tenant": TENANT, "channel": "whatsapp", "to": "79991234567", "text": f"crash-text-{key}",
            "meta": {"idempotency_key": key}}


def load(port, token, stop):
    """Runs the load threads until `stop` is set and the server stops answering; returns the bookkeeping."""
    state = {
        "wh_acked": set(), "wh_unacked": set(), "wh_other": {},  # message ids
        "send_acked": {}, "send_unacked": set(), "send_other": {},  # key -> outbox id / set of keys
        "errors": 0,
    }
    lock = threading.Lock()

    def webhook_loop(n):
        c = Client(port)
        i = 0
        while not stop.is_set():
            mid = f"crash-{RUN}-w{n}-{i}"
            i += 1
            try:
                status, body = c.post(f"/webhook?token={token}", webhook_body(mid), {})
            except Exception:
                with lock:
                    state["wh_unacked"].add(mid)
                    state["errors"] += 1
                time.sleep(0.05)
                continue
            with lock:
                if 200 <= status < 300 and body and body.get("ok") is True:
                    state["wh_acked"].add(mid)
                else:
                    state["wh_other"][mid] = (status, body)
        c.close()

    def send_loop(n):
        c = Client(port)
        i = 0
        while not stop.is_set():
            key = f"crash-{RUN}-s{n}-{i}"
            i += 1
            try:
                status, body = c.post("/send?async=1", send_body(key), {"X-Admin-Token": ADMIN})
            except Exception:
                with lock:
                    state["send_unacked"].add(key)
                    state["errors"] += 1
                time.sleep(0.05)
                continue
            with lock:
                if status == 202 and body and body.get("queued") is True and isinstance(body.get("id"), int):
                    state["send_acked"][key] = body["id"]
                else:
                    state["send_other"][key] = (status, body)
        c.close()

    threads = [threading.Thread(target=webhook_loop, args=(n,), daemon=True) for n in range(WEBHOOK_THREADS)]
    threads += [threading.Thread(target=send_loop, args=(n,), daemon=True) for n in range(SEND_THREADS)]
    for t in threads:
        t.start()
    return threads, state


def db_scalar(db_path, sql, args=()):
    conn = sqlite3.connect(db_path, timeout=10)
    try:
        return conn.execute(sql, args).fetchone()[0]
    finally:
        conn.close()


def wait_drained(db_path, timeout):
    deadline = time.time() + timeout
    pending = queued = None
    while time.time() < deadline:
        try:
            pending = db_scalar(db_path, "SELECT COUNT(*) FROM inbox WHERE status = 'pending'")
            queued = db_scalar(db_path, "SELECT COUNT(*) FROM outbox WHERE status = 'queued'")
            if pending == 0 and queued == 0:
                return True, pending, queued
        except sqlite3.OperationalError:  # busy: try again
            pass
        time.sleep(0.25)
    return False, pending, queued


def fake_deliveries(fake_log):
    """text -> number of POST /send the fake WhatsApp worker received with it."""
    counts = {}
    if not os.path.exists(fake_log):
        return counts
    with open(fake_log) as f:
        for line in f:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("worker") == "wa" and entry.get("path") == "/send" and entry.get("method") == "POST":
                text = (entry.get("body") or {}).get("text")
                if isinstance(text, str):
                    counts[text] = counts.get(text, 0) + 1
    return counts


def main():
    if not os.access(AVIO_BIN, os.X_OK):
        raise SetupError(f"no executable avio at {AVIO_BIN} (set AVIO_BIN)")
    started = time.time()
    tmp = tempfile.mkdtemp(prefix="avio-crash-")
    db_path = os.path.join(tmp, "avio.sqlite")
    fake_log = os.path.join(tmp, "fake.jsonl")
    server_log = os.path.join(tmp, "avio.log")
    port, tg_port, wa_port = free_port(), free_port(), free_port()
    failures = []
    passed = False
    try:
        fakes = start_fakes(tg_port, wa_port, port, fake_log, os.path.join(tmp, "fake.log"))
        server = start_avio(port, db_path, tg_port, wa_port, server_log)
        status, body = request(port, "GET", f"/admin/provider-token/{TENANT}", headers={"X-Admin-Token": ADMIN})
        if status != 200 or not body or not body.get("provider_token"):
            raise SetupError(f"GET /admin/provider-token/{TENANT} answered {status} {body}")
        token = body["provider_token"]

        # Load, then kill -9 mid-load.
        stop = threading.Event()
        threads, state = load(port, token, stop)
        time.sleep(CRASH_AFTER)
        alive_before_kill = server.poll() is None
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=5)
        time.sleep(0.3)  # the load threads see the connection errors
        stop.set()
        for t in threads:
            t.join(timeout=10)
        if not alive_before_kill:
            failures.append(f"server died on its own before the kill (exit {server.returncode}); see {server_log}")
        wh_acked, send_acked = set(state["wh_acked"]), dict(state["send_acked"])
        log(f"killed after {CRASH_AFTER:.1f}s: webhooks acked={len(wh_acked)} unanswered={len(state['wh_unacked'])} "
            f"other={len(state['wh_other'])}; sends acked={len(send_acked)} unanswered={len(state['send_unacked'])} "
            f"other={len(state['send_other'])}")
        for mid, answer in list(state["wh_other"].items())[:5]:
            failures.append(f"webhook {mid} answered {answer} before the crash (expected 200 ok)")
        for key, answer in list(state["send_other"].items())[:5]:
            failures.append(f"send {key} answered {answer} before the crash (expected 202 queued)")
        if not wh_acked or not send_acked:
            failures.append("the load produced no acknowledged webhook or send before the crash (server too slow?)")

        # Jobs the killed process had claimed.
        leased_inbox = db_scalar(db_path, "SELECT COUNT(*) FROM inbox WHERE status = 'pending' AND lease_until IS NOT NULL")
        leased_outbox = db_scalar(db_path, "SELECT COUNT(*) FROM outbox WHERE status = 'queued' AND lease_until IS NOT NULL")
        log(f"jobs leased by the killed process: inbox={leased_inbox} outbox={leased_outbox} (the restarted server releases them)")

        # Restart on the same database and port.
        restart_at = time.time()
        server = start_avio(port, db_path, tg_port, wa_port, server_log)
        log(f"restarted in {time.time() - restart_at:.1f}s")

        # What a worker / client does after an unanswered request: retry it (same id / same idempotency key).
        rng = random.Random(RUN)
        sample_wh = rng.sample(sorted(wh_acked), min(20, len(wh_acked)))
        sample_send = rng.sample(sorted(send_acked), min(10, len(send_acked)))
        retried_wh = set()
        for mid in sorted(state["wh_unacked"]) + sample_wh:
            status, body = request(port, "POST", f"/webhook?token={token}", webhook_body(mid))
            if status != 200 or not body or body.get("ok") is not True:
                failures.append(f"retry of webhook {mid} answered {status} {body}")
                continue
            if mid in wh_acked and body.get("duplicate") is not True:
                failures.append(f"retry of acknowledged webhook {mid} was not reported duplicate: {body}")
            retried_wh.add(mid)
        retried_send = {}
        for key in sorted(state["send_unacked"]) + sample_send:
            status, body = request(port, "POST", "/send?async=1", send_body(key), {"X-Admin-Token": ADMIN})
            if status != 202 or not body or not isinstance(body.get("id"), int):
                failures.append(f"retry of send {key} answered {status} {body}")
                continue
            if key in send_acked:
                if body.get("id") != send_acked[key]:
                    failures.append(f"retry of send {key} got outbox id {body.get('id')}, first answer was {send_acked[key]}")
                if body.get("duplicate") is not True:
                    failures.append(f"retry of acknowledged send {key} not reported duplicate: {body}")
            retried_send[key] = body["id"]

        drained, pending, queued = wait_drained(db_path, DRAIN_TIMEOUT)
        if not drained:
            failures.append(f"queues did not drain within {DRAIN_TIMEOUT:.0f}s: inbox pending={pending} outbox queued={queued}")
        if server.poll() is not None:
            failures.append(f"restarted server exited with {server.returncode}; see {server_log}")
        if fakes.poll() is not None:
            failures.append(f"the fake workers exited ({fakes.returncode}): undelivered sends may be the test's fault")

        # Checks, straight from SQLite.
        conn = sqlite3.connect(db_path, timeout=10)
        events = {r[0] for r in conn.execute("SELECT message_id FROM webhook_events WHERE tenant = ? AND channel = 'whatsapp'", (TENANT,))}
        msg_counts = {}
        for (mid, n) in conn.execute("""SELECT provider_message_id, COUNT(*) FROM messages
                                        WHERE tenant = ? AND channel = 'whatsapp' AND direction = 'in'
                                        GROUP BY provider_message_id""", (TENANT,)):
            msg_counts[mid] = n
        outbox = {r[0]: (r[1], r[2], r[3]) for r in conn.execute("SELECT id, status, idempotency_key, reason FROM outbox")}
        parked = conn.execute("SELECT COUNT(*) FROM inbox WHERE status = 'parked'").fetchone()[0]
        conn.close()
        deliveries = fake_deliveries(fake_log)

        must_have_wh = wh_acked | retried_wh
        lost_events = sorted(m for m in must_have_wh if m not in events)
        missing_msgs = sorted(m for m in must_have_wh if msg_counts.get(m, 0) == 0)
        doubled_msgs = sorted(m for m in must_have_wh if msg_counts.get(m, 0) > 1)
        if lost_events:
            failures.append(f"{len(lost_events)} acknowledged webhook ids missing from webhook_events, e.g. {lost_events[:3]}")
        if missing_msgs:
            failures.append(f"{len(missing_msgs)} acknowledged webhook ids have no row in messages, e.g. {missing_msgs[:3]}")
        if doubled_msgs:
            failures.append(f"{len(doubled_msgs)} webhook ids appear more than once in messages, e.g. {doubled_msgs[:3]}")
        if parked:
            failures.append(f"{parked} inbox jobs parked (failed repeatedly); see GET /admin/inbox?status=parked")

        must_send = dict(send_acked)
        must_send.update(retried_send)
        no_row = sorted(k for k, oid in must_send.items() if oid not in outbox)
        not_sent = sorted(f"{k}:{outbox[oid][0]}/{outbox[oid][2]}" for k, oid in must_send.items()
                          if oid in outbox and outbox[oid][0] != "sent")
        undelivered = sorted(k for k in must_send if deliveries.get(send_body(k)["text"], 0) == 0)
        duplicate_deliveries = sum(deliveries.get(send_body(k)["text"], 1) - 1 for k in must_send
                                   if deliveries.get(send_body(k)["text"], 0) > 1)
        duplicated_jobs = sum(1 for k in must_send if deliveries.get(send_body(k)["text"], 0) > 1)
        wrong_key = sorted(k for k, oid in must_send.items() if oid in outbox and outbox[oid][1] != k)
        key_rows = {}
        for oid, (_, key, _) in outbox.items():
            if key is not None:
                key_rows[key] = key_rows.get(key, 0) + 1
        doubled_rows = sorted(k for k, n in key_rows.items() if n > 1)
        if no_row:
            failures.append(f"{len(no_row)} 202'd sends have no outbox row, e.g. {no_row[:3]}")
        if not_sent:
            failures.append(f"{len(not_sent)} 202'd sends did not end 'sent', e.g. {not_sent[:3]}")
        if undelivered:
            failures.append(f"{len(undelivered)} 202'd sends never reached the WhatsApp worker, e.g. {undelivered[:3]}")
        if wrong_key:
            failures.append(f"{len(wrong_key)} outbox ids carry another idempotency key, e.g. {wrong_key[:3]}")
        if doubled_rows:
            failures.append(f"{len(doubled_rows)} idempotency keys have more than one outbox row, e.g. {doubled_rows[:3]}")

        verdict = "FAIL" if failures else "PASS"
        print(f"crash_test {verdict}: webhooks acked={len(wh_acked)} retried={len(retried_wh)} in_messages="
              f"{sum(1 for m in must_have_wh if msg_counts.get(m, 0) == 1)}/{len(must_have_wh)} lost={len(missing_msgs)} "
              f"dup_rows={len(doubled_msgs)}; sends acked={len(send_acked)} retried={len(retried_send)} "
              f"sent={sum(1 for oid in must_send.values() if outbox.get(oid, ('',))[0] == 'sent')}/{len(must_send)} "
              f"lost={len(set(no_row) | set(undelivered))} duplicate_deliveries={duplicate_deliveries} "
              f"(jobs={duplicated_jobs}); leased_at_crash inbox={leased_inbox} outbox={leased_outbox}; "
              f"{time.time() - started:.1f}s", flush=True)
        for f in failures:
            print(f"  FAIL: {f}", flush=True)
        passed = not failures
        return 0 if passed else 1
    finally:
        cleanup()
        if os.environ.get("KEEP_TMP") == "1" or not passed:
            log(f"artifacts kept in {tmp} (avio.log, fake.jsonl, avio.sqlite)")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def on_term(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_term)
    try:
        sys.exit(main())
    except SetupError as error:
        print(f"crash_test ERROR: {error}", flush=True)
        cleanup()
        sys.exit(2)
    except KeyboardInterrupt:
        cleanup()
        sys.exit(130)
