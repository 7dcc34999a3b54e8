"""Schemathesis hooks for tests/reliability/fuzz.sh (loaded through SCHEMATHESIS_HOOKS).

Credentials come from the environment that fuzz.sh sets:
  FUZZ_AUTH            valid | invalid   which pass this is
  FUZZ_ADMIN_TOKEN     ADMIN_TOKEN of the server          (X-Admin-Token: /send, /admin/* JSON routes)
  FUZZ_PUBLIC_KEY      PUBLIC_KEY                          (query k: /pub/*)
  FUZZ_INTERNAL_TOKEN  WA_WEB_TOKEN                        (X-Auth-Token or query token: /internal/*)
  FUZZ_PROVIDER_TOKEN  provider token of FUZZ_TENANT       (query token or X-Provider-Token: POST /webhook)
  FUZZ_OTHER_TOKEN     provider token of another tenant    (must be refused for FUZZ_TENANT)
  FUZZ_TENANT          tenant whose token is used; most generated webhook bodies are pointed at it so that the
                       fuzzer gets past the token check. Rotating it is avoided (it would invalidate the token).

valid pass:   every protected operation gets correct credentials (one of the accepted forms, picked at random).
invalid pass: every protected operation gets wrong credentials (missing, empty, wrong, another kind's token,
              another tenant's provider token, a case-changed / truncated / extended right token), and the extra
              check `auth_enforced` fails on any 2xx (and, outside /webhook, on anything but 401).
"""
import os
import random

import schemathesis

MODE = os.environ.get("FUZZ_AUTH", "valid")
ADMIN = os.environ["FUZZ_ADMIN_TOKEN"]
PUBLIC = os.environ["FUZZ_PUBLIC_KEY"]
INTERNAL = os.environ["FUZZ_INTERNAL_TOKEN"]
PROVIDER = os.environ["FUZZ_PROVIDER_TOKEN"]
OTHER = os.environ["FUZZ_OTHER_TOKEN"]
TENANT = int(os.environ["FUZZ_TENANT"])

rng = random.Random(int(os.environ.get("FUZZ_SEED", "0")) or None)

OPEN_PATHS = {"/health", "/metrics", "/", "/admin", "/admin/assets/{file}", "/openapi.yaml"}


def kind_of(path):
    if path in OPEN_PATHS:
        return None
    if path == "/webhook":
        return "provider"
    if path.startswith("/internal/"):
        return "internal"
    if path.startswith("/pub/"):
        return "public"
    return "admin"  # /send, /admin/* JSON routes


def wrong_values(right):
    """Wrong credentials derived from the right one and from the other kinds' secrets."""
    others = [t for t in (ADMIN, PUBLIC, INTERNAL, PROVIDER, OTHER) if t != right]
    # (No leading/trailing whitespace variants: the HTTP client refuses them in headers before sending.)
    return [None, "", "x", right.upper() if right.upper() != right else right.lower(), right[:-1], right + "x",
            right[: len(right) // 2]] + others


def drop(mapping, *names):
    for name in names:
        if mapping is not None and name in mapping:
            del mapping[name]


@schemathesis.auth(refresh_interval=None, retry_on=[])
class AvioAuth:
    """Sets the credential of each operation's own kind; nothing for the open operations."""

    def get(self, case, ctx):
        return MODE

    def set(self, case, data, ctx):
        kind = kind_of(case.operation.path)
        if kind is None:
            return
        if case.query is None:
            case.query = {}
        headers = case.headers
        if kind == "admin":
            value = ADMIN if MODE == "valid" else rng.choice(wrong_values(ADMIN))
            drop(headers, "X-Admin-Token")
            if value is not None:
                headers["X-Admin-Token"] = value
        elif kind == "public":
            # Only the query k counts (§2.1); in the invalid pass an admin header is sometimes added too.
            value = PUBLIC if MODE == "valid" else rng.choice(wrong_values(PUBLIC))
            drop(case.query, "k")
            if value is not None:
                case.query["k"] = value
            if MODE == "invalid" and rng.random() < 0.3:
                headers["X-Admin-Token"] = ADMIN  # the admin token never opens /pub/* when PUBLIC_KEY is set
        elif kind == "internal":
            value = INTERNAL if MODE == "valid" else rng.choice(wrong_values(INTERNAL))
            drop(headers, "X-Auth-Token")
            drop(case.query, "token")
            if value is not None:
                if rng.random() < 0.5:
                    headers["X-Auth-Token"] = value
                else:
                    case.query["token"] = value
        elif kind == "provider":
            drop(headers, "X-Provider-Token", "X-Admin-Token")
            drop(case.query, "token")
            if MODE == "valid":
                roll = rng.random()
                if roll < 0.6:
                    case.query["token"] = PROVIDER
                elif roll < 0.85:
                    headers["X-Provider-Token"] = PROVIDER
                else:  # accepted for Telegram-worker payloads only (§2.4); refused (401) for the others
                    headers["X-Admin-Token"] = ADMIN
            else:
                value = rng.choice(wrong_values(PROVIDER))
                if value == ADMIN:  # the admin token is valid for Telegram-worker payloads: not a wrong value
                    value = OTHER
                if value is not None:
                    if rng.random() < 0.6:
                        case.query["token"] = value
                    else:
                        headers["X-Provider-Token"] = value


@schemathesis.hook("map_body").apply_to(path="/webhook")
def webhook_tenant(ctx, body):
    """Point most generated bodies at the tenant whose token we hold, so the fuzzer reaches the event checks."""
    if isinstance(body, dict) and "tenant" in body and rng.random() < 0.8:
        body = dict(body)
        body["tenant"] = TENANT if rng.random() < 0.8 else str(TENANT)
    return body


@schemathesis.hook("map_path_parameters").apply_to(path="/admin/provider-token/{tenant}/rotate")
def keep_token(ctx, path_parameters):
    """Never rotate FUZZ_TENANT's token (the webhook credentials would go stale)."""
    if path_parameters and str(path_parameters.get("tenant")) == str(TENANT):
        path_parameters = dict(path_parameters)
        path_parameters["tenant"] = TENANT + 1
    return path_parameters


@schemathesis.check
def auth_enforced(ctx, response, case):
    """Invalid pass only: protected operations must refuse. /webhook may fail earlier (400/413/422, §5.1 order)."""
    if MODE != "invalid":
        return None
    kind = kind_of(case.operation.path)
    if kind is None:
        return None
    if case.method.upper() != case.operation.method.upper():
        return None  # an undeclared-method probe of the coverage phase (answered 404 before any auth)
    status = response.status_code
    if 200 <= status < 300:
        raise AssertionError(f"{kind}-protected operation answered {status} to wrong credentials")
    if kind != "provider" and status != 401:
        raise AssertionError(f"{kind}-protected operation answered {status} (expected 401) to wrong credentials")
    return None
