// One subscription to one SSP/1 stream (§16): open, then keep exactly one poll outstanding,
// always sending the newest signature, until a termination without further advice (§12), a
// typed error, or close(). A subscription spans the sessions that `reopen` advice or a lost
// session create for it; each new session is reported as a stream restart (SSP-CLIENT-29).
import type { BatchMessage, ClientMessage, SspEvent, StreamParams, TerminationMessage } from '../schemas/types.gen.ts';
import { readLimits } from './discovery.ts';
import type { KnownLimits } from './discovery.ts';
import { SspAbortedError, SspAuthError, SspError, SspGapError, SspProtocolError, SspServerError, SspTerminationError } from './errors.ts';
import { EventQueue } from './event-queue.ts';
import { Listeners } from './listeners.ts';
import type { Listener } from './listeners.ts';
import { retryDelayMs } from './retry.ts';
import { sleep } from './sleep.ts';
import { requestSettings, subscriptionSettings } from './subscription-settings.ts';
import type { Settings } from './subscription-settings.ts';
import { send } from './transport.ts';
import type { Answer, FetchLike, RequestSettings } from './transport.ts';
import type {
  StreamRestartNotice,
  SubscribeOptions,
  SubscriptionEventMap,
  SubscriptionItem,
} from './subscription-types.ts';

export type * from './subscription-types.ts';

type Outcome = { termination: TerminationMessage } | { error: SspError };
const actions = new Set(['none', 'resume', 'reopen']);
// Sent as `hold` when the server's maximum is unknown (SSP-CLIENT-27): the §5 recommended maximum.
const defaultHoldMs = 25_000;

export class Subscription implements AsyncIterable<SspEvent> {
  readonly endpoint: string;
  readonly stream: string;
  readonly params: StreamParams;
  /** Resolves with the final termination; rejects with the typed error that ended the subscription. */
  readonly termination: Promise<TerminationMessage>;

  #fetch: FetchLike;
  #options: Settings;
  #request: RequestSettings;
  #limits: KnownLimits | undefined;
  #sig: string | undefined;
  /** Position of #sig (§16 "position of a signature"): newest is decided by position, never by arrival. */
  #sigPosition = 0;
  #lastSeq = 0;
  #sessions = 0;
  /** n of SSP-CLIENT-17: consecutive failed requests. */
  #failures = 0;
  #failingSince = 0;
  /** r of SSP-CLIENT-24: consecutive resume/reopen/new sessions without an accepted event. */
  #restarts = 0;
  #listeners = new Listeners<SubscriptionEventMap>();
  #abort = new AbortController();
  #queue: EventQueue<SubscriptionItem> | undefined;
  #delivered = false;
  #outcome: Outcome | undefined;
  #settle!: (outcome: Outcome) => void;
  #loop: Promise<void>;
  #closing: Promise<void> | undefined;
  #detachSignal: () => void = () => {};

  constructor(fetch: FetchLike, endpoint: string, stream: string, params: StreamParams, options: SubscribeOptions) {
    this.endpoint = endpoint;
    this.stream = stream;
    this.params = params;
    this.#fetch = fetch;
    this.#options = subscriptionSettings(options);
    this.#request = requestSettings(options);
    this.termination = new Promise((resolve, reject) => {
      this.#settle = (outcome) => ('error' in outcome ? reject(outcome.error) : resolve(outcome.termination));
    });
    // Nobody has to await `termination`: errors also reach 'error' listeners and the iterator.
    this.termination.catch(() => {});
    this.#loop = this.#run();
    const signal = options.signal;
    if (signal) {
      const onAbort = () => void this.close();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#detachSignal = () => signal.removeEventListener('abort', onAbort);
      if (signal.aborted) onAbort();
    }
  }

  /** The newest signature received (sent back on every poll and on close). */
  get signature(): string | undefined {
    return this.#sig;
  }

  /** seq of the newest event delivered to the application from the current session (0 before any). */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Calls `listener` for each notification of `type`; returns a function that removes it. */
  on<K extends keyof SubscriptionEventMap>(type: K, listener: Listener<SubscriptionEventMap[K]>): () => void {
    return this.#listeners.on(type, listener);
  }

  /**
   * Aborts the outstanding poll and sends `close` with the newest signature (§13); resolves when done.
   * The termination answering the close is the one reported (SSP-CLIENT-30). `keepalive: true` is
   * for a page that is going away (`pagehide`): the close request starts before close() returns
   * and is sent with fetch's `keepalive`, so it outlives the page.
   */
  close(options: { keepalive?: boolean } = {}): Promise<void> {
    this.#closing ??= this.#shutdown(options.keepalive === true);
    return this.#closing;
  }

