// What every client scenario is made of (spec §20.5): its shape, the run it judges, and the
// helpers the scenario lists share — the plain stream's checks, request selectors and the
// timing allowances (fixed slack for lower bounds, measured latency for upper ones).
import type { OutputLine, StreamSpec } from './contract.ts';
import { scriptLimits, type RecordedRequest, type Reply, type ScriptOptions } from './scripted-server.ts';

export type Answer = NonNullable<ScriptOptions['answer']>;
export type Fail = (message: string) => never;

export interface ClientRun {
  lines: OutputLine[];
  requests: RecordedRequest[];
  /** Exit code, or null when the runner had to kill the client. */
  exitCode: number | null;
  timedOut: boolean;
}

/** How long a client may take to finish a scenario that sets no timeoutMs. */
export const DEFAULT_TIMEOUT_MS = 15_000;

export interface Scenario {
  id: string;
  /** Starts with MUST or SHOULD (the level). */
  title: string;
  /** A fresh script for each run (scripts keep counters). */
  script(): ScriptOptions;
  /** SIGINT the client once it printed this many events (SSP-CLIENT-14). */
  stopAfterEvents?: number;
  /** Longest the client may take to finish the scenario (default DEFAULT_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Credentials the client is given (SSP_HEADERS). */
  headers?: Record<string, string>;
  /** Several streams to follow (SSP_STREAMS). */
  streams?: StreamSpec[];
  /** Why the scenario does not apply to this client (an optional feature it does not implement), or undefined. */
  notApplicable?(run: ClientRun): string | undefined;
  judge(run: ClientRun, fail: Fail): void;
}

/**
 * Lower bounds are the configured delays less `early`: the server sees arrivals, and one
 * request may spend longer in transit than the next (a new connection, a loaded machine).
 * Upper bounds allow `late` of scheduling delay on top of the configured value.
 */
/** A stream of 8 events whose poll at position 2 is answered with events 5 and 6: 3 and 4 skipped without a gap. */
export const skipsThreeAndFour = (): ScriptOptions => ({
  count: 8,
  perBatch: 2,
  answer: (request, state) =>
    request.message?.type === 'poll' && request.sig?.position === 2
      ? { status: 200, body: { ssp: 1, type: 'batch', sig: state.sign(request.sig.session, 6), events: [5, 6].map((seq) => ({ seq, data: { n: seq } })) } }
      : undefined,
});

export const early = 100;
export const late = 400;
/** Timers may fire a few ms early and arrivals are rounded to the ms: a lower bound's only slack. */
export const timerSlack = 20;

/**
 * When the client sent `request` at the earliest: it needed the answer to its previous
 * request (the signature it carries), so no earlier than that answer. SSP-CLIENT-9's clock
 * starts at sending, which the server does not see; this bound makes its check need no
 * transit allowance.
 */
export function sentNoEarlierThan(run: ClientRun, request: RecordedRequest): number {
  const before = run.requests.slice(0, run.requests.indexOf(request)).filter((other) => other.method === 'POST' && other.answeredAt !== undefined);
  return before.at(-1)?.answeredAt ?? 0;
}

export const error = (status: number, code: string, retryable: boolean, extra: Record<string, unknown> = {}): Reply => ({
  status,
  body: { ssp: 1, type: 'error', code, message: `scripted ${code}`, retryable, ...extra },
});

export const polls = (run: ClientRun) => run.requests.filter((request) => request.message?.type === 'poll');
export const opens = (run: ClientRun) => run.requests.filter((request) => request.message?.type === 'open');
export const posts = (run: ClientRun) => run.requests.filter((request) => request.method === 'POST');
export const seqs = (run: ClientRun) => run.lines.flatMap((line) => ('seq' in line ? [line.seq] : []));
export const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
/** ms from the answer to `request` (its arrival when it was dropped) to the arrival of `next`. */
export const waited = (request: RecordedRequest, next: RecordedRequest) => next.at - (request.answeredAt ?? request.at);

