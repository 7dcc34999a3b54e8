#!/usr/bin/env python3
"""Drives the admin page (/admin) in headless Chromium against a running Avio with the fake workers.

Started by tests/browser/run.sh, which provides the environment:
  BASE_URL       Avio, e.g. http://127.0.0.1:8000
  ADMIN_TOKEN, PUBLIC_KEY, FAKE_TG_PASSWORD   the secrets Avio and the fake workers were started with
  TG_FAKE_URL, WA_FAKE_URL                    the fake Telegram / WhatsApp workers (test hooks /_scan, /_ready)
  OUT_DIR        where screenshots go (default test-output/browser)
  BROWSER_TEST_TIMEOUT  seconds for the whole scenario (default 120)
  CHROME_BIN     default /usr/bin/chromium;  CHROMEDRIVER  default /usr/bin/chromedriver (Debian's chromium-driver)
Prints one "✓ step" line per step; on failure prints the step, the #notice text and the visible section errors,
saves failure.png and exits 1.
"""
import base64
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

BASE = os.environ["BASE_URL"].rstrip("/")
ADMIN_TOKEN = os.environ["ADMIN_TOKEN"]
PUBLIC_KEY = os.environ["PUBLIC_KEY"]
PASSWORD = os.environ.get("FAKE_TG_PASSWORD", "secret")
TG_FAKE = os.environ["TG_FAKE_URL"].rstrip("/")
WA_FAKE = os.environ["WA_FAKE_URL"].rstrip("/")
OUT = os.environ.get("OUT_DIR", "test-output/browser")
TENANT = "1"
PHONE = "+79991234567"
JID = "79991234567@c.us"
WAIT = 10  # seconds for any one condition


class StepFailed(Exception):
    pass


