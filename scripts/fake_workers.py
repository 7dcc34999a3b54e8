#!/usr/bin/env python3
"""Fake Telegram and WhatsApp workers for development, demos, the browser test and benchmarks.

They speak the workers' HTTP contracts (CONTRACT §4, §5, §6) on loopback:
  Telegram worker  :9000  POST /qr/start, GET /status, GET /session/qr/{id}.txt, GET /qr/png, POST /2fa,
                          POST /session/logout, POST /send       (header X-Admin-Token must equal ADMIN_TOKEN)
  WhatsApp worker  :9001  POST /session/{tenant}/start, POST /send, GET /health  (X-Auth-Token = WA_WEB_TOKEN)
Test hooks (no auth): POST :9000/_scan?tenant=N simulates scanning the QR (→ need_2fa, or authorized with
FAKE_TG_NO_2FA=1). The 2FA password is FAKE_TG_PASSWORD (default "secret"). On session start the WhatsApp fake fetches
the tenant's provider token from Avio (POST {APP_BASE_URL}/internal/tenant/{t}/ensure) and posts a `qr` event to
/webhook, like the real worker; POST :9001/_ready?tenant=N posts a `ready` event. Every request is appended as a JSON
line to FAKE_LOG when set.

Usage: ADMIN_TOKEN=… WA_WEB_TOKEN=… APP_BASE_URL=http://127.0.0.1:8000 scripts/fake_workers.py [--tg-port 9000] [--wa-port 9001]
"""
import argparse, base64, json, os, secrets, sys, threading, time, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

ADMIN = os.environ.get("ADMIN_TOKEN", "")
WA_TOKEN = os.environ.get("WA_WEB_TOKEN") or os.environ.get("WEBHOOK_SECRET") or ADMIN
APP = os.environ.get("APP_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
PASSWORD = os.environ.get("FAKE_TG_PASSWORD", "secret")
NO_2FA = os.environ.get("FAKE_TG_NO_2FA") == "1"
QR_TTL_MS = int(os.environ.get("FAKE_TG_QR_TTL_MS", "60000"))
LOG = os.environ.get("FAKE_LOG")
lock = threading.Lock()
tg = {}  # tenant -> state dict
sent = {"n": 0}
# A tiny valid QR-like SVG (the real worker sends whatsapp-web.js's SVG).
SVG = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 29 29"><rect width="29" height="29" fill="#fff"/>'
       '<path d="M1 1h7v7h-7zM21 1h7v7h-7zM1 21h7v7h-7z" fill="#000"/></svg>\n')


def now_ms():
    return int(time.time() * 1000)


def status(tenant):
    s = tg.get(tenant, {"raw": "idle"})
    raw = s["raw"]
    if raw == "waiting_qr" and s["expires_at"] < now_ms():
        raw = s["raw"] = "failed"
        s["last_error"] = "qr_expired"
    public = {"waiting_qr": "need_qr", "waiting_2fa": "need_2fa", "authorized": "authorized", "failed": "failed"}.get(raw, "need_qr")
    return {"ok": True, "tenant": tenant, "authorized": raw == "authorized", "state": public, "raw_state": raw,
            "needs_2fa": raw == "waiting_2fa", "qr_id": s.get("qr_id") if raw == "waiting_qr" else None,
            "expires_at": s.get("expires_at") if raw == "waiting_qr" else None, "last_error": s.get("last_error"),
            "authorized_count": sum(1 for v in tg.values() if v["raw"] == "authorized"),
            "waiting_count": sum(1 for v in tg.values() if v["raw"] == "waiting_qr"),
            "needs_2fa_count": sum(1 for v in tg.values() if v["raw"] == "waiting_2fa")}