/** Each of 1..count printed exactly once, in order, and the stream's end reported. */
export function assertExactlyOnce(run: ClientRun, count: number, fail: Fail): void {
  const got = seqs(run);
  if (got.join() !== range(1, count).join()) fail(`the client printed events ${JSON.stringify(got)}; expected each of 1..${count} exactly once, in order`);
  const end = run.lines.at(-1);
  if (!end || !('termination' in end) || end.termination.reason !== 'complete') fail(`the client's last line is ${JSON.stringify(end ?? null)}; expected the termination line of the complete stream`);
}

/** Where the client printed its restart line (a stream restart, SSP-CLIENT-29); fails without one. */
export function restartLineAt(run: ClientRun, fail: Fail): number {
  const at = run.lines.findIndex((line) => 'restart' in line);
  if (at < 0) fail(`the client printed no restart line: ${JSON.stringify(run.lines)}`);
  return at;
}

/** After its restart line, the client printed the new session's 1..count in order; returns the line's index. */
export function assertNewSessionAfterRestart(run: ClientRun, count: number, fail: Fail): number {
  const at = restartLineAt(run, fail);
  const after = seqs({ ...run, lines: run.lines.slice(at + 1) });
  if (after.join() !== range(1, count).join()) fail(`after the restart line the client printed ${JSON.stringify(after)}, expected the new session's 1..${count}`);
  return at;
}

/** Nothing but a close after `request`: the client neither repeated it nor went on. */
export function stoppedAfter(run: ClientRun, request: RecordedRequest, fail: Fail): void {
  const after = run.requests.slice(run.requests.indexOf(request) + 1).filter((next) => next.method === 'POST' && next.message?.type !== 'close');
  if (after.length > 0) fail(`after the answer ${request.exchange.response?.body.slice(0, 160)} the client sent ${after.map((next) => next.raw.slice(0, 120)).join(', ')}`);
}

/** The n-th of a request list (1-based). */
export function nth(requests: RecordedRequest[], n: number, what: string, fail: Fail): RecordedRequest {
  const request = requests[n - 1];
  if (!request) fail(`expected at least ${n} ${what}, the client sent ${requests.length}`);
  return request;
}

/** Replies with `reply` to the `which`-th poll (1-based), once. */
export function onPoll(which: number, reply: Reply): Answer {
  let seen = 0;
  return (request) => (request.message?.type === 'poll' && ++seen === which ? reply : undefined);
}

/** The last error line the client printed, if any. */
export function errorLine(run: ClientRun): { kind: string; message?: string } | undefined {
  const line = run.lines.findLast((candidate) => 'error' in candidate);
  return line && 'error' in line ? line.error : undefined;
}

/**
 * SSP-CLIENT-17's cap on d while a live session's request is retried: half the idleTimeoutMs
 * the client read from discovery, or 1 s when it did not read it.
 */
export function liveCap(run: ClientRun, idleTimeoutMs = scriptLimits.idleTimeoutMs): number {
  const read = run.requests.some((request) => request.method === 'GET' && request.exchange.response?.status === 200);
  return read ? idleTimeoutMs / 2 : 1000;
}

/**
 * The scheduling allowance of an upper bound, from this run: `late`, or three times the
 * longest this client took to send its next request after an answer it acts on at once (a
 * session, or a batch with events), whichever is larger — a loaded machine slows both alike.
 */
export function latencySlack(run: ClientRun): number {
  const posted = run.requests.filter((request) => request.method === 'POST');
  const immediate = posted.slice(0, -1).flatMap((request, i) => {
    const body = request.exchange.response?.body ?? '';
    const acted = body.includes('"type":"session"') || (body.includes('"type":"batch"') && !body.includes('"events":[]'));
    return acted && request.answeredAt !== undefined ? [posted[i + 1]!.at - request.answeredAt] : [];
  });
  return Math.max(late, 3 * Math.max(0, ...immediate));
}
