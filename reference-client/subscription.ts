// One subscription to one SSP/1 stream: open, then keep exactly one poll outstanding,
// always sending the newest signature (§8), until a termination without further advice
// (§12), a typed error, or close().
import type { BatchMessage, ClientMessage, SspEvent, StreamParams, TerminationMessage } from '../schemas/types.gen.ts';
import { SspAbortedError, SspError, SspGapError, SspProtocolError, SspTerminationError } from './errors.ts';
import { EventQueue } from './event-queue.ts';
import { defaultRetryOptions, retryDelayMs } from './retry.ts';
import type { RetryOptions } from './retry.ts';
import { sleep } from './sleep.ts';
import { send } from './transport.ts';
import type { Answer, FetchLike } from './transport.ts';

export interface SubscribeOptions {
  /** `hold` sent with each poll; absent lets the server use its `limits.maxHoldMs`. */
  holdMs?: number;
  /** Backoff for network failures, 5xx, malformed answers and retryable error codes. */
  retry?: Partial<RetryOptions>;
  /** Least time from sending a poll to sending the next one when it brought no new event. Default 1000 (SSP-CLIENT-9). */
  minPollIntervalMs?: number;
  /** A request with no complete answer after this long is abandoned and retried. Default: hold (or 25 000) + 15 000. */
  requestTimeoutMs?: number;
  /** How long close() waits for the server to confirm. Default 5 000. */
  closeTimeoutMs?: number;
  /** The async iterator stops polling while this many events wait unread. Default 100. */
  highWaterMark?: number;
  /** 'fail' (default): a gap ends the subscription with SspGapError. 'continue': report it on 'gap' and go on. */
  gaps?: 'fail' | 'continue';
  /** Aborting it closes the subscription. */
  signal?: AbortSignal;
  /** Source of jitter in [0, 1). Default Math.random. */
  random?: () => number;
  /**
   * Share one session with the other subscriptions to this endpoint when the server offers the
   * `multiplex` extension (spec §23; one held poll for all). Default true; plain sessions otherwise.
   */
  multiplex?: boolean;
}

/** The server advised `reopen` (§12): a new session of the same stream follows; its seq restarts at 1 and events may repeat or be lost across it. */
export interface ReopenedNotice {
  code: 'reopened';
  termination: TerminationMessage;
  /** lastSeq of the session that ended. */
  lastSeq: number;
}

/** A request failed in a retryable way and will be sent again after `delayMs`. */
export interface RetryNotice {
  code: 'retry';
  attempt: number;
  delayMs: number;
  error: SspError;
}

export interface SubscriptionEventMap {
  /** Each event exactly once, in seq order. */
  event: SspEvent;
  /** Events that will never arrive; with gaps 'fail' an 'error' follows. */
  gap: SspGapError;
  /** The final termination. */
  termination: TerminationMessage;
  /** The subscription failed and has stopped. */
  error: SspError;
  reopened: ReopenedNotice;
  retry: RetryNotice;
}

type Listener<K extends keyof SubscriptionEventMap> = (value: SubscriptionEventMap[K]) => void;
type Outcome = { termination: TerminationMessage } | { error: SspError };

export class Subscription implements AsyncIterable<SspEvent> {
  readonly endpoint: string;
  readonly stream: string;
  readonly params: StreamParams;
  /** Resolves with the final termination; rejects with the typed error that ended the subscription. */
  readonly termination: Promise<TerminationMessage>;