def http(method, url, body=None, headers=None):
    """A plain HTTP call from the test itself (not the browser); returns (status, parsed JSON or text)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def make_driver():
    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("CHROME_BIN", "/usr/bin/chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000",
                "--lang=en-US", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--password-store=basic", "--hide-scrollbars"):
        opts.add_argument(arg)
    opts.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Explicit driver and browser paths: Selenium Manager (which would download a driver) is never consulted.
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(service=service, options=opts)
    driver.set_page_load_timeout(20)
    driver.set_script_timeout(10)
    return driver


class AdminPageTest:
    def __init__(self, driver):
        self.d = driver
        self.current = "start"

    # ------------------------------------------------------------ helpers
    def el(self, element_id):
        return self.d.find_element(By.ID, element_id)

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def wait_for(self, what, condition, timeout=WAIT):
        """Polls condition(driver) until it returns a truthy value; fails with `what` in the message."""
        try:
            return WebDriverWait(self.d, timeout, poll_frequency=0.1).until(lambda d: condition(d))
        except TimeoutException:
            raise StepFailed(f"timed out after {timeout} s waiting for {what}") from None

    def text(self, element_id):
        return self.js("const n = document.getElementById(arguments[0]); return n ? n.textContent : null;", element_id)

    def visible(self, element_id):
        return self.el(element_id).is_displayed()

    def click(self, target):
        """Scrolls the element (an id or a WebElement) to the middle of the viewport, then clicks it. WebDriver's own
        scrolling puts it at the top edge, where the sticky #notice bar covers it and the click is intercepted."""
        node = self.el(target) if isinstance(target, str) else target
        self.js("arguments[0].scrollIntoView({block: 'center', inline: 'nearest'});", node)
        node.click()

    def type_into(self, element_id, value):
        node = self.el(element_id)
        node.clear()
        node.send_keys(value)

    def submit(self, form_id):
        """Clicks the form's submit button like a user (so the page's submit handler runs)."""
        self.click(self.el(form_id).find_element(By.CSS_SELECTOR, "button[type=submit]"))

    def state(self, element_id):
        return self.el(element_id).get_attribute("data-state")

    def image_loaded(self, element_id):
        """True when the <img> is shown, has a same-origin src and has finished decoding a non-empty image."""
        return self.js("""
            const img = document.getElementById(arguments[0]);
            return !!img && !img.hidden && !!img.getAttribute('src') && img.complete && img.naturalWidth > 0;
        """, element_id)

    def shot(self, name, element_id=None):
        path = os.path.join(OUT, name)
        if element_id:
            self.el(element_id).screenshot(path)
        else:
            self.full_page(path)
        return path

    def full_page(self, path):
        """Whole-page PNG (beyond the viewport) through the DevTools protocol; viewport only if that fails."""
        try:
            metrics = self.d.execute_cdp_cmd("Page.getLayoutMetrics", {})
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            shot = self.d.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
            with open(path, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
        except Exception:  # noqa: BLE001 - a screenshot must never hide the real result
            self.d.save_screenshot(path)

    def step(self, name, fn):
        self.current = name
        started = time.monotonic()
        fn()
        print(f"✓ {name} ({time.monotonic() - started:.1f} s)", flush=True)

    # ------------------------------------------------------------ steps
    def open_page(self):
        self.d.get(BASE + "/admin")
        self.wait_for("the sign-in form", lambda d: self.visible("token-form"))
        title = self.d.title
        if "Avio" not in title:
            raise StepFailed(f"unexpected page title {title!r}")

    def log_in(self):
        self.type_into("token-input", ADMIN_TOKEN)
        self.submit("token-form")
        self.wait_for("#main to be shown", lambda d: self.visible("main") and not self.visible("token-form"))
        if self.visible("token-error"):
            raise StepFailed(f"sign-in error: {self.text('token-error')}")

    def health_ok(self):
        def db_state(_):
            return self.js("""
                const box = document.getElementById('health-status');
                for (const s of box.querySelectorAll('.stat')) {
                    if (s.querySelector('dt').textContent === 'Database') return s.querySelector('dd').textContent;
                }
                return null;""")
        self.wait_for("#health-status to show the database", lambda d: db_state(d) is not None)
        db = db_state(None)
        ok = self.el("health-status").get_attribute("data-ok")
        if db != "ok" or ok != "true":
            raise StepFailed(f"health shows Database={db!r}, data-ok={ok!r}: {self.text('health-status')!r}")
        enabled = self.js("""
            for (const s of document.querySelectorAll('#health-status .stat'))
                if (s.querySelector('dt').textContent === 'Outbound sending enabled') return s.querySelector('dd').textContent;
            return null;""")
        if enabled != "yes":
            raise StepFailed(f"health shows outbound sending enabled = {enabled!r}, expected 'yes'")

    def add_tenant(self):
        self.type_into("tenant-add-input", TENANT)
        self.submit("tenant-add-form")
        self.wait_for(f"tenant {TENANT} in #tenant-select", lambda d: self.js(
            "return [...document.getElementById('tenant-select').options].some(o => o.value === arguments[0]);", TENANT))
        Select(self.el("tenant-select")).select_by_value(TENANT)
        self.wait_for(f"tenant {TENANT} selected", lambda d: self.el("tenant-select").get_attribute("value") == TENANT
                      and self.el("send-tenant").get_attribute("value") == TENANT)
        rows = self.js("return [...document.querySelectorAll('#tenants-list tr')].map(r => r.cells[0].textContent);")
        if TENANT not in rows:
            raise StepFailed(f"#tenants-list has tenants {rows}, not {TENANT}")
        if self.visible("tenants-error"):
            raise StepFailed(f"tenants error: {self.text('tenants-error')}")

    def enter_public_key(self):
        self.type_into("key-input", PUBLIC_KEY)
        self.submit("key-form")
        self.wait_for("#key-state to say the key is set", lambda d: "is set" in (self.text("key-state") or ""))

    def telegram_qr(self):
        before = self.el("tg-qr").get_attribute("src")  # saving the key already polled the status
        self.click("tg-start")
        self.wait_for("#tg-state data-state=need_qr", lambda d: self.state("tg-state") == "need_qr")
        self.wait_for("a new Telegram QR image to load", lambda d: self.el("tg-qr").get_attribute("src") != before
                      and self.image_loaded("tg-qr"))
        if self.visible("tg-error"):
            raise StepFailed(f"Telegram error: {self.text('tg-error')}")
        expires = self.text("tg-expires") or ""
        if "expires in" not in expires:
            raise StepFailed(f"#tg-expires shows {expires!r}, expected a countdown")
        print("  screenshot:", self.shot("01-telegram-qr.png", "tg"))

    def telegram_scan(self):
        status, body = http("POST", f"{TG_FAKE}/_scan?tenant={TENANT}")
        if status != 200:
            raise StepFailed(f"fake Telegram /_scan answered {status}: {body}")
        # the page polls /pub/tg/status every 2 s while a QR is pending
        self.wait_for("#tg-state data-state=need_2fa", lambda d: self.state("tg-state") == "need_2fa", timeout=8)
        self.wait_for("the 2FA form", lambda d: self.visible("tg-2fa-form") and not self.visible("tg-qr"))

    def telegram_2fa(self):
        self.type_into("tg-password", PASSWORD)
        self.submit("tg-2fa-form")
        self.wait_for("#tg-state data-state=authorized", lambda d: self.state("tg-state") == "authorized")
        if self.visible("tg-2fa-form"):
            raise StepFailed("the 2FA form is still shown after authorization")
        if self.el("tg-password").get_attribute("value"):
            raise StepFailed("the password was left in #tg-password")
        if self.visible("tg-error"):
            raise StepFailed(f"Telegram error: {self.text('tg-error')}")

    def whatsapp_qr(self):
        # adding the tenant already started a WhatsApp session, so a QR may be shown: wait for a new one
        before = self.el("wa-qr").get_attribute("src")
        self.click("wa-start")
        # start answers "starting"; the fake posts the QR event ~0.2 s later and the page polls every 2 s
        self.wait_for("#wa-state data-state=qr with a new QR", lambda d: self.state("wa-state") == "qr"
                      and self.el("wa-qr").get_attribute("src") != before, timeout=8)
        self.wait_for("the WhatsApp QR image to load", lambda d: self.image_loaded("wa-qr"))
        if self.visible("wa-error"):
            raise StepFailed(f"WhatsApp error: {self.text('wa-error')}")
        print("  screenshot:", self.shot("02-whatsapp-qr.png", "wa"))

    def whatsapp_ready(self):
        status, body = http("POST", f"{WA_FAKE}/_ready?tenant={TENANT}")
        if status != 200:
            raise StepFailed(f"fake WhatsApp /_ready answered {status}: {body}")
        self.wait_for("#wa-state data-state=ready", lambda d: self.state("wa-state") == "ready", timeout=8)
        self.wait_for("the WhatsApp QR to be hidden", lambda d: not self.visible("wa-qr"))

    def send_message(self):
        Select(self.el("send-channel")).select_by_value("whatsapp")
        self.type_into("send-to", PHONE)
        self.type_into("send-text", "hello from the browser")
        if self.el("send-tenant").get_attribute("value") != TENANT:
            raise StepFailed(f"#send-tenant is {self.el('send-tenant').get_attribute('value')!r}, not {TENANT}")
        self.submit("send-form")
        self.wait_for("#send-result", lambda d: self.el("send-result").get_attribute("data-status"))
        result = self.text("send-result")
        if not result.startswith("HTTP 200") or JID not in result:
            raise StepFailed(f"#send-result is {result!r}; expected HTTP 200 and {JID}")
        if self.visible("send-hint"):
            raise StepFailed(f"#send-hint shown: {self.text('send-hint')}")

    def inbound_lead(self):
        status, body = http("GET", f"{BASE}/admin/provider-token/{TENANT}", headers={"X-Admin-Token": ADMIN_TOKEN})
        if status != 200 or not isinstance(body, dict) or not body.get("provider_token"):
            raise StepFailed(f"GET /admin/provider-token/{TENANT} answered {status}: {body}")
        event = {"event": "messages.incoming", "tenant": int(TENANT), "channel": "whatsapp", "message_id": "b1",
                 "from": "79991234567", "text": "hi from customer"}
        status, answer = http("POST", f"{BASE}/webhook?token={body['provider_token']}", event)
        if status != 200:
            raise StepFailed(f"POST /webhook answered {status}: {answer}")
        # The inbox worker stores the message asynchronously (well under 1 s): refresh the list like a user until
        # this contact's lead (created by the send above) counts both messages. The list is emptied before each
        # refresh so that only a fresh answer is read.
        def lead_button(_):
            return self.js("""
                return [...document.querySelectorAll('#leads-list .lead')]
                    .find(b => b.querySelector('.lead-name').textContent === arguments[0]) || null;""", PHONE.lstrip("+"))
        deadline = time.monotonic() + WAIT
        while True:
            self.js("document.getElementById('leads-list').replaceChildren();")
            self.click("leads-refresh")
            lead = self.wait_for(f"a lead for {PHONE} in #leads-list", lead_button, timeout=3)
            meta = self.js("return arguments[0].querySelector('.muted').textContent;", lead)
            if "2 msg." in meta:
                break
            if time.monotonic() > deadline:
                raise StepFailed(f"the lead line still reads {meta!r} (expected 2 messages: sent and received)")
            time.sleep(0.2)
        if "whatsapp" not in meta:
            raise StepFailed(f"lead line {meta!r} does not name the whatsapp channel")
        # open the lead: the chat shows the inbound text and the message sent above
        self.click(lead)
        self.wait_for("'hi from customer' in #lead-messages",
                      lambda d: "hi from customer" in (self.text("lead-messages") or ""))
        texts = self.js("return [...document.querySelectorAll('#lead-messages .msg')]"
                        ".map(m => m.className + ': ' + m.textContent);")
        title = self.text("lead-title")
        if PHONE.lstrip("+") not in title:
            raise StepFailed(f"#lead-title is {title!r}")
        if not any("msg-in" in t and "hi from customer" in t for t in texts):
            raise StepFailed(f"no incoming message 'hi from customer' in {texts}")
        if not any("msg-out" in t and "hello from the browser" in t for t in texts):
            raise StepFailed(f"no outgoing message 'hello from the browser' in {texts}")

    def final_page(self):
        self.js("window.scrollTo(0, 0);")  # the sticky #notice bar then sits at the top of the picture
        print("  screenshot:", self.shot("03-admin-page.png"))
        self.check_console()

    def phone_layout(self):
        """At a phone's width (390 px) the page is one column and nothing overflows sideways."""
        self.d.set_window_size(390, 844)
        time.sleep(0.3)
        overflow = self.js("return document.documentElement.scrollWidth - window.innerWidth;")
        if overflow > 1:
            raise StepFailed(f"the page is {overflow} px wider than a 390 px phone screen")
        self.js("window.scrollTo(0, 0);")
        print("  screenshot:", self.shot("04-phone.png"))

    def check_console(self):
        """Fails on uncaught page errors; other console errors are printed."""
        logs = self.d.get_log("browser")
        errors = [e["message"] for e in logs if e.get("level") == "SEVERE"]
        for message in errors:
            print("  console:", message)
        uncaught = [m for m in errors if "Uncaught" in m]
        if uncaught:
            raise StepFailed(f"uncaught JavaScript errors: {uncaught}")

    # ------------------------------------------------------------ failure report
    def report_failure(self, error):
        print(f"✗ {self.current}: {error}", flush=True)
        try:
            print(f"  #notice: {self.text('notice')!r}")
            errors = self.js("""
                return [...document.querySelectorAll('.error')].filter(n => !n.hidden && n.textContent)
                    .map(n => (n.id || n.className) + ': ' + n.textContent);""")
            for line in errors or []:
                print("  error line:", line)
            for element_id in ("tg-state", "wa-state", "send-result"):
                print(f"  #{element_id}: {self.text(element_id)!r}")
            for entry in self.d.get_log("browser"):
                print("  console:", entry.get("level"), entry.get("message"))
        except Exception as e:  # noqa: BLE001
            print("  (could not read the page:", e, ")")
        try:
            self.js("window.scrollTo(0, 0);")
            print("  screenshot:", self.shot("failure.png"))
        except Exception as e:  # noqa: BLE001
            print("  (no failure screenshot:", e, ")")


def main():
    os.makedirs(OUT, exist_ok=True)
    # SIGTERM becomes SystemExit, so the finally below still closes the browser (Ctrl-C does the same via KeyboardInterrupt)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    limit = int(os.environ.get("BROWSER_TEST_TIMEOUT", "120"))

    def overall_timeout(*_):
        raise StepFailed(f"the whole browser test took longer than {limit} s (BROWSER_TEST_TIMEOUT)")
    signal.signal(signal.SIGALRM, overall_timeout)
    signal.alarm(limit)
    started = time.monotonic()
    driver = None
    test = None
    try:
        test = AdminPageTest(None)
        test.current = "start headless Chromium"
        driver = make_driver()
        test.d = driver
        print(f"✓ start headless Chromium {driver.capabilities.get('browserVersion', '?')} "
              f"({time.monotonic() - started:.1f} s)", flush=True)
        for name, fn in [
            ("open /admin", test.open_page),
            ("log in with the admin token", test.log_in),
            ("health shows the database ok", test.health_ok),
            (f"add and select tenant {TENANT}", test.add_tenant),
            ("enter the public key", test.enter_public_key),
            ("Telegram: QR code shown", test.telegram_qr),
            ("Telegram: scan → need_2fa", test.telegram_scan),
            ("Telegram: 2FA password → authorized", test.telegram_2fa),
            ("WhatsApp: QR code shown", test.whatsapp_qr),
            ("WhatsApp: ready event → ready", test.whatsapp_ready),
            (f"send a WhatsApp message to {PHONE}", test.send_message),
            ("inbound webhook message shows up as a lead", test.inbound_lead),
            ("final screenshot, no uncaught JS errors", test.final_page),
            ("phone width: no sideways overflow", test.phone_layout),
        ]:
            test.step(name, fn)
    except KeyboardInterrupt:
        print(f"✗ {test.current if test else 'start'}: interrupted", flush=True)
        return 130
    except Exception as error:  # noqa: BLE001 - any failure is reported the same way
        if not isinstance(error, StepFailed):  # e.g. a Selenium error: its class and first line, no stack trace
            lines = str(getattr(error, "msg", None) or error).strip().splitlines()
            error = f"{type(error).__name__}: {lines[0] if lines else ''}"
        if driver is not None:
            test.report_failure(error)
        else:
            print(f"✗ {test.current if test else 'start'}: {error}", flush=True)
        return 1
    finally:
        signal.alarm(0)
        if driver is not None:
            try:
                driver.quit()
            except Exception:  # noqa: BLE001
                pass
    print(f"browser test passed in {time.monotonic() - started:.1f} s; screenshots in {OUT}/", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
