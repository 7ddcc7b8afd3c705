// Scenarios for the `multiplex` extension (spec §23.7: SSP-MUX-16/17, and SSP-CLIENT-7, -16,
// -12, -19, -25 and -29 for each stream): the scripted server offers it, and the client is asked to
// follow several streams (SSP_STREAMS, §20.5). A client that does not implement the extension
// — it says so with an `unsupported` line, or asks for it in no `open` — gets "not
// applicable" with the reason, never a failure.
import type { OutputLine, StreamSpec } from './contract.ts';
import { multiplexScript } from './scripted-multiplex.ts';
import { early, opens, polls, stoppedAfter, type ClientRun, type Fail, type Scenario } from './scenario-kit.ts';
import { streamName } from './scripted-server.ts';

const streams = (...ids: string[]): StreamSpec[] => ids.map((id) => ({ id, stream: streamName, params: { lane: id } }));

function notApplicable(run: ClientRun): string | undefined {
  const declared = run.lines.find((line): line is Extract<OutputLine, { unsupported: unknown }> => 'unsupported' in line && line.unsupported.feature === 'multiplex');
  if (declared) return `the client does not implement multiplex: ${declared.unsupported.reason}`;
  const asked = opens(run).some((open) => Array.isArray(open.message?.extensions) && (open.message.extensions as unknown[]).includes('multiplex'));
  return asked ? undefined : 'the client asked for the multiplex extension in no open (it follows its streams without it)';
}

const ofStream = (run: ClientRun, id: string) => run.lines.filter((line) => line.stream === id);
const seqsOf = (lines: OutputLine[]) => lines.flatMap((line) => ('seq' in line ? [line.seq] : []));

/** Stream `id` delivered `expected` exactly once, in order, and ended with `reason`. */
function stream(run: ClientRun, id: string, expected: number[], reason: string, fail: Fail): void {
  const lines = ofStream(run, id);
  if (seqsOf(lines).join() !== expected.join()) fail(`stream ${id}: the client printed events ${JSON.stringify(seqsOf(lines))}, expected ${JSON.stringify(expected)} exactly once, in order`);
  const end = lines.at(-1);
  if (!end || !('termination' in end) || end.termination.reason !== reason) fail(`stream ${id}: its last line is ${JSON.stringify(end ?? null)}, expected its termination (${reason})`);
}

function onePollAtATime(run: ClientRun, fail: Fail): void {
  const overlapping = polls(run).filter((poll) => poll.outstanding > 0);
  if (overlapping.length > 0) fail(`${overlapping.length} poll(s) were sent while another poll of the session was outstanding (SSP-CLIENT-8): one held poll serves every stream`);
}