  #fetch: FetchLike;
  #options: Required<Omit<SubscribeOptions, 'holdMs' | 'signal' | 'retry' | 'multiplex'>> & { holdMs?: number; retry: RetryOptions };
  #sig: string | undefined;
  #lastSeq = 0;
  #listeners = new Map<keyof SubscriptionEventMap, Set<(value: never) => void>>();
  #abort = new AbortController();
  #queue: EventQueue<SspEvent> | undefined;
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
    this.#options = {
      holdMs: options.holdMs,
      retry: { ...defaultRetryOptions, ...options.retry },
      // SSP-CLIENT-9: after an empty batch, no poll earlier than 1 s after the answered one was sent.
      minPollIntervalMs: options.minPollIntervalMs ?? 1_000,
      // §5: servers SHOULD hold at most 25 s; the margin covers a slow network and batchDelayMs.
      requestTimeoutMs: options.requestTimeoutMs ?? (options.holdMs ?? 25_000) + 15_000,
      closeTimeoutMs: options.closeTimeoutMs ?? 5_000,
      highWaterMark: options.highWaterMark ?? 100,
      gaps: options.gaps ?? 'fail',
      random: options.random ?? Math.random,
    };
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

  /** seq of the newest event delivered to the application (0 before any). */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Calls `listener` for each notification of `type`; returns a function that removes it. */
  on<K extends keyof SubscriptionEventMap>(type: K, listener: Listener<K>): () => void {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    set.add(listener as (value: never) => void);
    return () => set.delete(listener as (value: never) => void);
  }

  /**
   * Aborts the outstanding poll and sends `close` with the newest signature (§12); resolves when done.
   * `keepalive: true` is for a page that is going away (`pagehide`): the close request starts
   * before close() returns and is sent with fetch's `keepalive`, so it outlives the page.
   */
  close(options: { keepalive?: boolean } = {}): Promise<void> {
    this.#closing ??= this.#shutdown(options.keepalive === true);
    return this.#closing;
  }

  /**
   * The events, each once and in order. Ends after a `complete` or `closed` termination; throws
   * the typed error (or SspTerminationError) otherwise. Breaking out of the loop closes the
   * subscription. Start iterating before the first event arrives (right after subscribe()):
   * events are buffered for the iterator only once it exists, so a late start throws rather
   * than silently missing some.
   */
  [Symbol.asyncIterator](): AsyncIterator<SspEvent> {
    if (this.#queue) throw new TypeError('a Subscription can be iterated only once');
    if (this.#delivered) throw new TypeError('events were delivered before iteration started: iterate right after subscribe()');
    const queue = (this.#queue = new EventQueue<SspEvent>(this.#options.highWaterMark));
    if (this.#outcome) this.#endQueue(this.#outcome);
    return {
      next: () => queue.next(),
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }

  async #run(): Promise<void> {
    try {
      for (;;) {
        this.#abort.signal.throwIfAborted(); // a listener may have called close()
        if (this.#sig === undefined) await this.#open();
        else if (await this.#poll()) return;
      }
    } catch (error) {
      if (this.#abort.signal.aborted) return; // close() settles the subscription
      const failure = error instanceof SspError ? error : new SspAbortedError('client failure', error);
      this.#finish({ error: failure });
      // A gap or a skipped event ends a session the server still holds: free it (§12 close).
      if (failure instanceof SspGapError || failure instanceof SspProtocolError) await this.#sendClose().catch(() => {});
    }
  }

  async #open(): Promise<void> {
    const answer = await this.#request({ ssp: 1, type: 'open', stream: this.stream, params: this.params });
    if (answer.type !== 'session') throw unexpected(answer, 'open');
    this.#sig = answer.sig;
    this.#lastSeq = answer.position;
  }

  /** One poll; true when the subscription has ended. */
  async #poll(): Promise<boolean> {
    const signal = this.#abort.signal;
    // Backpressure: no new poll while the iterator's reader is behind.
    await this.#queue?.room(signal);
    const sentAt = Date.now();
    const hold = this.#options.holdMs;
    const answer = await this.#request({ ssp: 1, type: 'poll', sig: this.#sig!, ...(hold === undefined ? {} : { hold }) });
    if (answer.type === 'session') throw unexpected(answer, 'poll');
    this.#sig = answer.sig;
    if (answer.type === 'termination') return this.#terminated(answer);
    if (this.#deliver(answer) === 0) {
      // An empty (or all-duplicate) batch answered early must not turn into a hot loop.
      const wait = this.#options.minPollIntervalMs - (Date.now() - sentAt);
      if (wait > 0) await sleep(wait, signal);
    }
    return false;
  }

  /** Hands new events to the application; returns how many there were. */
  #deliver(batch: BatchMessage): number {
    let fresh = 0;
    if (batch.gap && batch.gap.to > this.#lastSeq) this.#gap(Math.max(batch.gap.from, this.#lastSeq + 1), batch.gap.to);
    for (const event of batch.events) {
      if (this.#abort.signal.aborted) break; // a listener called close()
      // §9: delivery is at-least-once on the wire; dropping seen seqs makes it exactly-once.
      if (event.seq <= this.#lastSeq) continue;
      // SSP-CLIENT-7: a skip the server did not announce with `gap` is a protocol error.
      if (event.seq > this.#lastSeq + 1) {
        throw new SspProtocolError(`events ${this.#lastSeq + 1}..${event.seq - 1} were skipped without a gap signal`, 200, false);
      }
      this.#lastSeq = event.seq;
      fresh += 1;
      this.#delivered = true;
      this.#emit('event', event);
      this.#queue?.push(event);
    }
    return fresh;
  }

  #gap(from: number, to: number): void {
    const gap = new SspGapError(from, to);
    this.#lastSeq = to;
    this.#emit('gap', gap);
    if (this.#options.gaps === 'fail') throw gap;
  }

  /** §12: follow the termination's advice; true when the subscription has ended. */
  async #terminated(termination: TerminationMessage): Promise<boolean> {
    const { action, delayMs = 0 } = termination.advice;
    if (action === 'none') {
      // A complete stream whose last seq we never saw lost events without a gap signal.
      if (termination.reason === 'complete' && termination.last > this.#lastSeq) this.#gap(this.#lastSeq + 1, termination.last);
      this.#finish({ termination });
      return true;
    }
    if (action === 'reopen') {
      const notice: ReopenedNotice = { code: 'reopened', termination, lastSeq: this.#lastSeq };
      this.#sig = undefined;
      this.#lastSeq = 0;
      this.#emit('reopened', notice);
    }
    // 'resume' polls again with termination.sig (already the newest signature).
    await sleep(Math.max(delayMs, this.#options.minPollIntervalMs), this.#abort.signal);
    return false;
  }

  /** Sends `message` (built once: a retry carries the same, newest signature), retrying transient failures. */
  async #request(message: ClientMessage): Promise<Answer> {
    const { retry, random, requestTimeoutMs } = this.#options;
    const signal = this.#abort.signal;
    const started = Date.now();
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await send(this.#fetch, this.endpoint, message, { signal, timeoutMs: requestTimeoutMs });
      } catch (error) {
        if (!(error instanceof SspError) || !error.retryable || attempt > retry.maxAttempts) throw error;
        const delayMs = retryDelayMs(attempt, error.retryAfterMs, retry, random);
        if (Date.now() - started + delayMs > retry.maxElapsedMs) throw error;
        this.#emit('retry', { code: 'retry', attempt, delayMs, error });
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

  /** One `close` request with the newest signature; not retried (close must be quick). */
  async #sendClose(keepalive = false): Promise<TerminationMessage> {
    const answer = await send(
      this.#fetch,
      this.endpoint,
      { ssp: 1, type: 'close', sig: this.#sig! },
      { signal: new AbortController().signal, timeoutMs: this.#options.closeTimeoutMs, keepalive },
    );
    if (answer.type !== 'termination') throw unexpected(answer, 'close');
    this.#sig = answer.sig;
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
    for (const listener of this.#listeners.get(type) ?? []) {
      try {
        (listener as Listener<K>)(value);
      } catch (error) {
        // Like EventTarget: a throwing listener is reported, and neither stops the others nor the stream.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

function unexpected(answer: Answer, request: string): SspProtocolError {
  return new SspProtocolError(`a ${answer.type} message does not answer ${request}`, 200, false);
}