  /**
   * The events, each once and in order. Ends after a `complete` or `closed` termination; throws
   * the typed error (or SspTerminationError) otherwise. Breaking out of the loop closes the
   * subscription. Across a stream restart seq starts again at 1: use items() or on('restart')
   * to see restarts. Start iterating right after subscribe(): a late start throws rather than
   * silently missing events.
   */
  [Symbol.asyncIterator](): AsyncIterator<SspEvent> {
    const items = this.items()[Symbol.asyncIterator]();
    return {
      next: async () => {
        for (;;) {
          const result = await items.next();
          if (result.done) return result;
          if (result.value.kind === 'event') return { value: result.value.event, done: false };
        }
      },
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }

  /** Like iterating the subscription, but also yields the gaps and stream restarts reported, in order. */
  items(): AsyncIterable<SubscriptionItem> {
    if (this.#queue) throw new TypeError('a Subscription can be iterated only once');
    if (this.#delivered) throw new TypeError('events were delivered before iteration started: iterate right after subscribe()');
    const queue = (this.#queue = new EventQueue<SubscriptionItem>(this.#options.highWaterMark));
    if (this.#outcome) this.#endQueue(this.#outcome);
    const iterator: AsyncIterator<SubscriptionItem> = {
      next: () => queue.next(),
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
    return { [Symbol.asyncIterator]: () => iterator };
  }

  async #run(): Promise<void> {
    try {
      if (this.#options.discovery) {
        const { requestTimeoutMs } = this.#options;
        this.#limits = await readLimits(this.#fetch, this.endpoint, this.#request, this.#abort.signal, requestTimeoutMs);
      }
      for (;;) {
        this.#abort.signal.throwIfAborted(); // a listener may have called close()
        if (this.#sig === undefined) await this.#open();
        else if (await this.#poll()) return;
      }
    } catch (error) {
      if (this.#abort.signal.aborted) return; // close() settles the subscription
      const failure = error instanceof SspError ? error : new SspAbortedError('client failure', error);
      this.#finish({ error: failure });
      // A gap or a skip ends a session the server still holds: free it (SSP-CLIENT-14, -16).
      if (failure instanceof SspGapError || (failure instanceof SspProtocolError && this.#sig !== undefined)) await this.#sendClose().catch(() => {});
    }
  }

  async #open(): Promise<void> {
    const answer = await this.#send({ ssp: 1, type: 'open', stream: this.stream, params: this.params }, this.#options.requestTimeoutMs);
    if (answer.type !== 'session') throw new TypeError('unreachable: send() checks the answer type');
    this.#sessions += 1;
    this.#sig = answer.sig;
    this.#sigPosition = answer.position;
    this.#lastSeq = answer.position;
  }

  /** One poll; true when the subscription has ended. */
  async #poll(): Promise<boolean> {
    const signal = this.#abort.signal;
    // Backpressure: no new poll while the iterator's reader is behind.
    await this.#queue?.room(signal);
    // When the answered poll was sent: its last attempt, as it went to fetch (SSP-CLIENT-9).
    let sentAt = Date.now();
    const position = this.#sigPosition;
    const maxHold = this.#limits?.maxHoldMs;
    // SSP-CLIENT-27: without the server's maximum, the client bounds the hold itself.
    const hold = this.#options.holdMs ?? (maxHold === undefined ? defaultHoldMs : undefined);
    // SSP-CLIENT-26: never give up before the effective hold plus batchDelayMs have passed.
    const effectiveHold = Math.min(hold ?? Number.POSITIVE_INFINITY, maxHold ?? Number.POSITIVE_INFINITY);
    const deadline = effectiveHold + (this.#limits?.batchDelayMs ?? 0) + this.#options.requestTimeoutMs;
    let answer: Answer;
    try {
      answer = await this.#send({ ssp: 1, type: 'poll', sig: this.#sig!, ...(hold === undefined ? {} : { hold }) }, deadline, () => (sentAt = Date.now()));
    } catch (error) {
      // SSP-CLIENT-25: the session is gone (expired, or its key is), the subscription is not.
      if (error instanceof SspServerError && (error.code === 'session-expired' || error.code === 'invalid-signature')) {
        await this.#restart({ error }, 'reopen', 0);
        return false;
      }
      throw error;
    }
    if (answer.type === 'termination') {
      this.#adopt(answer.sig, answer.reason === 'shutdown' ? position : answer.last);
      return this.#terminated(answer);
    }
    if (answer.type !== 'batch') throw new TypeError('unreachable: send() checks the answer type');
    const last = answer.events.at(-1);
    this.#adopt(answer.sig, last ? last.seq : (answer.gap?.to ?? position));
    if (this.#deliver(answer) === 0) {
      // An empty (or all-duplicate) batch answered early must not turn into a hot loop.
      const wait = this.#options.minPollIntervalMs - (Date.now() - sentAt);
      if (wait > 0) await sleep(wait, signal);
    }
    return false;
  }

  /** §16 "newest signature": the highest position wins, the later arrival among equals; a late answer never rewinds. */
  #adopt(sig: string, position: number): void {
    if (position < this.#sigPosition) return;
    this.#sig = sig;
    this.#sigPosition = position;
  }

  /** Hands new events to the application; returns how many there were. */
  #deliver(batch: BatchMessage): number {
    const next = this.#lastSeq + 1;
    const gap = batch.gap;
    // SSP-CLIENT-15: only the part of a gap after what the client has is lost; a gap behind it is old news.
    if (gap && gap.to >= next) {
      if (gap.from > next) throw skipped(next, gap.from - 1);
      this.#gap(next > gap.from ? next : gap.from, gap.to);
    }
    let fresh = 0;
    for (const event of batch.events) {
      if (this.#abort.signal.aborted) break; // close() was called: nothing after it (SSP-CLIENT-30)
      // SSP-CLIENT-5: delivery is at-least-once on the wire; dropping seen seqs makes it exactly-once.
      if (event.seq <= this.#lastSeq) continue;
      // SSP-CLIENT-7: a skip the server did not announce with `gap` is a protocol error.
      if (event.seq > this.#lastSeq + 1) throw skipped(this.#lastSeq + 1, event.seq - 1);
      this.#lastSeq = event.seq;
      this.#restarts = 0;
      fresh += 1;
      this.#delivered = true;
      this.#emit('event', event);
      this.#queue?.push({ kind: 'event', event });
    }
    return fresh;
  }

  #gap(from: number, to: number): void {
    const gap = new SspGapError(from, to);
    this.#lastSeq = to;
    this.#emit('gap', gap);
    this.#queue?.push({ kind: 'gap', gap });
    if (this.#options.gaps === 'fail') throw gap;
  }

  /** §12: follow the termination's advice; true when the subscription has ended. */
  async #terminated(termination: TerminationMessage): Promise<boolean> {
    const { delayMs = 0 } = termination.advice;
    // SSP-CLIENT-23: an unknown action is `none`; an unknown reason keeps its advice, like `error`.
    const action = actions.has(termination.advice.action) ? termination.advice.action : 'none';
    if (action === 'none') {
      // A complete stream whose last seq we never saw lost events without a gap signal.
      if (termination.reason === 'complete' && termination.last > this.#lastSeq) this.#gap(this.#lastSeq + 1, termination.last);
      this.#finish({ termination });
      return true;
    }
    if (action === 'reopen') return this.#restart({ termination }, 'reopen', delayMs);
    return this.#restart({ termination }, 'resume', delayMs);
  }

  /**
   * SSP-CLIENT-24: resume, reopen, or a new session after a lost one, waiting at least the advised
   * delay and a backoff that grows while such advice brings no event. False: the subscription goes on.
   */
  async #restart(cause: StreamRestartNotice['cause'], action: 'resume' | 'reopen', delayMs: number): Promise<boolean> {
    const { retry, random, minPollIntervalMs } = this.#options;
    this.#restarts += 1;
    if (this.#restarts > retry.maxAttempts) {
      // Advice that never brings an event: give up with what the server last said.
      this.#finish('termination' in cause ? { termination: cause.termination } : { error: cause.error });
      return true;
    }
    // A resumed session is live: its wait is capped like a retry's (SSP-CLIENT-17) so that it does not expire.
    const cap = action === 'resume' ? this.#liveCapMs() : Number.POSITIVE_INFINITY;
    const wait = Math.max(delayMs, minPollIntervalMs, retryDelayMs(this.#restarts, undefined, retry, random, cap));
    if (action === 'reopen') {
      // SSP-CLIENT-29: the restart is reported before any event of the new session.
      const restart: StreamRestartNotice = { code: 'restart', cause, lastSeq: this.#lastSeq, sessions: this.#sessions };
      this.#sig = undefined;
      this.#sigPosition = 0;
      this.#lastSeq = 0;
      this.#emit('restart', restart);
      if ('termination' in cause) this.#emit('reopened', { code: 'reopened', termination: cause.termination, lastSeq: restart.lastSeq });
      this.#queue?.push({ kind: 'restart', restart });
    }
    await sleep(wait, this.#abort.signal);
    return false;
  }

  /** SSP-CLIENT-17's cap for a live session: half the idle lifetime, 1 s when it is unknown. */
  #liveCapMs(): number {
    const idle = this.#limits?.idleTimeoutMs;
    return idle === undefined ? 1_000 : idle / 2;
  }

  /** Sends `message` (built once: a retry carries the same, newest signature), repeating failed requests (SSP-CLIENT-17/18). */
  async #send(message: ClientMessage, timeoutMs: number, onSend?: () => void): Promise<Answer> {
    const { retry, random } = this.#options;
    const signal = this.#abort.signal;
    for (;;) {
      try {
        const answer = await send(this.#fetch, this.endpoint, message, { signal, timeoutMs, settings: this.#request, ...(onSend && { onSend }) });
        this.#failures = 0;
        return answer;
      } catch (error) {
        // SSP-CLIENT-20: an authorization failure is repeated only with credentials the application renewed.
        const renewed = error instanceof SspAuthError && (await this.#options.renewCredentials?.(error)) === true;
        if (!(error instanceof SspError) || !(error.retryable || renewed)) throw error;
        signal.throwIfAborted();
        const now = Date.now();
        this.#failures += 1;
        if (this.#failures === 1) this.#failingSince = now;
        const cap = message.type === 'open' ? Number.POSITIVE_INFINITY : this.#liveCapMs();
        const delayMs = retryDelayMs(this.#failures, error.retryAfterMs, retry, random, cap);
        if (this.#failures > retry.maxAttempts || now - this.#failingSince + delayMs > retry.maxElapsedMs) throw error;
        this.#emit('retry', { code: 'retry', attempt: this.#failures, delayMs, error });
        await sleep(delayMs, signal);
      }
    }
  }

  async #shutdown(keepalive: boolean): Promise<void> {
    this.#abort.abort(new SspAbortedError('subscription closed'));
    // A page that is going away may run nothing after its pagehide handler returns, so the close
    // starts now. Called from an event handler, no answer is half-processed: #sig is the newest.
    const early = keepalive && !this.#outcome && this.#sig !== undefined ? this.#confirmClose(true) : undefined;
    await this.#loop;
    if (this.#outcome) return;
    if (this.#sig === undefined) {
      this.#finish({ error: new SspAbortedError('closed before the server opened a session') });
      return;
    }
    this.#finish(await (early ?? this.#confirmClose(false)));
  }

  /** The outcome of close(): the server's termination, or why it could not be confirmed. */
  #confirmClose(keepalive: boolean): Promise<Outcome> {
    return this.#sendClose(keepalive).then(
      (termination) => ({ termination }),
      (error) => ({ error: new SspAbortedError(`close was not confirmed by the server (${String(error)})`, error) }),
    );
  }

  /** One `close` request with the newest signature; not repeated (close must be quick; the session would expire anyway). */
  async #sendClose(keepalive = false): Promise<TerminationMessage> {
    const message: ClientMessage = { ssp: 1, type: 'close', sig: this.#sig! };
    const options = { signal: new AbortController().signal, timeoutMs: this.#options.closeTimeoutMs, keepalive, settings: this.#request };
    const answer = await send(this.#fetch, this.endpoint, message, options);
    if (answer.type !== 'termination') throw new TypeError('unreachable: send() checks the answer type');
    this.#adopt(answer.sig, answer.last);
    return answer;
  }

  #finish(outcome: Outcome): void {
    if (this.#outcome) return;
    this.#outcome = outcome;
    this.#detachSignal();
    if ('error' in outcome) {
      // A close() that could not be confirmed is the application's own doing, not news to report.
      if (!(outcome.error instanceof SspAbortedError)) this.#emit('error', outcome.error);
    } else {
      this.#emit('termination', outcome.termination);
    }
    this.#settle(outcome);
    this.#endQueue(outcome);
  }

  #endQueue(outcome: Outcome): void {
    if (!this.#queue) return;
    if (this.#closing) this.#queue.end();
    else if ('error' in outcome) this.#queue.fail(outcome.error);
    else if (outcome.termination.reason === 'complete' || outcome.termination.reason === 'closed') this.#queue.end();
    else this.#queue.fail(new SspTerminationError(outcome.termination));
  }

  #emit<K extends keyof SubscriptionEventMap>(type: K, value: SubscriptionEventMap[K]): void {
    this.#listeners.emit(type, value);
  }
}

function skipped(from: number, to: number): SspProtocolError {
  const which = from === to ? `event ${from} was` : `events ${from}..${to} were`;
  return new SspProtocolError(`${which} skipped without a gap signal`, 200, false);
}

