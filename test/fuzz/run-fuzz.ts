// The fuzz run shared by `npm test` (a bounded run) and `npm run fuzz` (the long run): hostile
// requests from ./arbitraries.ts against a real reference server, one raw connection each,
// while a well-behaved session polls the whole time. Invariant for every case: the answer is
// the spec's typed error with its registered status, or a valid message; never a 5xx, never
// a hang; the process stays up; the well-behaved session receives every event, no gap.
import fc from 'fast-check';
import { request } from 'undici';
import { createValidator, errorCodeInfo } from '../../schemas/index.ts';
import { createServer } from '../../reference-server/index.ts';
import type { SspServer } from '../../reference-server/index.ts';
import { rawExchange } from '../helpers/raw-http.ts';
import type { RawAnswer } from '../helpers/raw-http.ts';
import { fuzzRequest, SIG } from './arbitraries.ts';
import type { FuzzRequest } from './arbitraries.ts';

export interface FuzzOptions {
  cases: number;
  seed: number;
  /** Progress line every this many cases (0: none). */
  progressEvery?: number;
}

export interface FuzzReport {
  seed: number;
  cases: number;
  /** Answers by status ('none' when the connection ended without one, as a truncated request may). */
  statuses: Record<string, number>;
  kinds: Record<string, number>;
  /** Cases sent a second time because the first went unanswered within the bound. */
  remeasured: number;
  wellBehaved: { events: number; polls: number; reconnects: number; problems: string[] };
  /** Set when the property failed: fast-check's report with the counterexample. */
  failure?: string;
  ms: number;
}

const validator = createValidator();

/** A live signature, possibly damaged. */
function liveSig(pool: string[], { pick, mutation }: FuzzRequest['sig']): string {
  const sig = pool.length > 0 ? pool[pick % pool.length] : 'v1.k1.nosessionyet.AAAA.AAAA';
  const at = pick % sig.length;
  switch (mutation) {
    case 'flip':
      return `${sig.slice(0, at)}${sig[at] === 'A' ? 'B' : 'A'}${sig.slice(at + 1)}`;
    case 'truncate':
      return sig.slice(0, at);
    case 'extend':
      return `${sig}A`;
    default:
      return sig;
  }
}

function bodyBytes(req: FuzzRequest, pool: string[]): Buffer | undefined {
  if (req.body === undefined) return undefined;
  if (typeof req.body !== 'string') return Buffer.from(req.body);
  return Buffer.from(req.body.split(SIG).join(liveSig(pool, req.sig)), 'utf8');
}

