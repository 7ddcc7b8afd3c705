#!/usr/bin/env python3
"""A small SSP/1 client written from the spec, standard library only: proof that the client
kit's contract (spec section 20.5) is language-neutral. It reads SSP_ENDPOINT, SSP_STREAM and
SSP_PARAMS, prints one JSON line per delivered event and gap/restart/termination/error lines,
and closes its session on SIGINT.

Deliberately broken variants for the kit's own tests: --break no-dedup | first-signature |
ignore-retry-after | tight-retry | gap-silent.
"""
import json
import os
import random
import sys
import time
import urllib.error
import urllib.request

ENDPOINT = os.environ["SSP_ENDPOINT"]
STREAM = os.environ["SSP_STREAM"]
PARAMS = json.loads(os.environ.get("SSP_PARAMS") or "{}")
BREAKS = {sys.argv[i + 1] for i, arg in enumerate(sys.argv[:-1]) if arg == "--break"}
HOLD_MS = 20000


class Transport(Exception):
    pass


def out(line):
    print(json.dumps(line), flush=True)


def post(message, timeout=HOLD_MS / 1000 + 10):
    request = urllib.request.Request(ENDPOINT, data=json.dumps(message).encode(), method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            body = json.loads(error.read())
        except ValueError:
            body = None
        return error.code, error.headers, body
    except (urllib.error.URLError, ConnectionError, OSError, ValueError) as error:
        raise Transport(str(error))


class Client:
    def __init__(self):
        self.sig = None
        self.first_sig = None
        self.last_seq = 0
        self.failures = 0

    def backoff(self, retry_after_ms=0):
        """SSP-CLIENT-17/18: a random wait in [d/2, d], and never shorter than Retry-After."""
        self.failures += 1
        d = min(30, 2 ** (self.failures - 1)) * 1000
        wait = 0 if "tight-retry" in BREAKS else random.uniform(d / 2, d)
        if "ignore-retry-after" not in BREAKS:
            wait = max(wait, retry_after_ms)
        time.sleep(wait / 1000)

    def fail(self, kind, message):
        out({"error": {"kind": kind, "message": message}})
        self.close()
        sys.exit(1)

    def close(self):
        if self.sig is None:
            return
        try:
            post({"ssp": 1, "type": "close", "sig": self.sig}, timeout=3)
        except Transport:
            pass
        self.sig = None

    def refused(self, status, headers, body):
        """An answer that is not the one expected: retry (True), or report and stop."""
        is_error = isinstance(body, dict) and body.get("type") == "error"
        code = body.get("code") if is_error else None
        if status in (401, 403) or code in ("unauthorized", "forbidden"):
            self.fail("auth", f"{status} {code}")
        retryable = body.get("retryable") is True if is_error else status in (408, 429) or status >= 500
        if not retryable:
            self.fail("server" if status >= 500 else "request", f"{status} {code}")
        retry_after = (body.get("retryAfterMs") or 0) if is_error else 0
        header = headers.get("Retry-After") if headers else None
        if header and header.isdigit():
            retry_after = max(retry_after, int(header) * 1000)
        self.backoff(retry_after)
        return True

    def open(self):
        while True:
            try:
                status, headers, body = post({"ssp": 1, "type": "open", "stream": STREAM, "params": PARAMS}, timeout=10)
            except Transport:
                self.backoff()
                continue
            if status == 200 and isinstance(body, dict) and body.get("type") == "session":
                self.failures = 0
                self.sig = self.first_sig = body["sig"]
                self.last_seq = 0
                return
            self.refused(status, headers, body)

    def reopen(self, reason):
        out({"restart": {"reason": reason, "lastSeq": self.last_seq}})
        self.sig = None
        self.open()

    def batch(self, body, sent):
        gap = body.get("gap")
        if gap and gap["to"] > self.last_seq:
            if "gap-silent" not in BREAKS:
                out({"gap": {"from": max(gap["from"], self.last_seq + 1), "to": gap["to"]}})
            self.last_seq = gap["to"]
        for event in body["events"]:
            if event["seq"] <= self.last_seq and "no-dedup" not in BREAKS:
                continue
            if event["seq"] > self.last_seq + 1:
                self.fail("protocol", f"event {event['seq']} after {self.last_seq} without a gap")
            out({"seq": event["seq"], "data": event["data"]})
            self.last_seq = event["seq"]
        self.sig = body["sig"]
        if not body["events"] and not gap:
            time.sleep(max(0, sent + 1 - time.monotonic()))  # SSP-CLIENT-9

    def run(self):
        self.open()
        while True:
            sent = time.monotonic()
            try:
                status, headers, body = post({"ssp": 1, "type": "poll", "sig": self.sig, "hold": HOLD_MS})
            except Transport:
                if "first-signature" in BREAKS:
                    self.sig = self.first_sig
                self.backoff()
                continue
            kind = body.get("type") if isinstance(body, dict) else None
            if status == 200 and kind == "batch":
                self.failures = 0
                self.batch(body, sent)
            elif status == 200 and kind == "termination":
                self.failures = 0
                advice = body.get("advice") or {}
                action, delay = advice.get("action"), advice.get("delayMs", 0)
                if action == "resume":
                    time.sleep(delay / 1000)
                    self.sig = body["sig"]
                elif action == "reopen":
                    time.sleep(delay / 1000)
                    self.reopen(body["reason"])
                else:
                    self.sig = None
                    out({"termination": {"reason": body["reason"], "last": body.get("last")}})
                    return 0 if body["reason"] == "complete" else 1
            elif isinstance(body, dict) and body.get("code") in ("session-expired", "invalid-signature"):
                self.reopen(body["code"])
            else:
                self.refused(status, headers, body)


if __name__ == "__main__":
    client = Client()
    try:
        sys.exit(client.run())
    except KeyboardInterrupt:
        client.close()
        sys.exit(130)