def post_json(url, body, headers=None):
    data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read() or b"{}")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # answers leave at once (no 40 ms delayed-ACK stall)
    kind = "tg"

    def log_message(self, *args):
        pass

    def reply(self, code, body=None, raw=None, ctype="application/json"):
        data = raw if raw is not None else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return {}

    def handle_any(self, method):
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = self.body() if method == "POST" else {}
        if LOG:
            with lock, open(LOG, "a") as f:
                f.write(json.dumps({"worker": self.kind, "method": method, "path": url.path, "query": query,
                                    "headers": {k: v for k, v in self.headers.items() if k.lower().startswith("x-")},
                                    "body": body}) + "\n")
        if url.path == "/health":
            return self.reply(200, {"ok": True})
        if self.kind == "tg":
            return self.telegram(method, url.path, query, body)
        return self.whatsapp(method, url.path, query, body)

    def telegram(self, method, path, query, body):
        if path == "/_scan":
            t = int(query.get("tenant", "1"))
            with lock:
                tg.setdefault(t, {"raw": "idle"})["raw"] = "authorized" if NO_2FA else "waiting_2fa"
            return self.reply(200, {"ok": True})
        if self.headers.get("X-Admin-Token") != ADMIN:
            return self.reply(401, {"ok": False, "error": "unauthorized"})
        t = int(body.get("tenant") or query.get("tenant") or 0)
        with lock:
            if method == "POST" and path == "/qr/start":
                s = tg.get(t)
                if s and s["raw"] == "authorized" and not body.get("force"):
                    return self.reply(409, {"ok": False, "error": "already_authorized"})
                token = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
                tg[t] = {"raw": "waiting_qr", "qr_id": secrets.token_urlsafe(16), "token": token,
                         "expires_at": now_ms() + QR_TTL_MS, "last_error": None}
                return self.reply(200, status(t))
            if method == "GET" and path == "/status":
                return self.reply(200, status(t))
            if method == "GET" and path.startswith("/session/qr/") and path.endswith(".txt"):
                qr_id = path[len("/session/qr/"):-4]
                for s in tg.values():
                    if s.get("qr_id") == qr_id and s["raw"] == "waiting_qr":
                        return self.reply(200, raw=f"tg://login?token={s['token']}".encode(), ctype="text/plain")
                return self.reply(404, {"ok": False, "error": "qr_not_found"})
            if method == "GET" and path == "/qr/png":
                return self.reply(404, {"ok": False, "error": "qr_not_found"})
            if method == "POST" and path == "/2fa":
                s = tg.get(t, {"raw": "idle"})
                if s["raw"] != "waiting_2fa":
                    return self.reply(409, {"ok": False, "error": "not_waiting_2fa"})
                if body.get("password") != PASSWORD:
                    return self.reply(401, {"ok": False, "error": "bad_password"})
                s["raw"] = "authorized"
                return self.reply(200, status(t))
            if method == "POST" and path == "/session/logout":
                tg.pop(t, None)
                return self.reply(200, {"ok": True})
            if method == "POST" and path == "/send":
                sent["n"] += 1
                return self.reply(200, {"ok": True, "peer_id": 777, "message_id": sent["n"]})
        return self.reply(404, {"ok": False, "error": "not_found"})

    def whatsapp(self, method, path, query, body):
        parts = path.strip("/").split("/")
        if path == "/_ready":
            t = int(query.get("tenant", "1"))
            threading.Thread(target=self.push, args=(t, {"event": "ready", "tenant": t, "channel": "whatsapp",
                                                          "provider": "whatsapp", "state": "ready", "ts": now_ms()}), daemon=True).start()
            return self.reply(200, {"ok": True})
        if self.headers.get("X-Auth-Token") != WA_TOKEN:
            return self.reply(401, {"ok": False, "error": "unauthorized"})
        if method == "POST" and len(parts) == 3 and parts[0] == "session" and parts[2] == "start":
            t = int(parts[1])
            event = {"provider": "whatsapp", "event": "qr", "tenant": t, "channel": "whatsapp", "qr_id": str(now_ms()), "svg": SVG}
            threading.Thread(target=self.push, args=(t, event), daemon=True).start()
            return self.reply(200, {"ok": True})
        if method == "POST" and path == "/send":
            to = str(body.get("to", ""))
            if not to.endswith("@c.us"):
                return self.reply(400, {"ok": False, "error": "invalid_to"})
            return self.reply(200, {"ok": True})
        return self.reply(404, {"ok": False, "error": "not_found"})

    @staticmethod
    def push(tenant, event):
        """Posts an event to Avio's /webhook with the tenant's provider token, as the real worker does."""
        time.sleep(0.2)
        try:
            token = post_json(f"{APP}/internal/tenant/{tenant}/ensure", {"source": "waweb"}, {"X-Auth-Token": WA_TOKEN})["provider_token"]
            post_json(f"{APP}/webhook?token={token}", event)
        except Exception as error:  # the app may not be up yet; the real worker retries, a fake just reports
            print(f"fake waweb: could not post {event['event']} for tenant {tenant}: {error}", file=sys.stderr)

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tg-port", type=int, default=9000)
    parser.add_argument("--wa-port", type=int, default=9001)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    servers = []
    for kind, port in (("tg", args.tg_port), ("wa", args.wa_port)):
        handler = type(f"{kind}Handler", (Handler,), {"kind": kind})
        server = ThreadingHTTPServer((args.host, port), handler)
        server.daemon_threads = True
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"fake workers: telegram http://{args.host}:{args.tg_port}  whatsapp http://{args.host}:{args.wa_port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
