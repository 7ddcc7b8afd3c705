#!/usr/bin/env python3
"""A small SSP/1 client written from the spec, standard library only: proof that the client
kit's contract (spec section 20.5) is language-neutral. It reads SSP_ENDPOINT, SSP_STREAM,
SSP_PARAMS and SSP_HEADERS, prints one JSON line per delivered event and gap/restart/
termination/error lines, and closes its session on SIGINT. Given several streams (SSP_STREAMS)
it follows them in one multiplexed session (ssp_multiplex.py). It never reads discovery, so it
sends `hold` with every poll (SSP-CLIENT-27) and caps a live session's backoff at 1 s.

Deliberately broken variants for the kit's own tests: --break FLAG, one of BREAK_FLAGS.
"""
import http.client
import json
import os
import random
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from ssp_batch import events_problem, is_int
from ssp_multiplex import run_multiplex

ENDPOINT = os.environ["SSP_ENDPOINT"]
STREAM = os.environ["SSP_STREAM"]
PARAMS = json.loads(os.environ.get("SSP_PARAMS") or "{}")
HEADERS = json.loads(os.environ.get("SSP_HEADERS") or "{}")
STREAMS = json.loads(os.environ.get("SSP_STREAMS") or "[]")
BREAK_FLAGS = {
    "no-dedup", "first-signature", "ignore-retry-after", "tight-retry", "gap-silent", "adopt-latest",
    "no-empty-wait", "ignore-advice-delay", "unknown-reason-stops", "retry-unknown-codes",
    "retry-not-retryable", "deliver-after-skip", "invalid-200-fatal", "no-jitter", "reopen-at-once",
    "short-deadline", "no-hold", "open-only-credentials", "deliver-after-close", "auth-retry",
    "ext-strict", "expired-fatal", "restart-silent", "mux-no-dedup", "mux-end-session", "mux-forget-changes",
    "mux-skip-silent", "mux-deliver-after-skip", "mux-skip-keeps-stream", "mux-invalid-gap-accepted",
    "mux-reopen-ends", "mux-restart-silent", "mux-retry-not-retryable", "mux-error-reopens",
    "form-encoded", "no-ssp-member", "skip-silent", "sig-in-url", "watchdog-repoll", "gap-as-sent",
    "inverted-gap-as-loss", "gap-not-adjacent-accepted",
}
BREAKS = {sys.argv[i + 1] for i, arg in enumerate(sys.argv[:-1]) if arg == "--break"}
# --single-stream: a legal client that does not implement multiplex (the kit reports its multiplex scenarios as not applicable).
SINGLE_STREAM = "--single-stream" in sys.argv
assert BREAKS <= BREAK_FLAGS, f"unknown --break {BREAKS - BREAK_FLAGS}"
HOLD_MS = 3000
# Error codes of the registry (schemas/error-codes.json) and whether each is retryable.
KNOWN_CODES = {
    "bad-request": False, "unsupported-version": False, "method-not-allowed": False,
    "unsupported-media-type": False, "payload-too-large": False, "unknown-stream": False,
    "invalid-params": False, "invalid-signature": False, "session-expired": False,
    "too-many-sessions": True, "unavailable": True, "internal-error": True, "unauthorized": False,
    "forbidden": False, "request-timeout": True, "headers-too-large": False,
}
KNOWN_REASONS = {"complete", "closed", "expired", "error", "shutdown", "revoked"}
ANSWERS = {"open": {"session"}, "poll": {"batch", "termination"}, "close": {"termination"}}


class Transport(Exception):
    pass


class Interrupts:
    """SIGINT stops the client while it waits (a request, a sleep), never halfway through an answer:
    a Ctrl-C between printing an event and taking the answer's signature would close with an older one."""
    deferred = 0
    pending = False

    @classmethod
    def handler(cls, *_):
        if cls.deferred:
            cls.pending = True
        else:
            raise KeyboardInterrupt

    def __enter__(self):
        Interrupts.deferred += 1

    def __exit__(self, *_):
        Interrupts.deferred -= 1
        if not Interrupts.deferred and Interrupts.pending:
            raise KeyboardInterrupt


