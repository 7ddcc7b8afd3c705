// Load mode (`xanjax conformance <url> --load N`): an implementer's first capacity test.
// N sessions of the annex's `ssp.ticker` stream (spec §20), each re-polling at once after
// every answer on its own connection, for a bounded time. Every event is accounted for per
// session: delivered once, duplicated, skipped without a gap (lost), or announced as a gap;
// latency is receive time minus the ticker's `sentAt` (the server's clock: meaningful when
// client and server share a clock, e.g. the same machine). Only the wire and the schemas
// are used; nothing of the reference server.
import { Agent, request } from 'undici';
import type { DiscoveryDocument } from '../schemas/types.gen.ts';
import { lowerCaseHeaders } from './evidence.ts';

export interface LoadOptions {
  endpoint: string;
  sessions: number;
  /** Seconds of polling once every session is open. */
  durationS: number;
  /** ssp.ticker's intervalMs. */
  intervalMs: number;
  headers: Record<string, string>;
  discovery: DiscoveryDocument;
  /** Called about every 250 ms while the run lasts. */
  onProgress?(progress: LoadProgress): void;
}

export interface LoadProgress {
  phase: 'opening' | 'polling' | 'closing';
  opened: number;
  polling: number;
  events: number;
  lost: number;
  duplicated: number;
  errors: number;
  secondsLeft: number;
}

export interface LoadResult {
  endpoint: string;
  sessions: number;
  durationS: number;
  intervalMs: number;
  /** Sessions that opened (of `sessions`). */
  opened: number;
  /** Milliseconds from the first open to the last. */
  openMs: number;
  /** Most sessions with a poll outstanding at once (held by the server, or on their way). */
  maxPolling: number;
  polls: number;
  events: number;
  eventsPerS: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  lost: number;
  duplicated: number;
  /** Events the server announced as a gap (allowed by the spec, reported separately). */
  gapped: number;
  /** Sessions the server terminated during the run (then re-opened), by reason. */
  terminations: Record<string, number>;
  /** Failed requests by error code, HTTP status or network error. */
  errors: Record<string, number>;
  /** First few distinct error messages, for the report. */
  errorSamples: string[];
}

interface Session {
  sig: string;
  /** Highest seq delivered (or skipped by a gap). */
  last: number;
}