export const multiplexScenarios: Scenario[] = [
  {
    id: 'SSP-MUX-16/exactly-once',
    title: 'MUST deliver each stream\'s events exactly once and in order, through re-delivered events and a lost answer, with one poll at a time',
    streams: streams('a', 'b', 'c'),
    script: () =>
      multiplexScript({
        lanes: { a: { count: 6, perBatch: 2 }, b: { count: 4, perBatch: 1 }, c: { count: 3, perBatch: 3 } },
        duplicates: true,
        drop: (poll) => poll === 3,
      }),
    timeoutMs: 20_000,
    notApplicable,
    judge(run, fail) {
      stream(run, 'a', [1, 2, 3, 4, 5, 6], 'complete', fail);
      stream(run, 'b', [1, 2, 3, 4], 'complete', fail);
      stream(run, 'c', [1, 2, 3], 'complete', fail);
      onePollAtATime(run, fail);
    },
  },
  {
    id: 'SSP-MUX-16/stream-end',
    title: 'MUST report a stream\'s gap and termination for that stream only: the session and the other streams go on',
    streams: streams('a', 'b', 'c'),
    script: () =>
      multiplexScript({
        lanes: {
          a: { count: 6, perBatch: 2, gapTo: { at: 2, to: 4 } },
          b: { count: 5, perBatch: 1, endAt: { at: 1, reason: 'error' } },
          c: { count: 8, perBatch: 1 },
        },
      }),
    timeoutMs: 20_000,
    notApplicable,
    judge(run, fail) {
      const gaps = run.lines.filter((line) => 'gap' in line);
      if (gaps.length !== 1 || gaps[0]!.stream !== 'a' || JSON.stringify((gaps[0] as { gap: unknown }).gap) !== '{"from":3,"to":4}') fail(`expected one gap line, for stream a, {"from":3,"to":4}; the client printed ${JSON.stringify(gaps)}`);
      stream(run, 'a', [1, 2, 5, 6], 'complete', fail);
      stream(run, 'b', [1], 'error', fail);
      stream(run, 'c', [1, 2, 3, 4, 5, 6, 7, 8], 'complete', fail);
      const bEnd = run.lines.findIndex((line) => line.stream === 'b' && 'termination' in line);
      if (!run.lines.slice(bEnd + 1).some((line) => line.stream === 'c' && 'seq' in line)) fail('stream c delivered nothing after stream b ended: a stream\'s termination must not end the others');
      if (opens(run).length !== 1) fail(`the client sent ${opens(run).length} opens: stream b's termination ended its stream, not the session`);
      onePollAtATime(run, fail);
    },
  },
  {
    id: 'SSP-CLIENT-7/multiplex-skip',
    title: 'MUST report events of one stream skipped without a gap as a protocol error of that stream',
    streams: streams('a', 'b'),
    script: skipsInStreamA,
    timeoutMs: 20_000,
    notApplicable,
    judge(run, fail) {
      const errors = run.lines.filter((line): line is Extract<OutputLine, { error: unknown }> => 'error' in line);
      const ofA = errors.find((line) => line.stream === 'a');
      if (!ofA) fail(`stream a skipped events 3 and 4 without a gap, but the client printed no error line for it: ${JSON.stringify(errors)}`);
      if (ofA!.error.kind !== 'protocol') fail(`stream a's error line has kind ${JSON.stringify(ofA!.error.kind)}, expected "protocol"`);
      if (errors.some((line) => line.stream !== 'a')) fail(`the skip in stream a was reported for another stream too: ${JSON.stringify(errors)}`);
      stream(run, 'b', [1, 2, 3, 4, 5, 6], 'complete', fail);
    },
  },
  {
    id: 'SSP-CLIENT-16/multiplex-after-skip',
    title: 'MUST NOT deliver any event of a stream after reporting events of it skipped without a gap; the other streams go on',
    streams: streams('a', 'b'),
    script: skipsInStreamA,
    timeoutMs: 20_000,
    notApplicable,
    judge(run, fail) {
      const lines = ofStream(run, 'a');
      const errorAt = lines.findIndex((line) => 'error' in line);
      if (errorAt < 0) fail(`stream a skipped events 3 and 4 without a gap, but the client printed no error line for it (SSP-CLIENT-7): ${JSON.stringify(lines)}`);
      const after = seqsOf(lines.slice(errorAt + 1));
      if (after.length > 0 || seqsOf(lines).some((seq) => seq > 2)) fail(`after the skip the client delivered events ${JSON.stringify(seqsOf(lines).filter((seq) => seq > 2))} of stream a`);
      // The stream's close (SSP-CLIENT-14) in a multiplexed session: its removal, while b goes on.
      const wireIds = wireIdsOf(run.requests, 'a');
      if (!polls(run).some((poll) => removesOf(poll).some((id) => wireIds.includes(id)))) fail('the client never removed stream a from the session after its skip (ext.multiplex.remove): the server goes on reading it for nothing');
      stream(run, 'b', [1, 2, 3, 4, 5, 6], 'complete', fail);
    },
  },
  {
    id: 'SSP-CLIENT-19/multiplex-invalid-gap',
    title: 'MUST treat an answer whose part has an invalid gap (from > to, or not followed by gap.to + 1) as a failed request: repeat the poll, report no loss',
    streams: streams('a', 'b'),
    // Stream a at position 2: a gap 5-3 with event 4, then a gap 3-3 with event 5 (4 unannounced).
    script: () =>
      multiplexScript({
        lanes: {
          a: { count: 6, perBatch: 2, invalidGaps: { at: 2, faults: [{ gap: { from: 5, to: 3 }, events: [4] }, { gap: { from: 3, to: 3 }, events: [5] }] } },
          b: { count: 4, perBatch: 1 },
        },
      }),
    timeoutMs: 20_000,
    notApplicable,
    judge(run, fail) {
      const reported = run.lines.filter((line) => 'gap' in line || 'error' in line);
      if (reported.length > 0) fail(`the client reported ${JSON.stringify(reported)}; an invalid gap makes the answer invalid: no loss, no error, the poll again`);
      stream(run, 'a', [1, 2, 3, 4, 5, 6], 'complete', fail);
      stream(run, 'b', [1, 2, 3, 4], 'complete', fail);
      const all = polls(run);
      const ids = wireIdsOf(run.requests, 'a');
      const invalid = all.filter((poll) => ids.some((id) => poll.sig?.streams?.[id] === 2));
      const first = invalid[0];
      if (!first || invalid.length < 3) fail(`the client polled ${invalid.length} time(s) with stream a at position 2; expected the poll answered invalidly, then the same poll twice more`);
      for (const retry of all.slice(all.indexOf(first!) + 1, all.indexOf(first!) + 3)) {
        if (retry.message?.sig !== first!.message?.sig) fail(`after an invalid answer the client polled with stream positions ${JSON.stringify(retry.sig?.streams)}, expected the same poll again (${JSON.stringify(first!.sig?.streams)}, same signature)`);
      }
    },
  },
  {
    id: 'SSP-CLIENT-29/multiplex-reopen',
    title: 'MUST follow a stream\'s reopen advice by adding it again under a new id no earlier than delayMs, and report its restart before its new events; the other streams go on',
    streams: streams('a', 'b'),
    script: () => multiplexScript({ lanes: { a: { count: 4, perBatch: 2, reopenAt: { at: 2, delayMs: 600 } }, b: { count: 8, perBatch: 1 } } }),
    timeoutMs: 20_000,
    notApplicable,
    judge(run, fail) {
      const lines = ofStream(run, 'a');
      const restartAt = lines.findIndex((line) => 'restart' in line);
      if (restartAt < 0) fail(`stream a ended with advice reopen, but the client printed no restart line for it: ${JSON.stringify(lines)}`);
      if (seqsOf(lines.slice(0, restartAt)).join() !== '1,2') fail(`before its restart line stream a printed ${JSON.stringify(seqsOf(lines.slice(0, restartAt)))}, expected [1,2]`);
      if (lines.slice(0, restartAt).some((line) => 'termination' in line || 'gap' in line)) fail('the client reported stream a\'s reopen advice as its end or a gap, not as a restart');
      stream(run, 'a', [1, 2, 1, 2, 3, 4], 'complete', fail);
      stream(run, 'b', [1, 2, 3, 4, 5, 6, 7, 8], 'complete', fail);
      const [firstId, ...later] = wireIdsOf(run.requests, 'a');
      if (later.length === 0) fail('the client never added stream a again (ext.multiplex.add, or the open of a new session) after its reopen advice');
      // Ids are never reused within a session (§23.2); a new session may start again from any id.
      const readded = run.requests.find((request) => wireIdsOf([request], 'a').includes(later[0]!))!;
      if (readded.message?.type === 'poll' && later[0] === firstId) fail(`the client added stream a again under its old id ${JSON.stringify(firstId)}: reopen advice asks for a new id`);
      const ended = run.requests.find((request) => request.exchange.response?.body.includes('"producer-lost"'));
      const waited = readded.at - (ended?.answeredAt ?? 0);
      if (waited < 600 - early) fail(`the client added stream a again ${waited} ms after its termination; advice.delayMs was 600`);
    },
  },
  {
    id: 'SSP-CLIENT-12/multiplex-not-retryable',
    title: 'MUST NOT repeat a poll of a multiplexed session unchanged after it was answered with a non-retryable error (400 bad-request), and MUST report the fault for every stream',
    streams: streams('a', 'b'),
    script: () => multiplexScript({ lanes: { a: { count: 4, perBatch: 1 }, b: { count: 4, perBatch: 1 } }, badRequestAt: 2 }),
    timeoutMs: 20_000,
    notApplicable,
    judge(run, fail) {
      const refused = run.requests.find((request) => request.exchange.response?.status === 400);
      if (!refused) fail('the client sent fewer than two polls: the second was to be refused');
      const repeats = run.requests.slice(run.requests.indexOf(refused!) + 1).filter((request) => request.raw === refused!.raw);
      if (repeats.length > 0) fail(`the poll answered 400 bad-request (not retryable) was sent again unchanged ${repeats.length} time(s): ${refused!.raw.slice(0, 160)}`);
      // Only invalid-signature and session-expired lead to a new session (SSP-CLIENT-25); after
      // any other non-retryable error the client reports the fault.
      stoppedAfter(run, refused!, fail);
      for (const id of ['a', 'b']) {
        const last = ofStream(run, id).at(-1);
        const kind = last && 'error' in last ? last.error.kind : undefined;
        if (kind !== 'request' && kind !== 'server' && kind !== 'protocol') fail(`stream ${id}: its last line is ${JSON.stringify(last ?? null)}; expected the fault reported as an error line of kind "request", "server" or "protocol"`);
      }
    },
  },
  {
    id: 'SSP-CLIENT-25/multiplex-session-expired',
    title: 'MUST open a new session for every stream and report each stream\'s restart when a poll of a multiplexed session is answered session-expired',
    streams: streams('a', 'b'),
    script: () => multiplexScript({ lanes: { a: { count: 4, perBatch: 1 }, b: { count: 4, perBatch: 1 } }, expireAt: 3 }),
    timeoutMs: 20_000,
    notApplicable,
    judge(run, fail) {
      const all = opens(run);
      if (all.length < 2) fail(`after session-expired the client sent ${all.length} open(s); expected a new session`);
      const asks = (open: ClientRun['requests'][number]) => Array.isArray(open.message?.extensions) && (open.message.extensions as unknown[]).includes('multiplex');
      if (!all.slice(1).some(asks)) fail('the client opened its new session without asking for multiplex again');
      for (const id of ['a', 'b']) {
        const lines = ofStream(run, id);
        const restartAt = lines.findIndex((line) => 'restart' in line);
        if (restartAt < 0) fail(`stream ${id}: the session expired, but the client printed no restart line for it (SSP-CLIENT-29): ${JSON.stringify(lines)}`);
        const after = seqsOf(lines.slice(restartAt + 1));
        if (after.join() !== '1,2,3,4') fail(`stream ${id}: after its restart line the client printed ${JSON.stringify(after)}, expected the new session's [1,2,3,4]`);
        const end = lines.at(-1);
        if (!end || !('termination' in end) || end.termination.reason !== 'complete') fail(`stream ${id}: its last line is ${JSON.stringify(end ?? null)}, expected its termination (complete)`);
      }
      if (run.lines.some((line) => 'error' in line)) fail(`session-expired is not an error to report but a new session to open: ${JSON.stringify(run.lines.filter((line) => 'error' in line))}`);
    },
  },
  {
    id: 'SSP-MUX-17/lost-change',
    title: 'MUST send the same stream additions again with the next poll when the answer to the poll that carried them is lost',
    streams: streams('a', 'b', 'c'),
    script: () => {
      let dropped = false;
      return multiplexScript({
        lanes: { a: { count: 4, perBatch: 1 }, b: { count: 3, perBatch: 1 }, c: { count: 3, perBatch: 1 } },
        drop: (_, request) => {
          const carries = Array.isArray((request.message?.ext as { multiplex?: { add?: unknown } } | undefined)?.multiplex?.add);
          if (!carries || dropped) return false;
          return (dropped = true);
        },
      });
    },
    timeoutMs: 20_000,
    notApplicable: (run) => notApplicable(run) ?? (polls(run).some(addsOf) ? undefined : 'the client added every stream in its open: no poll carried changes that could be lost'),
    judge(run, fail) {
      const all = polls(run);
      const lost = all.find(addsOf)!;
      const next = all[all.indexOf(lost) + 1];
      const missing = addsOf(lost)!.filter((id) => !(addsOf(next) ?? []).includes(id));
      if (missing.length > 0) fail(`the answer to the poll adding ${JSON.stringify(addsOf(lost))} was lost; the next poll re-sent ${JSON.stringify(addsOf(next) ?? [])}, missing ${JSON.stringify(missing)}`);
      stream(run, 'a', [1, 2, 3, 4], 'complete', fail);
      stream(run, 'b', [1, 2, 3], 'complete', fail);
      stream(run, 'c', [1, 2, 3], 'complete', fail);
    },
  },
];

