// Subscriptions to one endpoint share one multiplexed session when the server accepts the
// `multiplex` extension (spec §23), so a page holds one poll whatever its number of streams.
//
// Each Subscription keeps its own SSP/1 state machine (dedup, gaps, advice, retries) and
// talks to a *virtual* fetch: its open, poll and close become an addition, a wait for that
// stream's part of the shared answers, and a removal; its answers are the SSP/1 messages of
// that one stream. The hub holds the real session: one poll at a time carrying additions and
// removals, restating the streams after a server restart (§23.7), and reopening when the
// session ends. A server that does not accept the extension gets plain sessions, one each.
import type { ClientMessage, ServerMessage } from '../schemas/types.gen.ts';
import errorCodes from '../schemas/error-codes.json' with { type: 'json' };
import { SspError, SspProtocolError, SspServerError } from './errors.ts';
import { multiplexPartsProblem } from './messages.ts';
import { defaultRetryOptions, retryDelayMs } from './retry.ts';
import { sleep } from './sleep.ts';
import { send } from './transport.ts';
import type { Answer, FetchLike, RequestSettings } from './transport.ts';

const EXTENSION = 'multiplex';
/** Longest wait of a virtual poll before it answers an empty batch (the Subscription then polls again). */
const VIRTUAL_HOLD_MS = 20_000;
/** Virtual signatures: `xmux.<stream id>.<position>`, padded to the SSP/1 minimum length. */
const VIRTUAL_SIG = /^xmux\.([A-Za-z0-9_-]+)\.(\d+)\.?/;

type Json = Record<string, any>;
interface Spec {
  id: string;
  stream: string;
  params: Json;
}
interface Part {
  id: string;
  events: Array<{ seq: number; data: unknown }>;
  gap?: { from: number; to: number };
  termination?: { reason: string; last: number; advice: { action: string; delayMs?: number }; error?: unknown };
  /** The shared session's poll failed for good: the answer it got, which each stream's Subscription handles itself. */
  failure?: VirtualResponse;
}

/** One stream of the shared session, as its Subscription sees it. */
class Lane {
  /** Parts received from the server, not yet taken by the Subscription's virtual poll. */
  pending: Part[] = [];
  waiter: (() => void) | undefined;
  constructor(readonly spec: Spec) {}
  push(part: Part): void {
    this.pending.push(part);
    this.waiter?.();
  }
}

/** How an addition was settled: added, refused by the server, or its poll's failed answer. */
type AddOutcome = { ok: true } | { ok: false; error: Json } | { ok: false; failure: VirtualResponse };

interface VirtualResponse {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/** Only these refusals of a poll mean the session is gone (SSP-CLIENT-25); any other is reported (SSP-CLIENT-12). */
const sessionLost = (error: SspError) => error instanceof SspServerError && (error.code === 'invalid-signature' || error.code === 'session-expired');
const SESSION_GONE = { ssp: 1, type: 'error', code: 'session-expired', message: 'the shared multiplexed session ended', retryable: false };

const noHeaders = { get: () => null };
const respond = (status: number, body: unknown): VirtualResponse => ({ status, headers: noHeaders, text: async () => JSON.stringify(body) });
const statusOf = new Map(errorCodes.map((entry) => [entry.code, entry.status]));

/** The shared session of one endpoint (and fetch). */
class Hub {
  /** undefined: not negotiated yet; a promise while the first open runs. */
  mode: 'multiplex' | 'plain' | Promise<void> | undefined;
  #sig: string | undefined;
  #lanes = new Map<string, Lane>();
  /** Position the hub has received per stream (what the signature acknowledges). */
  #adds: Spec[] = [];
  #removes: string[] = [];
  #waitingAdds = new Map<string, (outcome: AddOutcome) => void>();
  #loop: Promise<void> | undefined;
  #abort = new AbortController();
  #generation = 0;
  #nextId = 0;
  #headers: Record<string, string> = {};
  readonly #settings: RequestSettings = { headers: () => this.#headers, init: {} };

  constructor(
    readonly fetch: FetchLike,
    readonly endpoint: string,
  ) {}

