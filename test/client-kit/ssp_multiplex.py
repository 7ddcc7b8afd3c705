"""Several streams in one multiplexed session (spec section 23), for ssp_client.py when the kit
asks for several streams (SSP_STREAMS): the first stream is the open's own, the others are
added with the first poll; each stream keeps its own seq, dedup and gap state (SSP-MUX-16),
a stream whose events skip without a gap ends with a protocol error and is removed from the
session (SSP-CLIENT-7/16 per stream), a stream whose termination advises reopen is added again
under a new id after reporting its restart (SSP-CLIENT-13/29 per stream), an expired session is
opened again for every live stream, each restart reported (SSP-CLIENT-25/29), another error that
is not retryable ends every stream (SSP-CLIENT-12), an answer with an invalid part is a failed
request (SSP-CLIENT-19), and changes whose answer was lost go out again with the next poll
(SSP-MUX-17).

Deliberately broken variants: --break mux-no-dedup (delivers re-delivered events again) |
mux-end-session (a stream that ends otherwise than complete ends them all) | mux-forget-changes
(additions whose answer was lost are not sent again) | mux-skip-silent (delivers a stream's
events after a skip without reporting it) | mux-deliver-after-skip (reports the skip, then goes
on delivering the stream's events) | mux-skip-keeps-stream (reports the skip and delivers nothing
more of the stream, but never removes it from the session) | mux-invalid-gap-accepted (takes a
part whose gap is inverted or not followed by gap.to + 1 as valid) | mux-reopen-ends (takes a
stream's reopen advice as its end) | mux-restart-silent (opens a new session after session-expired
without reporting the streams' restarts) | mux-retry-not-retryable (repeats a poll answered with a
non-retryable error) | mux-error-reopens (opens a new session after any non-retryable error of a
poll, as after session-expired, instead of reporting it).
"""
import random
import time

from ssp_batch import events_problem

EXTENSION = "multiplex"


class Stream:
    def __init__(self, spec):
        # The kit's name for the stream, printed with its lines; the id on the wire changes when it is added again.
        self.name = spec["id"]
        self.spec = {"id": spec["id"], "stream": spec["stream"], "params": spec.get("params") or {}}
        self.last_seq = 0
        self.ended = False
        self.skipped = False
        self.restarts = 0
        # While a reopen advice is waited out: (when to add the stream again, the reason it ended).
        self.reopen = None


def reopen_wait_ms(lane, advice):
    """SSP-CLIENT-13/24 for one stream: no earlier than delayMs, and a growing backoff while reopens repeat."""
    lane.restarts += 1
    return max(advice.get("delayMs") or 0, random.uniform(500, 1000) * min(30, 2 ** (lane.restarts - 1)))


def part_problem(body, breaks):
    """SSP-CLIENT-19: an answer with an invalid stream part is a failed request (before its signature is taken)."""
    parts = ((body.get("ext") or {}).get(EXTENSION) or {}).get("streams") or []
    accept = "mux-invalid-gap-accepted" in breaks
    for part in parts:
        if not isinstance(part, dict) or not isinstance(part.get("id"), str):
            return "a part without a stream id"
        problem = events_problem(part.get("events"), part.get("gap"), accept, accept)
        if problem:
            return problem
    return None