class Stop(Exception):
    def __init__(self, code):
        self.code = code


def out(line):
    print(json.dumps(line), flush=True)


def post(message, timeout):
    headers = {"Content-Type": "application/x-www-form-urlencoded" if "form-encoded" in BREAKS else "application/json"}
    if message["type"] == "open" or "open-only-credentials" not in BREAKS:
        headers.update(HEADERS)  # SSP-CLIENT-28: credentials on every request
    url = ENDPOINT
    if "sig-in-url" in BREAKS and "sig" in message:
        url += "?sig=" + urllib.parse.quote(message["sig"])
    if "no-ssp-member" in BREAKS and message["type"] == "poll":
        message = {key: value for key, value in message.items() if key != "ssp"}
    request = urllib.request.Request(url, data=json.dumps(message).encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, headers, raw = error.code, error.headers, error.read()
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError, OSError) as error:
        raise Transport(str(error))
    try:
        return status, headers, json.loads(raw)
    except ValueError:
        return status, headers, None


def problem(request_type, status, body):
    """Why an answer is invalid (SSP-CLIENT-19), or None."""
    if not isinstance(body, dict) or body.get("ssp") != 1:
        return "not an SSP/1 message"
    kind = body.get("type")
    if "ext-strict" in BREAKS and "ext" in body:
        return "a member it does not understand"
    if kind == "error":
        ok = isinstance(body.get("code"), str) and isinstance(body.get("message"), str) and isinstance(body.get("retryable"), bool)
        return None if ok and status >= 400 else "invalid error"
    if status != 200 or kind not in ANSWERS[request_type] or not isinstance(body.get("sig"), str):
        return f"a {kind} does not answer {request_type} with status {status}"
    if kind == "session":
        return None if is_int(body.get("position")) else "invalid session"
    if kind == "batch":
        # --break inverted-gap-as-loss takes an inverted gap and reports it; gap-not-adjacent-accepted takes the batch as sent.
        return events_problem(body.get("events"), body.get("gap"), "inverted-gap-as-loss" in BREAKS, "gap-not-adjacent-accepted" in BREAKS)
    advice = body.get("advice")
    ok = isinstance(body.get("reason"), str) and is_int(body.get("last")) and isinstance(advice, dict) and isinstance(advice.get("action"), str)
    return None if ok else "invalid termination"


def backoff_wait(n, cap_ms=None):
    """SSP-CLIENT-17/24: a random wait in [d/2, d], d = min(30 s, 2^(n-1) s, cap)."""
    d = min(30, 2 ** (n - 1)) * 1000
    if cap_ms is not None:
        d = min(d, cap_ms)
    return d if "no-jitter" in BREAKS else random.uniform(d / 2, d)


