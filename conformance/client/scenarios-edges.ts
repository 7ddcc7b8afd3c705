// Scenarios for the edges of the client loop (spec §16.2-16.5): late and replayed answers,
// superseded polls, unexpected and unknown answers, retries and their randomness, repeated
// advice, the answer deadline and the hold a client sends without discovery.
import type { Reply, ScriptOptions } from './scripted-server.ts';
import { scriptLimits } from './scripted-server.ts';
import { assertExactlyOnce, assertNewSessionAfterRestart, restartLineAt, skipsThreeAndFour, early, error, errorLine, late, nth, onPoll, opens, polls, sentNoEarlierThan, seqs, stoppedAfter, timerSlack, waited, type Answer, type ClientRun, type Fail, type Scenario } from './scenario-kit.ts';

/** The error line the client must print, of one of `kinds`. */
function reported(run: ClientRun, kinds: string[], fail: Fail): void {
  const line = errorLine(run);
  if (!line || !kinds.includes(line.kind)) fail(`the client's error line is ${JSON.stringify(line ?? null)}; expected one of kind ${kinds.map((kind) => JSON.stringify(kind)).join(' or ')}`);
}

/** Answers the poll of session `session` at `position` with a termination (`body` gives reason and advice). */
function terminateAt(session: number, position: number, body: Record<string, unknown>): Answer {
  return (request, state) =>
    request.message?.type === 'poll' && request.sig?.session === session && request.sig.position === position
      ? { status: 200, body: { ssp: 1, type: 'termination', sig: state.sign(session, position), last: position, ...body } }
      : undefined;
}

/** The range of all but the `drop` largest values: the spread of a sample that stalls (late timers) cannot widen. */
function lowSpread(values: number[], drop: number): number {
  const kept = [...values].sort((a, b) => a - b).slice(0, Math.max(1, values.length - drop));
  return kept.at(-1)! - kept[0]!;
}

/** A batch's gap and the seqs of its events (a batch SSP-CLIENT-19 makes invalid). */
interface GapFault {
  gap: { from: number; to: number };
  events: number[];
}

/**
 * A stream of 6 whose poll at position 2 (after events 1-2) is answered with each of `faults`
 * in turn, each signed at its last event; the polls after them get the plain stream again.
 */
function invalidGapsAt2(faults: GapFault[]): () => ScriptOptions {
  return () => {
    let answered = 0;
    return {
      count: 6,
      perBatch: 2,
      answer: (request, state) => {
        const fault = faults[answered];
        if (request.message?.type !== 'poll' || request.sig?.position !== 2 || !fault) return undefined;
        answered++;
        const events = fault.events.map((seq) => ({ seq, data: { n: seq } }));
        return { status: 200, body: { ssp: 1, type: 'batch', sig: state.sign(request.sig.session, fault.events.at(-1)!), gap: fault.gap, events } };
      },
    };
  };
}

/** After each of `invalid` invalid batches the same poll again (same signature), no gap line, and 1-6 once. */
function repeatedWithoutLoss(run: ClientRun, invalid: number, why: string, fail: Fail): void {
  const gaps = run.lines.flatMap((line) => ('gap' in line ? [line.gap] : []));
  if (gaps.length > 0) fail(`the client printed gap lines ${JSON.stringify(gaps)}; ${why}`);
  assertExactlyOnce(run, 6, fail);
  const first = nth(polls(run), 2, 'polls', fail);
  // How long it waits before each is SSP-CLIENT-17's (the backoff scenarios judge it).
  for (let n = 1; n <= invalid; n++) {
    const retry = nth(polls(run), 2 + n, 'polls', fail);
    if (retry.message?.sig !== first.message?.sig) fail(`after invalid answer ${n} the client polled at position ${retry.sig?.position}, expected the same poll again (position ${first.sig?.position}, same signature)`);
  }
}