def run_multiplex(streams, post, out, breaks, hold_ms, transport_error):
    """Follows every stream to its end; returns the exit status."""
    lanes = {spec["id"]: Stream(spec) for spec in streams}

    def open_session(live):
        """A multiplexed session for `live` streams: the open's own is the first, the others are
        added with the first poll. Returns its signature and the additions, or (None, [])."""
        first = live[0].spec
        status, _, body = post({"ssp": 1, "type": "open", "stream": first["stream"], "params": first["params"],
                                "extensions": [EXTENSION], "ext": {EXTENSION: {"id": first["id"]}}}, timeout=10)
        if status != 200 or not isinstance(body, dict) or EXTENSION not in (body.get("extensions") or []):
            return None, []
        return body["sig"], [lane.spec for lane in live[1:]]

    sig, pending = open_session(list(lanes.values()))
    if sig is None:
        out({"unsupported": {"feature": "multiplex", "reason": "the server did not accept the multiplex extension"}})
        return 0
    # Streams ended here (a skip): removed with the next poll, again until an answer arrives.
    removing = []
    # Streams whose termination advised reopen (section 23.4: added again under a new id), and every id used.
    reopening = []
    used_ids = set(lanes)
    failures = 0

    def say(lane, line):
        out({"stream": lane.name, **line})

    def add_again(lane):
        n = len(used_ids)
        while f"r{n}-{lane.name}"[:16] in used_ids:
            n += 1
        new_id = f"r{n}-{lane.name}"[:16]
        used_ids.add(new_id)
        # SSP-CLIENT-29: the restart is reported before any event of the stream added again.
        say(lane, {"restart": {"reason": lane.reopen[1], "lastSeq": lane.last_seq}})
        lane.spec = {**lane.spec, "id": new_id}
        lane.last_seq, lane.reopen = 0, None
        lanes[new_id] = lane
        pending.append(lane.spec)

    def end(lane, termination):
        lane.ended = True
        say(lane, {"termination": {"reason": termination["reason"], "last": termination["last"]}})

    try:
        while reopening or not all(lane.ended for lane in lanes.values()):
            sent = time.monotonic()
            for lane in [lane for lane in reopening if lane.reopen[0] <= sent]:
                reopening.remove(lane)
                add_again(lane)
            if sig is None:
                # The session expired: a new one for every live stream, until a server takes it.
                live = [lane for lane in lanes.values() if not lane.ended]
                sig, pending = open_session(live) if live else (None, [])
                if sig is None:
                    time.sleep(random.uniform(0.5, 1.0))
                    continue
            changes = {**({"add": pending} if pending else {}), **({"remove": removing} if removing else {})}
            message = {"ssp": 1, "type": "poll", "sig": sig, "hold": hold_ms, **({"ext": {EXTENSION: changes}} if changes else {})}
            if "mux-forget-changes" in breaks:
                pending = []
            try:
                status, _, body = post(message, timeout=hold_ms / 1000 + 10)
            except transport_error:
                status, body = None, None
            lost = isinstance(body, dict) and body.get("code") in ("invalid-signature", "session-expired") and status in (403, 410)
            if "mux-error-reopens" in breaks:
                lost = lost or (isinstance(body, dict) and body.get("type") == "error" and body.get("retryable") is False)
            if lost:
                # SSP-CLIENT-25: the session is gone, not the subscriptions: each stream restarts (SSP-CLIENT-29) in a new session.
                for lane in lanes.values():
                    if lane.ended:
                        continue
                    if "mux-restart-silent" not in breaks:
                        say(lane, {"restart": {"reason": body["code"], "lastSeq": lane.last_seq}})
                    lane.last_seq = 0
                sig, removing = None, []
                continue
            if isinstance(body, dict) and body.get("type") == "error" and body.get("retryable") is False and "mux-retry-not-retryable" not in breaks:
                # SSP-CLIENT-12: not repeated; every stream reports the error and ends.
                for lane in [*lanes.values(), *reopening]:
                    if not lane.ended:
                        lane.ended = True
                        say(lane, {"error": {"kind": "server", "message": f"{status} {body.get('code')}"}})
                return 1
            if status != 200 or not isinstance(body, dict) or body.get("type") not in ("batch", "termination") or part_problem(body, breaks):
                failures += 1
                time.sleep(random.uniform(0.5, 1.0) * min(1, 2 ** (failures - 1)))  # SSP-CLIENT-17, live cap 1 s
                continue
            failures = 0
            sig = body["sig"]
            removing = []
            mux = (body.get("ext") or {}).get(EXTENSION) or {}
            settled = set(mux.get("added") or []) | {refusal["id"] for refusal in mux.get("refused") or []}
            pending = [spec for spec in pending if spec["id"] not in settled]
            for refusal in mux.get("refused") or []:
                lane = lanes[refusal["id"]]
                lane.ended = True
                say(lane, {"error": {"kind": "request", "message": refusal["error"]["message"]}})
            if body["type"] == "termination":
                for lane in [*lanes.values(), *reopening]:
                    if not lane.ended:
                        end(lane, body)
                return 1
            fresh = 0
            for part in mux.get("streams") or []:
                lane = lanes.get(part["id"])
                if lane is None or lane.ended:
                    continue
                gap = part.get("gap")
                if gap and gap["to"] > lane.last_seq:
                    say(lane, {"gap": {"from": max(gap["from"], lane.last_seq + 1), "to": gap["to"]}})
                    lane.last_seq = gap["to"]
                for event in part["events"]:
                    if event["seq"] <= lane.last_seq and "mux-no-dedup" not in breaks:
                        continue
                    if event["seq"] > lane.last_seq + 1 and not lane.skipped and "mux-skip-silent" not in breaks:
                        # SSP-CLIENT-7: events lost without a gap signal; SSP-CLIENT-16: nothing more of this stream.
                        say(lane, {"error": {"kind": "protocol", "message": f"events {lane.last_seq + 1}-{event['seq'] - 1} skipped without a gap"}})
                        lane.skipped = True
                        if "mux-deliver-after-skip" not in breaks:
                            lane.ended = True
                            if "mux-skip-keeps-stream" not in breaks:
                                removing.append(lane.spec["id"])
                            break
                    say(lane, {"seq": event["seq"], "data": event["data"]})
                    lane.last_seq = event["seq"]
                    lane.restarts = 0
                    fresh += 1
                if lane.ended:
                    continue
                termination = part.get("termination")
                if termination and termination["advice"]["action"] == "reopen" and "mux-reopen-ends" not in breaks:
                    del lanes[part["id"]]
                    lane.reopen = (time.monotonic() + reopen_wait_ms(lane, termination["advice"]) / 1000, termination["reason"])
                    reopening.append(lane)
                elif termination:
                    end(lane, termination)
                    if "mux-end-session" in breaks and part["termination"]["reason"] != "complete":
                        for other in lanes.values():
                            if not other.ended:
                                end(other, part["termination"])
            if fresh == 0 and not mux.get("streams"):
                time.sleep(max(0, sent + 1 - time.monotonic()))  # SSP-CLIENT-9
        return 0
    finally:
        try:
            if sig is not None:
                post({"ssp": 1, "type": "close", "sig": sig}, timeout=3)
        except transport_error:
            pass