  /** The virtual fetch of one Subscription. */
  virtualFetch(): FetchLike {
    let lane: Lane | undefined;
    return async (url, init) => {
      // Discovery (GET) and everything of a plain session go to the real fetch, untouched.
      if (init.body === undefined || this.mode === 'plain') return this.fetch(url, init);
      const message = JSON.parse(init.body) as ClientMessage;
      if (message.type !== 'open' && !(message.sig as string).startsWith('xmux.')) return this.fetch(url, init);
      // The hub's own requests carry the subscriptions' credentials (SSP-CLIENT-28).
      this.#headers = Object.fromEntries(Object.entries(init.headers).filter(([name]) => name.toLowerCase() !== 'content-type'));
      if (init.credentials !== undefined) this.#settings.init = { credentials: init.credentials };
      if (message.type === 'open') {
        const opened = await this.#open(message, init);
        if (opened.plain) return opened.plain;
        lane = opened.lane;
        if (!lane) return respond(statusOf.get(opened.error!.code) ?? 400, { ssp: 1, type: 'error', ...opened.error });
        return respond(200, { ssp: 1, type: 'session', sig: virtualSig(lane.spec.id, 0), stream: message.stream, position: 0 });
      }
      if (!lane) throw new TypeError('virtual session used before it was opened');
      const position = Number(VIRTUAL_SIG.exec(message.sig)?.[2] ?? 0);
      if (message.type === 'close') return respond(200, this.#remove(lane, position, init.keepalive === true));
      // A stream whose shared session failed is polled again only after its Subscription renewed
      // its credentials (SSP-CLIENT-20): its session is gone, so it opens a new one (SSP-CLIENT-25).
      if (this.#lanes.get(lane.spec.id) !== lane && lane.pending.length === 0) return respond(410, SESSION_GONE);
      return this.#take(lane, position, init.signal);
    };
  }

  /** Adds a stream: negotiates the session on first use; `plain` when the server declined. */
  async #open(message: Extract<ClientMessage, { type: 'open' }>, init: Parameters<FetchLike>[1]): Promise<{ plain?: VirtualResponse; lane?: Lane; error?: Json }> {
    const { signal } = init;
    const spec: Spec = { id: (this.#nextId++).toString(36), stream: message.stream, params: message.params ?? {} };
    if (this.mode === undefined) {
      // The first subscription negotiates: an open that asks for the extension.
      let settle!: () => void;
      this.mode = new Promise<void>((resolve) => (settle = resolve));
      try {
        const body = JSON.stringify({ ...message, extensions: [EXTENSION], ext: { [EXTENSION]: { id: spec.id } } });
        const response = await this.fetch(this.endpoint, { ...init, body, signal });
        const text = await response.text();
        const answer = tryJson(text);
        if (response.status === 200 && answer?.type === 'session' && Array.isArray(answer.extensions) && answer.extensions.includes(EXTENSION)) {
          this.mode = 'multiplex';
          this.#sig = answer.sig;
          const lane = new Lane(spec);
          this.#lanes.set(spec.id, lane);
          this.#start();
          return { lane };
        }
        // Declined (or failed): this answer is the subscription's own, and the others go plain.
        if (response.status === 200 && answer?.type === 'session') this.mode = 'plain';
        else this.mode = undefined;
        return { plain: { status: response.status, headers: response.headers, text: async () => text } };
      } catch (error) {
        this.mode = undefined;
        throw error;
      } finally {
        settle();
      }
    }
    if (this.mode instanceof Promise) {
      await this.mode;
      return this.#open(message, init);
    }
    if (this.mode === 'plain') return { plain: await this.fetch(this.endpoint, { ...init, signal }) };
    const outcome = await new Promise<AddOutcome>((resolve) => {
      this.#waitingAdds.set(spec.id, resolve);
      this.#adds.push(spec);
      this.#lanes.set(spec.id, new Lane(spec));
      this.#start();
      this.#nudge();
    });
    if (outcome.ok) return { lane: this.#lanes.get(spec.id)! };
    this.#lanes.delete(spec.id);
    // The poll carrying the addition was refused: the open gets the same answer.
    if ('failure' in outcome) return { plain: outcome.failure };
    return { error: outcome.error };
  }

  /** A virtual poll: this stream's next part, once the lane has one (or an empty batch after a while). */
  async #take(lane: Lane, position: number, signal: AbortSignal): Promise<VirtualResponse> {
    const deadline = Date.now() + VIRTUAL_HOLD_MS;
    while (lane.pending.length === 0 && Date.now() < deadline) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        const onAbort = () => {
          clearTimeout(timer);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        lane.waiter = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
      });
      lane.waiter = undefined;
    }
    const part = lane.pending.shift();
    if (!part) return respond(200, { ssp: 1, type: 'batch', sig: virtualSig(lane.spec.id, position), events: [] });
    if (part.failure) return part.failure;
    if (part.termination) {
      this.#lanes.delete(lane.spec.id);
      // The last stream ended on its own: the session carries nothing more, so it is closed
      // rather than left to expire on the server.
      if (this.#lanes.size === 0) this.#closeSession(false);
      return respond(200, { ssp: 1, type: 'termination', sig: virtualSig(lane.spec.id, part.termination.last), ...part.termination });
    }
    const last = part.events.length > 0 ? part.events[part.events.length - 1].seq : (part.gap?.to ?? position);
    return respond(200, { ssp: 1, type: 'batch', sig: virtualSig(lane.spec.id, Math.max(last, position)), ...(part.gap && { gap: part.gap }), events: part.events });
  }

  /** A virtual close: the stream leaves the session (§23.3 remove); the last one closes it. */
  #remove(lane: Lane, position: number, keepalive: boolean): Json {
    // A stream the session no longer has (it ended with the session) has nothing to remove.
    if (this.#lanes.get(lane.spec.id) === lane) this.#removes.push(lane.spec.id);
    this.#lanes.delete(lane.spec.id);
    if (this.#lanes.size === 0) this.#closeSession(keepalive);
    else this.#nudge();
    return { ssp: 1, type: 'termination', sig: virtualSig(lane.spec.id, position), reason: 'closed', last: position, advice: { action: 'none' } };
  }

  #closeSession(keepalive: boolean): void {
    const sig = this.#sig;
    this.#abort.abort();
    this.#abort = new AbortController();
    this.#loop = undefined;
    this.#sig = undefined;
    this.#adds = [];
    this.#removes = [];
    this.mode = undefined;
    if (sig === undefined) return;
    const signal = new AbortController().signal;
    send(this.fetch, this.endpoint, { ssp: 1, type: 'close', sig }, { signal, timeoutMs: 5_000, keepalive, settings: this.#settings }).catch(() => {});
  }

  #start(): void {
    this.#loop ??= this.#run(this.#abort.signal).catch(() => {});
  }

  /** Changes are waiting: supersede the held poll so they travel now (§10: the held one answers empty). */
  #nudge(): void {
    if (this.#loop) this.#generation++;
    this.#wake?.();
  }

  #wake: (() => void) | undefined;

  async #run(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    let restate = false;
    while (!signal.aborted && this.#lanes.size > 0) {
      const generation = this.#generation;
      const adds = this.#adds.splice(0);
      const removes = this.#removes.splice(0);
      const ext: Json = {};
      if (adds.length > 0) ext.add = adds;
      if (removes.length > 0) ext.remove = removes;
      if (restate) ext.restate = [...this.#lanes.values()].map((lane) => lane.spec);
      const message = { ssp: 1, type: 'poll', sig: this.#sig!, ...(Object.keys(ext).length > 0 && { ext: { [EXTENSION]: ext } }) } as ClientMessage;
      // A poll superseded by changes is abandoned (its answer would be an empty batch).
      const superseded = new AbortController();
      this.#wake = () => superseded.abort();
      let answer: Answer;
      let sentAt = Date.now();
      // The answer as received, for the streams to handle themselves if it ends the session.
      let received: VirtualResponse | undefined;
      const recording: FetchLike = async (url, init) => {
        const response = await this.fetch(url, init);
        const text = await response.text();
        return (received = { status: response.status, headers: response.headers, text: async () => text });
      };
      try {
        const onSend = () => (sentAt = Date.now());
        answer = await send(recording, this.endpoint, message, { signal: AbortSignal.any([signal, superseded.signal]), timeoutMs: 45_000, settings: this.#settings, onSend });
        // SSP-CLIENT-19: an invalid part makes the answer a failed request, before its signature is taken.
        const problem = multiplexPartsProblem(answer);
        if (problem !== undefined) throw new SspProtocolError(`HTTP 200: ${problem}`, 200, true);
        attempt = 0;
        restate = false;
      } catch (error) {
        if (signal.aborted) return;
        // Changes not sent go out with the next poll.
        if (superseded.signal.aborted || generation !== this.#generation) {
          this.#adds.unshift(...adds);
          this.#removes.unshift(...removes);
          continue;
        }
        this.#adds.unshift(...adds);
        this.#removes.unshift(...removes);
        if (error instanceof SspServerError && error.code === 'session-expired' && (error.body as Json).ext?.[EXTENSION]?.restate && !restate) {
          restate = true;
          continue;
        }
        if (error instanceof SspError && error.retryable && attempt < defaultRetryOptions.maxAttempts) {
          attempt++;
          await sleep(retryDelayMs(attempt, error.retryAfterMs, defaultRetryOptions, Math.random), signal).catch(() => {});
          continue;
        }
        // SSP-CLIENT-12: a refusal that is not retryable is not repeated, and each stream's
        // Subscription gets the answer to report (or, for a 401, to renew its credentials).
        if (error instanceof SspError && !error.retryable && received !== undefined && !sessionLost(error)) {
          const failure = received;
          this.#endAll((lane) => ({ id: lane.spec.id, events: [], failure }), failure);
          return;
        }
        // The session is lost (SSP-CLIENT-25), or still failing after every retry: every stream
        // ends as expired, and its Subscription reopens.
        this.#endAll((lane) => ({ id: lane.spec.id, events: [], termination: { reason: 'expired', last: 0, advice: { action: 'reopen' } } }));
        return;
      } finally {
        this.#wake = undefined;
      }
      this.#apply(answer as Json);
      // SSP-CLIENT-9: after an empty batch, the next poll waits until 1 s after this one was sent.
      if (isEmptyBatch(answer as Json)) await sleep(sentAt + 1000 - Date.now(), signal).catch(() => {});
      if (answer.type === 'termination') {
        const advice = (answer as Json).advice as { action: string; delayMs?: number };
        if (advice.action === 'resume') {
          await sleep(Math.max(advice.delayMs ?? 0, 1000), signal).catch(() => {});
          continue;
        }
        const end = { reason: answer.reason, last: 0, advice: advice.action === 'none' ? { action: 'reopen' } : advice };
        this.#endAll((lane) => ({ id: lane.spec.id, events: [], termination: end }));
        return;
      }
    }
  }

  /** Hands each stream its part, and settles additions. */
  #apply(answer: Json): void {
    if (typeof answer.sig === 'string') this.#sig = answer.sig;
    const mux = answer.ext?.[EXTENSION] ?? {};
    for (const id of (mux.added ?? []) as string[]) this.#settleAdd(id, { ok: true });
    for (const refusal of (mux.refused ?? []) as Array<{ id: string; error: Json }>) this.#settleAdd(refusal.id, { ok: false, error: refusal.error });
    for (const part of (mux.streams ?? []) as Part[]) this.#lanes.get(part.id)?.push(part);
  }

  #settleAdd(id: string, outcome: AddOutcome): void {
    const settle = this.#waitingAdds.get(id);
    this.#waitingAdds.delete(id);
    settle?.(outcome);
  }

  /**
   * The whole session ended: each stream gets its last part (a termination or the failed
   * answer), which its Subscription acts on; an addition still waiting is refused as
   * `unavailable` (its open is repeated, into a new session) or gets the failed answer.
   */
  #endAll(lastPart: (lane: Lane) => Part, failure?: VirtualResponse): void {
    const refusal: AddOutcome = failure ? { ok: false, failure } : { ok: false, error: { code: 'unavailable', message: 'the shared session ended', retryable: true } };
    for (const [, settle] of this.#waitingAdds) settle(refusal);
    this.#waitingAdds.clear();
    for (const lane of this.#lanes.values()) lane.push(lastPart(lane));
    this.#lanes.clear();
    this.#loop = undefined;
    this.#sig = undefined;
    this.mode = undefined;
  }
}

/** A batch that carries nothing: no events, no stream parts, no settled additions. */
function isEmptyBatch(answer: Json): boolean {
  const mux = answer.ext?.[EXTENSION] ?? {};
  return answer.type === 'batch' && answer.events.length === 0 && !answer.gap && !(mux.streams?.length > 0) && !(mux.added?.length > 0) && !(mux.refused?.length > 0);
}

function virtualSig(id: string, position: number): string {
  return `xmux.${id}.${position}.`.padEnd(16, '0');
}

function tryJson(text: string): Json | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}

const hubs = new WeakMap<FetchLike, Map<string, Hub>>();

/**
 * The fetch a Subscription to `endpoint` uses: a virtual one that shares the endpoint's
 * multiplexed session with the page's (or process's) other subscriptions.
 */
export function multiplexedFetch(fetch: FetchLike, endpoint: string): FetchLike {
  let byEndpoint = hubs.get(fetch);
  if (!byEndpoint) hubs.set(fetch, (byEndpoint = new Map()));
  let hub = byEndpoint.get(endpoint);
  if (!hub) byEndpoint.set(endpoint, (hub = new Hub(fetch, endpoint)));
  return hub.virtualFetch();
}

export type { ServerMessage };