class Client:
    def __init__(self):
        self.sig = None
        self.position = 0
        self.first_sig = None
        self.last_seq = 0
        self.failures = 0
        self.restarts = 0
        self.repeated = False
        self.broken_session = False

    def backoff(self, retry_after_ms=0, live=True):
        """SSP-CLIENT-17/18: a random wait, capped at 1 s for a live session (no limits known), never shorter than Retry-After."""
        self.failures += 1
        wait = 0 if "tight-retry" in BREAKS else backoff_wait(self.failures, 1000 if live else None)
        if "ignore-retry-after" not in BREAKS:
            wait = max(wait, retry_after_ms)
        time.sleep(wait / 1000)

    def fail(self, kind, message):
        out({"error": {"kind": kind, "message": message}})
        self.close()
        raise Stop(1)

    def close(self, report=False):
        """SSP-CLIENT-14; reports the termination answering the close (SSP-CLIENT-30)."""
        if self.sig is None:
            return
        sig, self.sig = self.sig, None
        try:
            status, _, body = post({"ssp": 1, "type": "close", "sig": sig}, timeout=3)
        except Transport:
            return
        if report and problem("close", status, body) is None and body["type"] == "termination":
            out({"termination": {"reason": body["reason"], "last": body["last"]}})
        if report and "deliver-after-close" in BREAKS:
            status, _, body = post({"ssp": 1, "type": "poll", "sig": sig, "hold": 0}, timeout=3)
            for event in body.get("events", []) if isinstance(body, dict) else []:
                out({"seq": event["seq"], "data": event["data"]})

    def refused(self, request_type, status, headers, body):
        """An answer that is not the one expected: return to repeat the request, or report and stop."""
        why = problem(request_type, status, body)
        if why is not None:
            if status in (401, 403):
                self.fail("auth", f"{status} {why}")
            if (status in (200, 408, 429) or status >= 500) and "invalid-200-fatal" not in BREAKS:
                self.backoff(live=request_type != "open")
                return
            self.fail("protocol", f"{status}: {why}")
        code = body["code"]
        if status in (401, 403) and code not in KNOWN_CODES or code in ("unauthorized", "forbidden"):
            if "auth-retry" not in BREAKS or self.repeated:
                self.fail("auth", f"{status} {code}")
            self.repeated = True
        retryable = KNOWN_CODES.get(code, body["retryable"])
        if not retryable and not self.repeated:
            broken = "retry-not-retryable" if code in KNOWN_CODES else "retry-unknown-codes"
            if broken in BREAKS:
                self.repeated = True
                retryable = True
        if not retryable:
            self.fail("server" if status >= 500 else "request", f"{status} {code}")
        retry_after = body.get("retryAfterMs") or 0
        header = headers.get("Retry-After") if headers else None
        if header and header.isdigit():
            retry_after = max(retry_after, int(header) * 1000)
        self.backoff(retry_after, live=request_type != "open")

    def open(self):
        while True:
            try:
                status, headers, body = post({"ssp": 1, "type": "open", "stream": STREAM, "params": PARAMS}, timeout=10)
            except Transport:
                self.backoff(live=False)
                continue
            if problem("open", status, body) is None and body["type"] == "session":
                self.failures = 0
                self.sig = self.first_sig = body["sig"]
                self.position = self.last_seq = body["position"]
                return
            self.refused("open", status, headers, body)

    def restart_wait(self, delay_ms, resume):
        """SSP-CLIENT-13/24: no earlier than delayMs, and a growing backoff while advice brings no event."""
        self.restarts += 1
        if "ignore-advice-delay" in BREAKS and resume:
            return
        wait = delay_ms
        if not ("reopen-at-once" in BREAKS and not resume):
            wait = max(wait, backoff_wait(self.restarts, 1000 if resume else None))
        time.sleep(wait / 1000)

    def reopen(self, reason):
        if "restart-silent" not in BREAKS:
            out({"restart": {"reason": reason, "lastSeq": self.last_seq}})
        self.sig = None
        self.open()

    def adopt(self, sig, position):
        """SSP-CLIENT-3: the newest signature is the one at the highest position; a late answer never rewinds."""
        if position >= self.position or "adopt-latest" in BREAKS:
            self.sig, self.position = sig, position

    def batch(self, body):
        gap = body.get("gap")
        # SSP-CLIENT-15: only the part of a gap after what the client has is lost (--break gap-as-sent reports it whole, behind or not).
        if gap and (gap["to"] > self.last_seq or "gap-as-sent" in BREAKS):
            if "gap-silent" not in BREAKS:
                lost = {"from": gap["from"], "to": gap["to"]} if "gap-as-sent" in BREAKS else {"from": max(gap["from"], self.last_seq + 1), "to": gap["to"]}
                out({"gap": lost})
            self.last_seq = max(self.last_seq, gap["to"])
        for event in body["events"]:
            if event["seq"] <= self.last_seq and "no-dedup" not in BREAKS:
                continue
            if event["seq"] > self.last_seq + 1 and not self.broken_session and "skip-silent" not in BREAKS:
                if "deliver-after-skip" not in BREAKS:
                    self.fail("protocol", f"event {event['seq']} after {self.last_seq} without a gap")
                out({"error": {"kind": "protocol", "message": "events skipped without a gap"}})
                self.broken_session = True
            out({"seq": event["seq"], "data": event["data"]})
            self.last_seq = event["seq"]
            self.restarts = 0
        last = body["events"][-1]["seq"] if body["events"] else (gap["to"] if gap else self.position)
        self.adopt(body["sig"], last)

    def terminated(self, body):
        """SSP-CLIENT-13/23: follow the advice; an unknown action is none. True when the stream has ended."""
        advice = body["advice"]
        action, delay = advice["action"], advice.get("delayMs", 0)
        if body["reason"] not in KNOWN_REASONS and "unknown-reason-stops" in BREAKS:
            action = "none"
        if action == "resume":
            self.restart_wait(delay, resume=True)
            self.sig = body["sig"]
            return False
        if action == "reopen":
            self.restart_wait(delay, resume=False)
            self.reopen(body["reason"])
            return False
        self.sig = None
        out({"termination": {"reason": body["reason"], "last": body["last"]}})
        raise Stop(0 if body["reason"] == "complete" else 1)

    @staticmethod
    def extra_poll(message, deadline):
        """The watchdog's poll (--break watchdog-repoll): its answer is ignored."""
        try:
            post(message, timeout=deadline)
        except Transport:
            pass

    def run(self):
        self.open()
        while True:
            sent = time.monotonic()
            message = {"ssp": 1, "type": "poll", "sig": self.sig}
            if "no-hold" not in BREAKS:
                message["hold"] = HOLD_MS
            # SSP-CLIENT-26: the answer deadline is the hold plus an allowance for the network.
            deadline = HOLD_MS / 2000 if "short-deadline" in BREAKS else HOLD_MS / 1000 + 10
            watchdog = None
            if "watchdog-repoll" in BREAKS:
                # Broken: a stall watchdog shorter than the hold sends the same poll again
                # without abandoning the first, so two polls of the session are outstanding.
                watchdog = threading.Timer(HOLD_MS / 1500, lambda: self.extra_poll(message, deadline))
                watchdog.daemon = True
                watchdog.start()
            try:
                status, headers, body = post(message, timeout=deadline)
            except Transport:
                if "first-signature" in BREAKS:
                    self.sig, self.position = self.first_sig, 0
                self.backoff()
                continue
            finally:
                if watchdog:
                    watchdog.cancel()
            if problem("poll", status, body) is None and body["type"] == "batch":
                self.failures = 0
                with Interrupts():
                    self.batch(body)
                if not body["events"] and not body.get("gap") and "no-empty-wait" not in BREAKS:
                    time.sleep(max(0, sent + 1 - time.monotonic()))  # SSP-CLIENT-9
            elif problem("poll", status, body) is None and body["type"] == "termination":
                self.failures = 0
                self.terminated(body)
            elif problem("poll", status, body) is None and body["code"] in ("session-expired", "invalid-signature") and "expired-fatal" not in BREAKS:
                self.restart_wait(0, resume=False)  # SSP-CLIENT-25, following SSP-CLIENT-24
                self.reopen(body["code"])
            else:
                self.refused("poll", status, headers, body)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, Interrupts.handler)
    if len(STREAMS) > 1 and SINGLE_STREAM:
        out({"unsupported": {"feature": "multiplex", "reason": "started with --single-stream: one stream per process"}})
        sys.exit(0)
    if len(STREAMS) > 1:
        try:
            sys.exit(run_multiplex(STREAMS, post, out, BREAKS, HOLD_MS, Transport))
        except KeyboardInterrupt:
            sys.exit(130)
    client = Client()
    try:
        client.run()
    except Stop as stop:
        sys.exit(stop.code)
    except KeyboardInterrupt:
        client.close(report=True)
        sys.exit(130)
