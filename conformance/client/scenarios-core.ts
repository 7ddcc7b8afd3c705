// The plain stream's scenarios (issue 9 §3): each a scripted server behaviour and what a
// conforming client does about it, judged on the wire (the requests the scripted server
// recorded) and on the client's event lines (spec §20.5). IDs are `<requirement>/<scenario>`.
import type { RecordedRequest, Reply, ScriptState } from './scripted-server.ts';
import { assertExactlyOnce, assertNewSessionAfterRestart, skipsThreeAndFour, early, error, latencySlack, liveCap, nth, onPoll, opens, polls, sentNoEarlierThan, seqs, timerSlack, waited, type Answer, type Scenario } from './scenario-kit.ts';

export const coreScenarios: Scenario[] = [
  {
    id: 'SSP-CLIENT-3/dropped-answer',
    title: 'MUST re-poll with the newest signature it received when an answer is lost, and print every event once',
    script: () => ({ count: 6, perBatch: 2, answer: onPoll(2, { drop: true }) }),
    judge(run, fail) {
      assertExactlyOnce(run, 6, fail);
      const all = polls(run);
      const dropped = nth(all, 2, 'polls', fail);
      const retry = nth(all, 3, 'polls', fail);
      if (retry.sig?.position !== dropped.sig?.position) fail(`after the answer to a poll at position ${dropped.sig?.position} was lost, the client polled at position ${retry.sig?.position}: it must re-send the newest signature it received`);
    },
  },
  {
    id: 'SSP-CLIENT-3/newest-signature',
    title: 'MUST send in every poll and close the newest signature received',
    script: () => ({ count: 6, perBatch: 2 }),
    judge(run, fail) {
      assertExactlyOnce(run, 6, fail);
      const all = polls(run);
      all.forEach((poll, i) => {
        const expected = i * 2;
        if (poll.sig?.position !== Math.min(expected, 6)) fail(`poll ${i + 1} carried a signature at position ${poll.sig?.position ?? 'unknown'}, expected the newest (position ${expected})`);
      });
    },
  },
  {
    id: 'SSP-CLIENT-5/duplicates',
    title: 'MUST print each seq once when answers repeat events already delivered',
    script: () => ({
      count: 6,
      perBatch: 2,
      // Every batch after the first starts one event early (a re-delivery).
      answer: (request, state) => {
        const reply = state.plain();
        if (request.message?.type !== 'poll' || 'drop' in reply || reply.body.type !== 'batch' || (request.sig?.position ?? 0) === 0) return undefined;
        const events = reply.body.events as Array<{ seq: number }>;
        const first = events[0]!.seq - 1;
        return { ...reply, body: { ...reply.body, events: [{ seq: first, data: { n: first } }, ...events] } };
      },
    }),
    judge: (run, fail) => assertExactlyOnce(run, 6, fail),
  },
  {
    id: 'SSP-CLIENT-15/gap',
    title: 'MUST report a gap as the loss of the events it announces, then print the events after it',
    script: () => ({
      count: 8,
      perBatch: 2,
      answer: (request, state) =>
        request.message?.type === 'poll' && request.sig?.position === 2
          ? { status: 200, body: { ssp: 1, type: 'batch', sig: state.sign(request.sig.session, 6), gap: { from: 3, to: 4 }, events: [5, 6].map((seq) => ({ seq, data: { n: seq } })) } }
          : undefined,
    }),
    judge(run, fail) {
      const gapAt = run.lines.findIndex((line) => 'gap' in line);
      if (gapAt < 0) fail(`the client printed no gap line for the gap {from: 3, to: 4}: lines ${JSON.stringify(run.lines)}`);
      const gap = (run.lines[gapAt] as { gap: { from: number; to: number } }).gap;
      if (gap.from !== 3 || gap.to !== 4) fail(`the gap line says ${JSON.stringify(gap)}, expected {from: 3, to: 4}`);
      const before = run.lines.slice(0, gapAt).flatMap((line) => ('seq' in line ? [line.seq] : []));
      if (before.join() !== '1,2') fail(`events before the gap line: ${JSON.stringify(before)}, expected [1,2]`);
      if (seqs(run).join() !== '1,2,5,6,7,8') fail(`the client printed events ${JSON.stringify(seqs(run))}, expected [1,2,5,6,7,8] around the gap`);
    },
  },
  {
    id: 'SSP-CLIENT-15/overlapping-gap',
    title: 'MUST report of a gap only the events after those it has: an overlapping gap in part, a replayed one not at all',
    script: () => {
      // After events 1-4: a gap 3-5 with events 6 and 7 (events 3 and 4 are not lost: the
      // client has them), then the same answer once more (a replayed response, behind it).
      const overlapping = (state: ScriptState, session: number): Reply => ({
        status: 200,
        body: { ssp: 1, type: 'batch', sig: state.sign(session, 7), gap: { from: 3, to: 5 }, events: [6, 7].map((seq) => ({ seq, data: { n: seq } })) },
      });
      let replayed = false;
      return {
        count: 8,
        perBatch: 2,
        answer: (request, state) => {
          if (request.message?.type !== 'poll' || !request.sig) return undefined;
          if (request.sig.position === 4) return overlapping(state, request.sig.session);
          if (request.sig.position === 7 && !replayed) {
            replayed = true;
            return overlapping(state, request.sig.session);
          }
          return undefined;
        },
      };
    },
    judge(run, fail) {
      const gaps = run.lines.flatMap((line) => ('gap' in line ? [line.gap] : []));
      if (JSON.stringify(gaps) !== JSON.stringify([{ from: 5, to: 5 }])) fail(`the client printed gap lines ${JSON.stringify(gaps)}; expected exactly one, {from: 5, to: 5}: it had events 3 and 4, and the replayed gap is behind it`);
      if (seqs(run).join() !== '1,2,3,4,6,7,8') fail(`the client printed events ${JSON.stringify(seqs(run))}, expected [1,2,3,4,6,7,8], each once`);
    },
  },
  {
    id: 'SSP-CLIENT-7/skip-without-gap',
    title: 'MUST report events skipped without a gap as a protocol error',
    script: skipsThreeAndFour,
    judge(run, fail) {
      const errorAt = run.lines.findIndex((line) => 'error' in line);
      if (errorAt < 0) fail(`events 3 and 4 were skipped without a gap, but the client printed no error line: ${JSON.stringify(run.lines)}`);
      const line = run.lines[errorAt] as { error: { kind: string } };
      if (line.error.kind !== 'protocol') fail(`the error line has kind ${JSON.stringify(line.error.kind)}, expected "protocol"`);
    },
  },
  {
    id: 'SSP-CLIENT-18/retry-after',
    title: 'MUST wait at least the Retry-After of a 503 before repeating the request',
    script: () => ({ count: 4, perBatch: 2, answer: onPoll(2, { ...error(503, 'unavailable', true, { retryAfterMs: 1200 }), headers: { 'retry-after': '3' } }) }),
    timeoutMs: 20_000,
    judge(run, fail) {
      assertExactlyOnce(run, 4, fail);
      const refused = nth(polls(run), 2, 'polls', fail);
      const retry = nth(polls(run), 3, 'polls', fail);
      const waited = retry.at - (refused.answeredAt ?? refused.at);
      if (waited < 3000 - early) fail(`503 with Retry-After: 3 and retryAfterMs 1200: the client repeated the poll after ${waited} ms; the longer delay, 3000 ms, wins`);
    },
  },
  {
    id: 'SSP-CLIENT-17/backoff',
    title: 'MUST back off between d/2 and d after the n-th consecutive failure (500s and a reset connection)',
    script: () => ({
      count: 4,
      perBatch: 2,
      answer: (() => {
        let seen = 0;
        return (request: RecordedRequest): Reply | undefined => {
          if (request.message?.type !== 'poll') return undefined;
          seen++;
          if (seen === 2 || seen === 3) return error(500, 'internal-error', true);
          if (seen === 4) return { drop: true };
          return undefined;
        };
      })(),
    }),
    timeoutMs: 25_000,
    judge(run, fail) {
      assertExactlyOnce(run, 4, fail);
      const all = polls(run);
      // Failures 1, 2 and 3 (500, 500, reset) must be followed by waits within [d/2, d]: d = 1 s,
      // 2 s, 4 s, capped at half the advertised idleTimeoutMs (1 s for a client that did not read it).
      const cap = liveCap(run);
      const slack = latencySlack(run);
      const tooLate: string[] = [];
      for (const [n, failedIndex] of [[1, 2], [2, 3], [3, 4]] as const) {
        const failed = nth(all, failedIndex, 'polls', fail);
        const next = nth(all, failedIndex + 1, 'polls', fail);
        const d = Math.min(1000 * 2 ** (n - 1), cap);
        const wait = waited(failed, next);
        if (wait < d / 2 - early) fail(`after failure ${n} the client retried after ${wait} ms; SSP-CLIENT-17 requires a random wait within [${d / 2}, ${d}] ms`);
        if (wait > d + slack) tooLate.push(`${wait} ms after failure ${n} (d = ${d} ms)`);
      }
      // A stalled machine delays one wait now and then; a client that waits too long does it every time.
      if (tooLate.length > 1) fail(`the client retried ${tooLate.join(', ')}: later than d plus ${slack} ms allowed for its measured latency`);
    },
  },
  {
    id: 'SSP-CLIENT-9/empty-batch',
    title: 'MUST NOT poll again earlier than 1 s after a poll answered with an empty batch',
    script: () => ({
      count: 3,
      perBatch: 1,
      answer: (() => {
        let empties = 0;
        return (request, state) => {
          if (request.message?.type !== 'poll' || request.sig?.position !== 1 || empties >= 2) return undefined;
          empties++;
          return { status: 200, body: { ssp: 1, type: 'batch', sig: state.sign(request.sig.session, 1), events: [] } };
        };
      })() as Answer,
    }),
    judge(run, fail) {
      assertExactlyOnce(run, 3, fail);
      const all = polls(run);
      for (let i = 1; i < all.length; i++) {
        const previous = all[i - 1]!;
        // The rule's clock starts when the client sent the answered poll, which was after it
        // received the answer before it: measured from there, no transit allowance is needed.
        const since = all[i]!.at - sentNoEarlierThan(run, previous);
        if (previous.exchange.response?.body.includes('"events":[]') && since < 1000 - timerSlack) fail(`poll ${i + 1} arrived ${since} ms after the answer that preceded poll ${i}, which got an empty batch; at least 1000 ms must pass after sending poll ${i}`);
      }
    },
  },
  {
    id: 'SSP-CLIENT-13/advice-resume',
    title: 'MUST follow resume advice: poll with the termination\'s sig, no earlier than delayMs',
    script: () => ({
      count: 4,
      perBatch: 2,
      answer: (request, state) =>
        request.message?.type === 'poll' && request.sig?.position === 2 && !state.requests.some((r) => r.exchange.response?.body.includes('"shutdown"'))
          ? { status: 200, body: { ssp: 1, type: 'termination', reason: 'shutdown', sig: state.sign(request.sig.session, 2), last: 2, advice: { action: 'resume', delayMs: 800 } } }
          : undefined,
    }),
    judge(run, fail) {
      assertExactlyOnce(run, 4, fail);
      const shutdown = run.requests.find((request) => request.exchange.response?.body.includes('"shutdown"'));
      if (!shutdown) return fail('the scripted shutdown termination was never sent');
      const next = run.requests[run.requests.indexOf(shutdown) + 1];
      if (!next || next.message?.type !== 'poll' || next.sig?.position !== 2) fail(`after resume advice the client sent ${JSON.stringify(next?.message ?? null)}; expected a poll with the termination's sig`);
      const waited = next.at - (shutdown.answeredAt ?? shutdown.at);
      if (waited < 800 - early) fail(`the client resumed ${waited} ms after the shutdown termination; advice.delayMs was 800`);
    },
  },
  {
    id: 'SSP-CLIENT-29/advice-reopen',
    title: 'MUST follow reopen advice with a new session no earlier than delayMs, and report the restart before its events',
    script: () => ({
      count: 4,
      perBatch: 2,
      answer: (request, state) =>
        request.message?.type === 'poll' && request.sig?.session === 1 && request.sig.position === 2
          ? { status: 200, body: { ssp: 1, type: 'termination', reason: 'expired', sig: state.sign(1, 2), last: 2, advice: { action: 'reopen', delayMs: 600 } } }
          : undefined,
    }),
    judge(run, fail) {
      const [first, second] = opens(run);
      if (!first || !second) fail(`after reopen advice the client must open a new session; it sent ${opens(run).length} open(s)`);
      const termination = run.requests.find((request) => request.exchange.response?.body.includes('"expired"'));
      const waited = second.at - (termination?.answeredAt ?? 0);
      if (waited < 600 - early) fail(`the client reopened ${waited} ms after the termination; advice.delayMs was 600`);
      const restartAt = assertNewSessionAfterRestart(run, 4, fail);
      if (seqs(run).slice(0, restartAt).join() !== '1,2') fail(`before the restart line the client printed ${JSON.stringify(seqs(run).slice(0, restartAt))}, expected [1,2]`);
    },
  },
  {
    id: 'SSP-CLIENT-13/advice-none',
    title: 'MUST stop on a termination advising none, and send nothing after it',
    script: () => ({ count: 2, perBatch: 2 }),
    judge(run, fail) {
      assertExactlyOnce(run, 2, fail);
      const endIndex = run.requests.findIndex((request) => request.exchange.response?.body.includes('"complete"'));
      const after = run.requests.slice(endIndex + 1).filter((request) => request.message?.type !== 'close');
      if (after.length > 0) fail(`after the complete termination (advice none) the client sent ${after.map((request) => request.raw).join(', ')}`);
      if (run.exitCode === null) fail('the client did not exit after the stream terminated');
    },
  },
  {
    id: 'SSP-CLIENT-21/unknown-ext',
    title: 'MUST ignore ext members it does not understand in every answer',
    script: () => ({
      count: 4,
      perBatch: 2,
      answer: (request, state) => {
        const reply = state.plain();
        return 'drop' in reply || request.method === 'GET' ? undefined : { ...reply, body: { ...reply.body, ext: { 'com.example.unknown': { note: 'ignore me' } } } };
      },
    }),
    judge: (run, fail) => assertExactlyOnce(run, 4, fail),
  },
  {
    id: 'SSP-CLIENT-22/unknown-error-code',
    title: 'MUST repeat a request answered with an unknown retryable error code',
    script: () => ({ count: 4, perBatch: 2, answer: onPoll(2, error(503, 'com.example.overheated', true)) }),
    timeoutMs: 20_000,
    judge: (run, fail) => assertExactlyOnce(run, 4, fail),
  },
  {
    id: 'SSP-CLIENT-20/unauthorized',
    title: 'MUST report a 401 as an authorization error and not repeat the request',
    script: () => ({ count: 2, perBatch: 2, answer: (request) => (request.message?.type === 'open' ? { ...error(401, 'unauthorized', false), headers: { 'www-authenticate': 'Bearer realm="conformance"' } } : undefined) }),
    judge(run, fail) {
      const last = run.lines.at(-1);
      if (!last || !('error' in last) || last.error.kind !== 'auth') fail(`after a 401 the client's last line is ${JSON.stringify(last ?? null)}; expected an error line of kind "auth"`);
      if (opens(run).length !== 1) fail(`the client sent ${opens(run).length} opens after a 401 (not retryable): it must not repeat the request unchanged`);
    },
  },
  {
    id: 'SSP-CLIENT-25/session-expired',
    title: 'MUST open a new session and report a restart when a poll is answered session-expired',
    script: () => ({
      count: 4,
      perBatch: 2,
      answer: (request) => (request.message?.type === 'poll' && request.sig?.session === 1 && request.sig.position === 2 ? error(410, 'session-expired', false) : undefined),
    }),
    timeoutMs: 20_000,
    judge(run, fail) {
      if (opens(run).length !== 2) fail(`after session-expired the client sent ${opens(run).length} open(s); expected one new session`);
      assertNewSessionAfterRestart(run, 4, fail);
    },
  },
  {
    id: 'SSP-CLIENT-14/close-on-stop',
    title: 'SHOULD close its session with the newest signature when stopped',
    script: () => ({
      count: 50,
      perBatch: 1,
      // One event per second: the stop comes while the stream is live.
      answer: (request, state) => (request.message?.type === 'poll' && (request.sig?.position ?? 0) > 0 ? { ...state.plain(), delayMs: 300 } : undefined),
    }),
    stopAfterEvents: 2,
    judge(run, fail) {
      const close = run.requests.find((request) => request.message?.type === 'close');
      if (!close) return fail('the client was stopped (SIGINT) while its session was live and sent no close');
      const newest = Math.max(...seqs(run));
      if ((close.sig?.position ?? -1) < newest) fail(`the close carried a signature at position ${close.sig?.position}, older than the newest the client received (${newest})`);
    },
  },
];