/** Stream a goes from event 2 to event 5 without a gap; stream b plays on beside it. */
function skipsInStreamA() {
  return multiplexScript({ lanes: { a: { count: 8, perBatch: 2, skipTo: { at: 2, to: 4 } }, b: { count: 6, perBatch: 1 } } });
}

/** The ids the client gave on the wire to the stream of `lane` (its own choice, in its opens or additions), in order. */
function wireIdsOf(requests: readonly ClientRun['requests'][number][], lane: string): string[] {
  const ids: string[] = [];
  for (const request of requests) {
    const { message } = request;
    const mux = (message?.ext as { multiplex?: { id?: unknown; add?: Array<{ id?: unknown; params?: { lane?: unknown } }> } } | undefined)?.multiplex;
    const opened = message?.type === 'open' && (message.params as { lane?: unknown } | undefined)?.lane === lane ? mux?.id : undefined;
    if (typeof opened === 'string') ids.push(opened);
    for (const spec of Array.isArray(mux?.add) ? mux.add : []) if (spec.params?.lane === lane && typeof spec.id === 'string') ids.push(spec.id);
  }
  return ids;
}

/** The stream ids a poll removes (ext.multiplex.remove). */
function removesOf(poll: ClientRun['requests'][number]): string[] {
  const remove = (poll.message?.ext as { multiplex?: { remove?: unknown } } | undefined)?.multiplex?.remove;
  return Array.isArray(remove) ? remove.filter((id): id is string => typeof id === 'string') : [];
}

/** The stream ids a poll adds (ext.multiplex.add), or undefined. */
function addsOf(poll: ClientRun['requests'][number] | undefined): string[] | undefined {
  const add = (poll?.message?.ext as { multiplex?: { add?: Array<{ id: string }> } } | undefined)?.multiplex?.add;
  return Array.isArray(add) ? add.map((spec) => spec.id) : undefined;
}