export const edgeScenarios: Scenario[] = [
  {
    id: 'SSP-CLIENT-3/out-of-order',
    title: 'MUST keep the newest signature by position when an older answer arrives late (a replayed response)',
    script: () => {
      let first: Reply | undefined;
      let seen = 0;
      return {
        count: 8,
        perBatch: 2,
        answer: (request, state) => {
          if (request.message?.type !== 'poll') return undefined;
          seen++;
          if (seen === 1) return (first = state.plain());
          // The third poll gets the first answer again: events 1-2 and a signature at position 2.
          return seen === 3 ? first : undefined;
        },
      };
    },
    judge(run, fail) {
      assertExactlyOnce(run, 8, fail);
      const after = nth(polls(run), 4, 'polls', fail);
      if (after.sig?.position !== 4) fail(`after a late answer with a signature at position 2, the client polled at position ${after.sig?.position}: the newest signature is the one at the highest position (4)`);
    },
  },
  {
    id: 'SSP-CLIENT-9/superseded',
    title: 'MUST keep its position and wait 1 s after a held poll is answered early with an empty batch (superseded)',
    script: () => ({
      count: 4,
      perBatch: 2,
      answer: (() => {
        let superseded = false;
        return (request, state) => {
          if (request.message?.type !== 'poll' || request.sig?.position !== 2 || superseded) return undefined;
          superseded = true;
          // SSP-HOLD-10: a newer poll (someone else's) cut this one short; the answer encodes its position.
          return { status: 200, body: { ssp: 1, type: 'batch', sig: state.sign(request.sig.session, 2), events: [] }, delayMs: 100 };
        };
      })() as Answer,
    }),
    judge(run, fail) {
      assertExactlyOnce(run, 4, fail);
      const cut = nth(polls(run), 2, 'polls', fail);
      const next = nth(polls(run), 3, 'polls', fail);
      if (next.sig?.position !== 2) fail(`after the superseded answer the client polled at position ${next.sig?.position}, expected 2`);
      const since = next.at - sentNoEarlierThan(run, cut);
      if (since < 1000 - timerSlack) fail(`the client polled again ${since} ms after it received the answer before the poll that got an empty batch (so at most ${since} ms after sending that poll); at least 1000 ms must pass`);
    },
  },
  {
    id: 'SSP-CLIENT-25/invalid-signature',
    title: 'MUST open a new session, not report an authorization failure, when a poll is answered invalid-signature (keys changed)',
    script: () => ({
      count: 4,
      perBatch: 2,
      answer: (request) => (request.message?.type === 'poll' && request.sig?.session === 1 && request.sig.position === 2 ? error(403, 'invalid-signature', false) : undefined),
    }),
    timeoutMs: 20_000,
    judge(run, fail) {
      if (errorLine(run)) fail(`the client reported ${JSON.stringify(errorLine(run))}; a 403 invalid-signature means the session is gone, not an authorization failure`);
      if (opens(run).length !== 2) fail(`after invalid-signature the client sent ${opens(run).length} open(s); expected one new session`);
      assertNewSessionAfterRestart(run, 4, fail);
    },
  },
  {
    id: 'SSP-CLIENT-23/unknown-reason',
    title: 'MUST follow the advice of a termination whose reason it does not know (reopen)',
    script: () => ({ count: 4, perBatch: 2, answer: terminateAt(1, 2, { reason: 'com.example.migrated', advice: { action: 'reopen', delayMs: 300 } }) }),
    judge(run, fail) {
      const [, second] = opens(run);
      if (!second) fail(`a termination with the unknown reason com.example.migrated advised reopen; the client sent ${opens(run).length} open(s)`);
      const termination = run.requests.find((request) => request.exchange.response?.body.includes('com.example.migrated'))!;
      if (waited(termination, second) < 300 - early) fail(`the client reopened ${waited(termination, second)} ms after the termination; advice.delayMs was 300`);
      const restartAt = restartLineAt(run, fail);
      assertExactlyOnce({ ...run, lines: run.lines.slice(restartAt + 1) }, 4, fail);
    },
  },
  {
    id: 'SSP-CLIENT-23/unknown-action',
    title: 'MUST treat an advice action it does not know as none: stop, and report the reason as received',
    script: () => ({ count: 4, perBatch: 2, answer: terminateAt(1, 2, { reason: 'com.example.paused', advice: { action: 'com.example.wait', delayMs: 200 } }) }),
    judge(run, fail) {
      const termination = run.requests.find((request) => request.exchange.response?.body.includes('com.example.paused'));
      if (!termination) return fail('the scripted termination was never sent');
      stoppedAfter(run, termination, fail);
      const end = run.lines.at(-1);
      if (!end || !('termination' in end) || end.termination.reason !== 'com.example.paused') fail(`the client's last line is ${JSON.stringify(end ?? null)}; expected the termination line with the reason as received, com.example.paused`);
      if (seqs(run).join() !== '1,2') fail(`the client printed events ${JSON.stringify(seqs(run))}, expected [1,2]`);
    },
  },
  {
    id: 'SSP-CLIENT-22/unknown-code-4xx',
    title: 'MUST NOT repeat a request answered with an unknown, non-retryable 4xx error code, and report the request\'s fault',
    script: () => ({ count: 4, perBatch: 2, answer: onPoll(2, error(422, 'com.example.too-curious', false)) }),
    judge(run, fail) {
      stoppedAfter(run, nth(polls(run), 2, 'polls', fail), fail);
      reported(run, ['request'], fail);
    },
  },
  {
    id: 'SSP-CLIENT-22/unknown-code-5xx',
    title: 'MUST NOT repeat a request answered with an unknown, non-retryable 5xx error code, and report the server\'s fault',
    script: () => ({ count: 4, perBatch: 2, answer: onPoll(2, error(507, 'com.example.out-of-space', false)) }),
    judge(run, fail) {
      stoppedAfter(run, nth(polls(run), 2, 'polls', fail), fail);
      reported(run, ['server'], fail);
    },
  },
  {
    id: 'SSP-CLIENT-21/unknown-ext-error',
    title: 'MUST ignore unknown ext members of an error answer and act on the error (retry a retryable one)',
    script: () => ({ count: 4, perBatch: 2, answer: onPoll(2, error(503, 'unavailable', true, { retryAfterMs: 500, ext: { 'com.example.region': { moved: 'eu' } } })) }),
    timeoutMs: 20_000,
    judge: (run, fail) => assertExactlyOnce(run, 4, fail),
  },
  {
    id: 'SSP-CLIENT-12/not-retryable',
    title: 'MUST NOT repeat a request answered with a non-retryable error (400 bad-request)',
    script: () => ({ count: 4, perBatch: 2, answer: onPoll(2, error(400, 'bad-request', false)) }),
    judge(run, fail) {
      stoppedAfter(run, nth(polls(run), 2, 'polls', fail), fail);
      reported(run, ['request', 'server', 'protocol'], fail);
    },
  },
  {
    id: 'SSP-CLIENT-16/after-skip',
    title: 'MUST NOT deliver any event of a session after reporting events skipped without a gap',
    script: skipsThreeAndFour,
    judge(run, fail) {
      const errorAt = run.lines.findIndex((line) => 'error' in line);
      if (errorAt < 0) fail(`events 3 and 4 were skipped without a gap, but the client printed no error line (SSP-CLIENT-7): ${JSON.stringify(run.lines)}`);
      const after = run.lines.slice(errorAt + 1).flatMap((line) => ('seq' in line ? [line.seq] : []));
      if (after.length > 0 || seqs(run).some((seq) => seq > 2)) fail(`after the skip the client delivered events ${JSON.stringify(seqs(run).filter((seq) => seq > 2))}`);
    },
  },
  {
    id: 'SSP-CLIENT-19/invalid-200',
    title: 'MUST treat a schema-invalid 200 answer as a failed request: repeat it',
    script: () => ({ count: 4, perBatch: 2, answer: onPoll(2, { status: 200, body: { ssp: 1, type: 'batch', events: [{ seq: 3 }] } }) }),
    timeoutMs: 20_000,
    judge(run, fail) {
      assertExactlyOnce(run, 4, fail);
      const invalid = nth(polls(run), 2, 'polls', fail);
      const retry = nth(polls(run), 3, 'polls', fail);
      // How long it waits first is SSP-CLIENT-17's (the backoff scenarios judge it).
      if (retry.sig?.position !== invalid.sig?.position) fail(`after the invalid answer the client polled at position ${retry.sig?.position}, expected the same poll again (${invalid.sig?.position})`);
    },
  },
  {
    id: 'SSP-CLIENT-19/inverted-gap',
    title: 'MUST treat a batch whose gap has from > to as an invalid answer: repeat the poll, report no loss',
    // A gap 5-3 and event 4: it begins at gap.to + 1, so the inverted gap is the batch's only fault.
    script: invalidGapsAt2([{ gap: { from: 5, to: 3 }, events: [4] }]),
    timeoutMs: 20_000,
    judge: (run, fail) => repeatedWithoutLoss(run, 1, 'a gap with from > to is an invalid answer, not a loss', fail),
  },
  {
    id: 'SSP-CLIENT-19/gap-not-adjacent',
    title: 'MUST treat a batch with gap whose first event is not gap.to + 1 as an invalid answer: repeat the poll, report no loss',
    // Off both ways, so that a client checking one way only fails: gap 3-4 with event 4 (inside
    // its gap), then gap 3-3 with event 5 (4 unannounced: an invalid batch, not an SSP-CLIENT-7 skip).
    script: invalidGapsAt2([
      { gap: { from: 3, to: 4 }, events: [4] },
      { gap: { from: 3, to: 3 }, events: [5] },
    ]),
    timeoutMs: 20_000,
    judge: (run, fail) => repeatedWithoutLoss(run, 2, 'a gap not followed by gap.to + 1 is an invalid answer, not a loss', fail),
  },
  {
    id: 'SSP-CLIENT-19/not-ssp-404',
    title: 'MUST report an invalid answer with status 404 (a gateway\'s page) without repeating the request',
    script: () => ({ count: 4, perBatch: 2, answer: onPoll(2, { status: 404, body: { message: 'no route /ssp' } }) }),
    judge(run, fail) {
      stoppedAfter(run, nth(polls(run), 2, 'polls', fail), fail);
      reported(run, ['protocol', 'request'], fail);
    },
  },
  {
    id: 'SSP-CLIENT-17/jitter',
    title: 'MUST wait a random time between d/2 and d after failed requests (500s and resets): bounds, and randomness',
    // Each position fails once (500 and reset in turn), then succeeds: every failure is the
    // first (d = 1 s), and the immediate polls after each batch measure this client's own
    // latency, from which the tolerances are derived.
    script: () => {
      const failed = new Set<number>();
      return {
        count: 11,
        perBatch: 1,
        answer: (request) => {
          const position = request.sig?.position ?? 0;
          if (request.message?.type !== 'poll' || position === 0 || position > 10 || failed.has(position)) return undefined;
          failed.add(position);
          return position % 2 ? error(500, 'internal-error', true) : { drop: true };
        },
      };
    },
    timeoutMs: 40_000,
    judge(run, fail) {
      assertExactlyOnce(run, 11, fail);
      const all = polls(run);
      const waits: number[] = [];
      const immediate: number[] = [];
      for (let i = 0; i + 1 < all.length; i++) {
        const request = all[i]!;
        const body = request.exchange.response?.body ?? '';
        if (body.includes('"type":"batch"')) immediate.push(waited(request, all[i + 1]!));
        else if (all[i + 1]!.sig?.position === request.sig?.position) waits.push(waited(request, all[i + 1]!));
      }
      if (waits.length < 10) fail(`expected 10 retries after failed polls, saw ${waits.length}`);
      const slack = Math.max(late, 3 * Math.max(...immediate));
      const short = waits.filter((wait) => wait < 500 - timerSlack);
      if (short.length > 0) fail(`retry waits ${JSON.stringify(waits)} ms: ${JSON.stringify(short)} shorter than d/2 = 500 ms`);
      // A stalled machine delays one wait now and then; a client that waits too long does it every time.
      const long = waits.filter((wait) => wait > 1000 + slack);
      if (long.length > 2) fail(`retry waits ${JSON.stringify(waits)} ms: ${JSON.stringify(long)} longer than d = 1000 ms plus ${slack} ms allowed for this client's measured latency`);
      // Without jitter every wait is the same plus this client's latency noise; with it, the
      // waits spread over 500 ms. The lowest 8 of 10 uniform waits span < 80 ms with
      // probability 2e-4, so 80 ms caps a threshold otherwise derived from the noise measured.
      const noise = lowSpread(immediate, 2);
      const threshold = Math.min(80, Math.max(30, 3 * noise));
      const spread = lowSpread(waits, 2);
      // Load only lengthens waits, so a client without jitter never waits less than d, while
      // ten random waits all at least 0.9 d (beyond this client's typical latency) have
      // probability 0.2^10: this catches it however much a loaded machine spreads its waits.
      const typical = [...immediate].sort((a, b) => a - b)[Math.floor(immediate.length / 2)] ?? 0;
      if (Math.min(...waits) >= 900 + typical) fail(`retry waits ${JSON.stringify(waits)} ms: none is shorter than 0.9 d = 900 ms plus this client's typical latency (${typical} ms); random waits in [500, 1000] would be: the backoff has no jitter`);
      if (spread < threshold) fail(`retry waits ${JSON.stringify(waits)} ms span only ${spread} ms (lowest 8); with random waits in [500, 1000] they spread far wider than this client's latency noise (${noise} ms): the backoff has no jitter`);
    },
  },
  {
    id: 'SSP-CLIENT-24/repeated-reopen',
    title: 'MUST back off between reopen advice that brings no event: at least d/2, d = 1 s, 2 s, 4 s',
    script: () => ({
      count: 4,
      perBatch: 2,
      answer: (request, state) => {
        if (request.message?.type !== 'poll' || !request.sig) return undefined;
        const { session, position } = request.sig;
        // Session 1 ends after two events; sessions 2 and 3 end at once, without an event.
        if ((session === 1 && position === 2) || ((session === 2 || session === 3) && position === 0)) {
          return { status: 200, body: { ssp: 1, type: 'termination', reason: 'expired', sig: state.sign(session, position), last: position, advice: { action: 'reopen' } } };
        }
        return undefined;
      },
    }),
    timeoutMs: 30_000,
    judge(run, fail) {
      const ends = run.requests.filter((request) => request.exchange.response?.body.includes('"reopen"'));
      const all = opens(run);
      if (all.length !== 4) fail(`after three reopen advices the client sent ${all.length} open(s), expected 4`);
      // Only the advices the client followed with an open (a client may have been told more).
      ends.slice(0, all.length - 1).forEach((end, r) => {
        const d = 1000 * 2 ** r;
        const wait = waited(end, all[r + 1]!);
        if (wait < d / 2 - timerSlack) fail(`reopen advice ${r + 1} in a row without an event: the client reopened after ${wait} ms, at least ${d / 2} ms required`);
      });
      const restartAt = run.lines.findLastIndex((line) => 'restart' in line);
      assertExactlyOnce({ ...run, lines: run.lines.slice(restartAt + 1) }, 4, fail);
    },
  },
  {
    id: 'SSP-CLIENT-26/answer-deadline',
    title: 'MUST NOT abandon a poll answered just before its effective hold plus batchDelayMs',
    script: () => ({
      count: 4,
      perBatch: 2,
      answer: (request, state) => {
        if (request.message?.type !== 'poll' || request.sig?.position !== 2) return undefined;
        const read = state.requests.some((candidate) => candidate.method === 'GET' && candidate.exchange.response?.status === 200);
        const hold = typeof request.message.hold === 'number' ? request.message.hold : scriptLimits.maxHoldMs;
        const effective = read ? Math.min(hold, scriptLimits.maxHoldMs) + scriptLimits.batchDelayMs : hold;
        return { ...state.plain(), delayMs: Math.max(0, effective - 150) };
      },
    }),
    timeoutMs: 30_000,
    judge(run, fail) {
      assertExactlyOnce(run, 4, fail);
      const held = nth(polls(run), 2, 'polls', fail);
      const next = nth(polls(run), 3, 'polls', fail);
      if (held.answeredAt === undefined || next.at < held.answeredAt) fail(`the client sent another poll ${next.at - held.at} ms after the held one, before its answer (due within its effective hold plus batchDelayMs, ${held.answeredAt === undefined ? '?' : held.answeredAt - held.at} ms)`);
      if (next.sig?.position !== 4) fail(`the poll after the held one carried position ${next.sig?.position}: the client did not take its answer`);
    },
  },
  {
    id: 'SSP-CLIENT-27/no-discovery',
    title: 'MUST send hold in every poll when it has not read the discovery document',
    script: () => ({ count: 4, perBatch: 2, answer: (request) => (request.method === 'GET' ? error(503, 'unavailable', true) : undefined) }),
    timeoutMs: 20_000,
    judge(run, fail) {
      assertExactlyOnce(run, 4, fail);
      const without = polls(run).filter((poll) => !Number.isInteger(poll.message?.hold));
      if (without.length > 0) fail(`discovery failed, and ${without.length} poll(s) carried no hold: ${without[0]!.raw.slice(0, 160)}`);
    },
  },
];