/** The raw request, framed as generated; `complete` says whether the server got all of it. */
function serialize(req: FuzzRequest, pool: string[]): { bytes: Buffer; complete: boolean } {
  const body = bodyBytes(req, pool);
  const lines = [`${req.method} ${req.target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...req.headers.map(([name, value]) => `${name}: ${value}`)];
  if (body === undefined) return { bytes: Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), complete: true };
  if (req.framing === 'chunked') {
    const split = Math.floor(req.cut * body.length);
    const chunks = [body.subarray(0, split), body.subarray(split)].filter((chunk) => chunk.length > 0);
    const framed = chunks.flatMap((chunk) => [Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
    return { bytes: Buffer.concat([Buffer.from(`${[...lines, 'Transfer-Encoding: chunked'].join('\r\n')}\r\n\r\n`, 'latin1'), ...framed, Buffer.from('0\r\n\r\n')]), complete: true };
  }
  const sent = req.framing === 'truncated' ? body.subarray(0, Math.floor(req.cut * body.length)) : body;
  const head = Buffer.from(`${[...lines, `Content-Length: ${body.length}`].join('\r\n')}\r\n\r\n`, 'latin1');
  return { bytes: Buffer.concat([head, sent]), complete: sent.length === body.length };
}

/** What the invariant says about one answer; empty when it holds. */
export function judge(req: FuzzRequest, answer: RawAnswer, complete: boolean): string[] {
  const problems: string[] = [];
  if (answer.ended === 'timeout') return [`no answer and no close within the bound (${answer.text.length} bytes received)`];
  if (answer.status === undefined) {
    // Only a request the server never fully received may go unanswered.
    if (complete && answer.text.length === 0 && answer.ended !== 'reset') problems.push('complete request, connection closed without an answer');
    if (answer.text.length > 0) problems.push(`unparseable answer ${JSON.stringify(answer.text.slice(0, 120))}`);
    return problems;
  }
  const { status, json, headers } = answer;
  if (status >= 500) problems.push(`status ${status}`);
  if (headers['cache-control'] !== 'no-store') problems.push(`Cache-Control ${headers['cache-control']}`);
  if (req.method === 'HEAD') return problems;
  if (status === 200) {
    const kind = json?.type === 'discovery' ? validator.validate('discovery', json) : validator.validateServerMessage(json);
    if (!kind.ok) problems.push(`200 with an invalid message: ${kind.errors.join('; ')}`);
  } else if (status === 204) {
    if (req.method !== 'OPTIONS') problems.push(`204 to ${req.method}`);
  } else if (status === 404 && json?.type !== 'error') {
    // The plain 404 of another path; on the endpoint a 404 is the typed unknown-stream.
    const path = req.target.startsWith('/') ? req.target.split('?')[0] : URL.canParse(req.target) ? new URL(req.target).pathname : req.target;
    if (path === '/ssp') problems.push('plain 404 on the endpoint');
  } else {
    const error = validator.validate('error', json);
    if (!error.ok) problems.push(`${status} without a valid error message: ${error.errors.join('; ')} in ${answer.body.slice(0, 120)}`);
    else if (errorCodeInfo[json.code as keyof typeof errorCodeInfo].status !== status) problems.push(`${json.code} with status ${status}`);
  }
  return problems;
}

/** Polls one ticker session the whole time, as the reference client would, and checks continuity. */
function wellBehavedSession(url: string) {
  const received: number[] = [];
  const problems: string[] = [];
  let polls = 0;
  let reconnects = 0;
  let stopped = false;
  const send = async (message: unknown) => {
    const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(message) });
    return { status: res.statusCode, json: (await res.body.json()) as any };
  };
  // A kept-alive connection the server closes as the next request goes out is reset; a client
  // sends the same message again (SSP-CLIENT-3: still the newest signature), as the reference client does.
  const post = async (message: unknown) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send(message);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (attempt === 3 || (code !== 'ECONNRESET' && code !== 'UND_ERR_SOCKET' && code !== 'EPIPE')) throw error;
        reconnects++;
      }
    }
  };
  const running = (async () => {
    const opened = await post({ ssp: 1, type: 'open', stream: 'ssp.ticker', params: { intervalMs: 25 } });
    let sig: string = opened.json.sig;
    while (!stopped) {
      const { status, json } = await post({ ssp: 1, type: 'poll', sig });
      polls++;
      if (status !== 200 || json.type !== 'batch') {
        problems.push(`poll ${polls}: ${status} ${json.type} ${json.reason ?? json.code ?? ''} ${JSON.stringify(json).slice(0, 120)}`);
        return;
      }
      if (json.gap) problems.push(`poll ${polls}: gap ${JSON.stringify(json.gap)}`);
      for (const event of json.events) if (event.seq > (received.at(-1) ?? 0)) received.push(event.seq);
      sig = json.sig;
    }
    await post({ ssp: 1, type: 'close', sig });
  })().catch((error: Error) => problems.push(`well-behaved session failed: ${error.message}`));
  return {
    async stop() {
      stopped = true;
      await running;
      received.forEach((seq, i) => {
        if (seq !== i + 1) problems.push(`event ${i + 1} missing: received ${seq} at position ${i}`);
      });
      return { events: received.length, polls, reconnects, problems: [...new Set(problems)].slice(0, 10) };
    },
  };
}

/** Runs `cases` hostile requests against a fresh server; never throws for a failed property. */
export async function runFuzz({ cases, seed, progressEvery = 0 }: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now();
  const server: SspServer = await createServer({
    port: 0,
    conformance: true,
    maxSessions: 1_000_000,
    maxSessionsPerClient: 1_000_000,
    headersTimeoutMs: 2000,
    bodyTimeoutMs: 1000,
    // The well-behaved session re-polls at once, but on a starved machine "at once" can
    // outlast the conformance idle timeout: its lifetime is not what this run checks.
    limits: { idleTimeoutMs: 60_000 },
  });
  const port = Number(new URL(server.url).port);
  const { maxHoldMs } = server.handler.limits;
  // A held poll may last the whole hold; a stalled body, the body timeout; then the close.
  const bound = 2000 + 1000 + maxHoldMs + 3000;
  const statuses: Record<string, number> = {};
  const kinds: Record<string, number> = {};
  const pool: string[] = [];
  const wellBehaved = wellBehavedSession(server.url);
  let ran = 0;
  let remeasured = 0;
  let failure: string | undefined;
  try {
    const property = fc.asyncProperty(fuzzRequest, async (req) => {
      const { bytes, complete } = serialize(req, pool);
      const caseStart = performance.now();
      const exchange = (timeoutMs: number) => rawExchange(port, { head: bytes, timeoutMs, endAfterHead: req.framing === 'truncated' });
      let answer = await exchange(bound);
      // A starved machine can hold any answer past a fixed bound: a hang is only a hang when
      // the same bytes go unanswered again with twice the time.
      if (answer.ended === 'timeout') {
        remeasured++;
        answer = await exchange(2 * bound);
      }
      ran++;
      const key = answer.status === undefined ? 'none' : String(answer.status);
      statuses[key] = (statuses[key] ?? 0) + 1;
      kinds[req.kind] = (kinds[req.kind] ?? 0) + 1;
      if (process.env.FUZZ_SLOW && performance.now() - caseStart > 200) process.stderr.write(`slow ${Math.round(performance.now() - caseStart)} ms ${answer.status} ${answer.ended} ${bytes.subarray(0, 150).toString('latin1')}\n`);
      // Live signatures feed later cases (polls, closes, damaged copies).
      const sig = answer.json?.sig;
      if (typeof sig === 'string' && answer.status === 200) {
        if (pool.length < 64) pool.push(sig);
        else pool[ran % 64] = sig;
      }
      if (progressEvery > 0 && ran % progressEvery === 0) process.stderr.write(`fuzz: ${ran}/${cases} cases, ${JSON.stringify(statuses)}\n`);
      const problems = judge(req, answer, complete);
      if (problems.length > 0) throw new Error(`${req.kind}: ${problems.join('; ')}\nrequest: ${JSON.stringify(bytes.subarray(0, 300).toString('latin1'))}\nanswer: ${JSON.stringify(answer.text.slice(0, 300))}`);
    });
    const details = await fc.check(property, { numRuns: cases, seed, endOnFailure: true });
    if (details.failed) {
      const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      failure = `${error}\n${fc.defaultReportMessage(details) ?? ''}`;
    }
  } catch (error) {
    failure = `harness error: ${(error as Error).stack ?? String(error)}`;
  }
  const session = await wellBehaved.stop();
  await server.close();
  return { seed, cases: ran, statuses, kinds, remeasured, wellBehaved: session, ...(failure !== undefined && { failure }), ms: Math.round(performance.now() - started) };
}