const JSON_TYPE = { 'content-type': 'application/json' };
const MAX_ERROR_SAMPLES = 5;

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { endpoint, sessions: n, discovery } = options;
  // One connection per session (plus a few for opens and closes), kept alive between polls.
  const agent = new Agent({ connections: n + 16, pipelining: 1, headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 30_000 });
  const headers = { ...lowerCaseHeaders(options.headers), ...JSON_TYPE };
  const holdMs = discovery.limits.maxHoldMs;
  const latencies: number[] = [];
  const result: LoadResult = {
    endpoint,
    sessions: n,
    durationS: options.durationS,
    intervalMs: options.intervalMs,
    opened: 0,
    openMs: 0,
    maxPolling: 0,
    polls: 0,
    events: 0,
    eventsPerS: 0,
    latencyMs: { p50: 0, p90: 0, p99: 0, max: 0 },
    lost: 0,
    duplicated: 0,
    gapped: 0,
    terminations: {},
    errors: {},
    errorSamples: [],
  };
  let polling = 0;
  let stopping = false;
  let phase: LoadProgress['phase'] = 'opening';
  let pollingUntil = 0;

  const fail = (key: string, message: string) => {
    failed = key;
    result.errors[key] = (result.errors[key] ?? 0) + 1;
    if (result.errorSamples.length < MAX_ERROR_SAMPLES && !result.errorSamples.includes(message)) result.errorSamples.push(message);
  };

  /** POSTs a client message; the answer's JSON, or undefined after counting the error (its key in `failed`). */
  let failed = '';
  const post = async (message: object, timeoutMs: number): Promise<Record<string, any> | undefined> => {
    failed = '';
    try {
      const res = await request(endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify(message),
        dispatcher: agent,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.body.text();
      let body: Record<string, any> | undefined;
      try {
        body = JSON.parse(text) as Record<string, any>;
      } catch {
        body = undefined;
      }
      if (res.statusCode !== 200) {
        const code = typeof body?.code === 'string' ? body.code : `HTTP ${res.statusCode}`;
        fail(code, `${code}: ${typeof body?.message === 'string' ? body.message : text.slice(0, 200)}`);
        return undefined;
      }
      if (!body || typeof body.type !== 'string') {
        fail('not-ssp', `answer is not an SSP/1 message: ${text.slice(0, 200)}`);
        return undefined;
      }
      return body;
    } catch (error) {
      if (stopping) return undefined;
      const { code, name, message: text } = error as { code?: string; name?: string; message?: string };
      const key = name === 'TimeoutError' ? 'timeout' : (code ?? name ?? 'network');
      fail(key, `${key}: ${text ?? String(error)}`);
      return undefined;
    }
  };

  const open = async (): Promise<Session | undefined> => {
    const answer = await post({ ssp: 1, type: 'open', stream: 'ssp.ticker', params: { intervalMs: options.intervalMs } }, 30_000);
    if (answer?.type !== 'session' || typeof answer.sig !== 'string') return undefined;
    return { sig: answer.sig, last: 0 };
  };

  /** One session's poll loop until the run stops; re-opens after a termination. */
  const loop = async (current: Session): Promise<void> => {
    while (!stopping) {
      polling++;
      result.maxPolling = Math.max(result.maxPolling, polling);
      const answer = await post({ ssp: 1, type: 'poll', sig: current.sig }, holdMs + 30_000);
      polling--;
      if (stopping) return;
      if (!answer && failed === 'session-expired') {
        // The session is gone (the server expired it, e.g. while this client was starved):
        // counted as an error, and the slot continues with a new session.
        const fresh = await open();
        if (!fresh) return;
        current.sig = fresh.sig;
        current.last = 0;
        continue;
      }
      if (!answer) {
        // A failed request: back off as a client would (SSP-CLIENT-10), then retry.
        await new Promise((resolve) => setTimeout(resolve, 1000 + Math.random() * 1000));
        continue;
      }
      result.polls++;
      if (answer.type === 'termination') {
        const reason = String(answer.reason);
        result.terminations[reason] = (result.terminations[reason] ?? 0) + 1;
        // Keep N sessions: the same slot continues with a new session, counted from seq 1.
        const fresh = await open();
        if (!fresh) return;
        current.sig = fresh.sig;
        current.last = 0;
        continue;
      }
      if (answer.type !== 'batch' || !Array.isArray(answer.events)) {
        fail('unexpected-message', `poll answered a '${String(answer.type)}' message`);
        continue;
      }
      const now = Date.now();
      if (answer.gap && Number.isInteger(answer.gap.from) && Number.isInteger(answer.gap.to) && answer.gap.from === current.last + 1) {
        result.gapped += answer.gap.to - answer.gap.from + 1;
        current.last = answer.gap.to;
      }
      for (const event of answer.events as Array<{ seq: number; data?: { sentAt?: number } }>) {
        if (event.seq <= current.last) {
          result.duplicated++;
          continue;
        }
        if (event.seq > current.last + 1) result.lost += event.seq - current.last - 1;
        current.last = event.seq;
        result.events++;
        if (typeof event.data?.sentAt === 'number') latencies.push(now - event.data.sentAt);
      }
      current.sig = answer.sig;
    }
  };

  const progress = setInterval(() => {
    options.onProgress?.({
      phase,
      opened: result.opened,
      polling,
      events: result.events,
      lost: result.lost,
      duplicated: result.duplicated,
      errors: Object.values(result.errors).reduce((a, b) => a + b, 0),
      secondsLeft: phase === 'polling' ? Math.max(0, Math.ceil((pollingUntil - Date.now()) / 1000)) : options.durationS,
    });
  }, 250);

  const opened: Session[] = [];
  const loops: Promise<void>[] = [];
  try {
    // Opens run a bounded number at a time; each session starts polling as soon as it is open.
    const started = performance.now();
    let next = 0;
    const opener = async () => {
      while (next < n) {
        next++;
        const session = await open();
        if (!session) continue;
        result.opened++;
        opened.push(session);
        loops.push(loop(session));
      }
    };
    await Promise.all(Array.from({ length: Math.min(64, n) }, opener));
    result.openMs = Math.round(performance.now() - started);
    phase = 'polling';
    const pollingStarted = Date.now();
    pollingUntil = pollingStarted + options.durationS * 1000;
    await new Promise((resolve) => setTimeout(resolve, options.durationS * 1000));
    result.eventsPerS = result.events / ((Date.now() - pollingStarted) / 1000);
    phase = 'closing';
    stopping = true;
    // Close every session (its newest signature), a bounded number at a time.
    let closing = 0;
    const closer = async () => {
      while (closing < opened.length) {
        const session = opened[closing++];
        await post({ ssp: 1, type: 'close', sig: session.sig }, 10_000);
      }
    };
    await Promise.all(Array.from({ length: Math.min(64, opened.length) }, closer));
  } finally {
    clearInterval(progress);
    await agent.destroy();
    await Promise.allSettled(loops);
  }
  result.latencyMs = percentiles(latencies);
  return result;
}

function percentiles(values: number[]): LoadResult['latencyMs'] {
  if (values.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1] };
}

/** Zero lost, zero duplicated, every session opened, no failed request. */
export function loadPassed(result: LoadResult): boolean {
  return result.lost === 0 && result.duplicated === 0 && result.opened === result.sessions && Object.keys(result.errors).length === 0;
}
