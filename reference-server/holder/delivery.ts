// The delivery path (§5, §6): a poll of a known session is answered at once with what its
// channel has after the poll's position, or held; a held poll is answered when the channel
// changes (after batchDelayMs, or with every session woken by the same burst of appends),
// when a newer poll supersedes it, or with an empty batch when its hold passes.
import type { Channel, EventLog, ReadResult, StoredEvent } from '../event-log/types.ts';
import { digits, isPromise } from '../event-log/types.ts';
import type { Limits } from '../limits.ts';
import type { Signer } from '../signature.ts';
import type { HeldPolls } from './held-polls.ts';
import { sendError } from './http.ts';
import { readFailed } from './session-wait.ts';
import type { SspResponse } from './http.ts';
import { batchBody, batchEnvelopeBytes } from './messages.ts';
import { Poll } from './poll.ts';
import type { PollEvents } from './poll.ts';
import { signSession } from './session.ts';
import type { Session } from './session.ts';
import { EventsText, eventsJson } from './events-text.ts';
import type { SessionEndings } from './session-endings.ts';
import type { SessionTable } from './session-table.ts';
import type { TerminationMemory } from './termination-memory.ts';
import type { TimerWheel } from './timer-wheel.ts';

export interface DeliveryOptions {
  limits: Limits;
  signer: Signer;
  log: EventLog;
  wheel: TimerWheel;
  /** retryAfterMs of `unavailable` when an asynchronous log fails to read: the held poll's answer does not pass the endpoint (SSP-LIFETIME-7, ./session-wait.ts). */
  sessionRetryMs: number;
  table: SessionTable;
  held: HeldPolls;
  endings: SessionEndings;
  memory: TerminationMemory;
}

export class Delivery implements PollEvents {
  readonly #o: DeliveryOptions;
  /** Sessions woken since the last flush (batchDelayMs 0): one setImmediate flushes them all. */
  #due: Session[] = [];
  readonly #flushDue = () => this.#flushAll();
  /** Per topic channel: the events' text of its cursors at its current head. */
  readonly #texts = new WeakMap<Channel, EventsText>();

  constructor(options: DeliveryOptions) {
    this.#o = options;
  }

  /** A poll of `session` at `position`: answered now, or held until events, the end of the stream or the hold. */
  poll(session: Session, position: number, sigLength: number, hold: number | undefined, res: SspResponse, origin: string | undefined): void | Promise<void> {
    const { limits } = this.#o;
    session.lastActive = Date.now();
    this.#o.log.sessions?.touchSession(session.key.sessionId, limits.idleTimeoutMs + limits.maxHoldMs, position);
    const poll = new Poll(session, this, res, origin, position, sigLength);
    const held = session.held;
    session.channel.acknowledge(session.base + position);
    // SSP-HOLD-11: an older signature finds events or a gap after its position and is answered
    // at once, leaving the owner's held poll alone.
    if (held && position < held.position) {
      const early = this.#ready(session, poll);
      if (isPromise(early)) return early.then((text) => (text !== undefined ? poll.send(text) : this.#supersede(session, poll, hold)));
      if (early !== undefined) return poll.send(early);
    }
    return this.#supersede(session, poll, hold);
  }

  /** SSP-HOLD-10: a poll at the same or a later position supersedes the held one, which gets an empty batch at its own position. */
  #supersede(session: Session, poll: Poll, hold: number | undefined): void | Promise<void> {
    poll.turn = ++session.polls;
    if (session.held) this.answerEmpty(session, session.held);
    const body = this.#ready(session, poll);
    if (isPromise(body)) return body.then((text) => this.#afterRead(session, poll, text, hold));
    this.#afterRead(session, poll, body, hold);
  }

  /** Answers the poll with what the read found, or holds it. */
  #afterRead(session: Session, poll: Poll, body: string | undefined, hold: number | undefined): void {
    // An asynchronous read gives way to what happened meanwhile: the session ended (its
    // termination went to the held poll, or is remembered) or a newer poll superseded this one.
    if (!this.#o.table.holds(session)) return poll.send(this.#o.memory.body(session.key.sessionId) ?? this.#emptyBatch(session, poll));
    if (session.polls !== poll.turn && body === undefined) return poll.send(this.#emptyBatch(session, poll));
    if (body !== undefined) return poll.send(body);
    const { maxHoldMs } = this.#o.limits;
    const effectiveHold = Math.min(hold ?? maxHoldMs, maxHoldMs);
    if (effectiveHold === 0) return poll.send(this.#emptyBatch(session, poll));
    this.#o.held.hold(session, poll, effectiveHold);
  }

  /** The answer a poll can get now, if any: a batch, or the termination at the end of the channel. */
  #ready(session: Session, poll: Poll): string | undefined | Promise<string | undefined> {
    const { channel, base } = session;
    const { maxBatchEvents, maxBatchBytes } = this.#o.limits;
    const head = channel.head - base;
    // The new signature may be longer than the poll's: position digits grow (base64: ×4/3).
    const envelope = batchEnvelopeBytes(poll.sigLength + 2 * digits(head), head);
    const read = channel.read(base + poll.position, { maxEvents: maxBatchEvents, maxBytes: maxBatchBytes - envelope, base });
    return isPromise(read) ? read.then((result) => this.#answer(session, poll, result)) : this.#answer(session, poll, read);
  }

  #answer(session: Session, poll: Poll, { events, gap }: ReadResult): string | undefined {
    const { channel, base } = session;
    if (events.length > 0 || gap) {
      const position = (events.length > 0 ? events[events.length - 1].seq : (gap as { to: number }).to) - base;
      return batchBody(this.#sign(session, position), this.#eventsText(session, events), gap && { from: gap.from - base, to: gap.to - base });
    }
    // §7: every remaining event first, then the termination at the end position.
    const ended = channel.ended;
    if (ended && poll.position >= channel.head - base) return this.#o.endings.terminate(session, ended.reason, ended);
    return undefined;
  }

  answerEmpty(session: Session, poll: Poll): void {
    if (session.held === poll) this.#o.held.release(session);
    poll.send(this.#emptyBatch(session, poll));
  }

  /** Empty batch, same position, fresh signature (§6). */
  #emptyBatch(session: Session, poll: Poll): string {
    return batchBody(this.#sign(session, poll.position), '', undefined);
  }

  /** A topic's sessions share their events' text per cursor; a session's own channel has one reader. */
  #eventsText(session: Session, events: readonly StoredEvent[]): string {
    if (events.length === 0) return '';
    const { channel, base } = session;
    if (session.stream.definition.topic === undefined) return eventsJson(events, base);
    let memo = this.#texts.get(channel);
    if (memo === undefined) this.#texts.set(channel, (memo = new EventsText()));
    return memo.of(events, base, channel.head);
  }

  #sign(session: Session, position: number): string {
    return signSession(this.#o.signer, this.#o.limits, session, position);
  }

  /** The held poll's hold passed: an empty batch. */
  expired(session: Session, poll: Poll): void {
    if (session.held === poll) this.answerEmpty(session, poll);
  }

  /** The held poll's client went away: nothing to answer. */
  gone(session: Session, poll: Poll): void {
    if (session.held === poll) this.#o.held.release(session);
  }

  /** The channel changed: answer the held poll, after batchDelayMs to fill the batch (§6). */
  wake(session: Session): void {
    if (!session.held || session.flushPending) return;
    session.flushPending = true;
    const { batchDelayMs } = this.#o.limits;
    // The wheel fires up to one resolution late, so aim that much early to stay within the delay.
    if (batchDelayMs > 0 && !session.channel.ended) {
      session.flushTarget ??= { onTimer: () => session.events.flush(session) };
      this.#o.wheel.schedule(Date.now() + batchDelayMs - this.#o.wheel.resolution, session.flushTarget);
      return;
    }
    // Without a delay, still let the current burst of appends land first: one setImmediate
    // answers every session woken meanwhile (a topic publish wakes all of them at once).
    if (this.#due.length === 0) setImmediate(this.#flushDue);
    this.#due.push(session);
  }

  #flushAll(): void {
    const due = this.#due;
    this.#due = [];
    for (const session of due) this.flush(session);
  }

  flush(session: Session): void {
    session.flushPending = false;
    const poll = session.held;
    if (!poll) return;
    const body = this.#ready(session, poll);
    if (isPromise(body)) body.then((text) => this.#deliver(session, poll, text), (error: unknown) => this.#readFailed(session, poll, error));
    else this.#deliver(session, poll, body);
  }

  #deliver(session: Session, poll: Poll, body: string | undefined): void {
    // #ready may have terminated the session, which answers the held poll itself.
    if (body === undefined || session.held !== poll) return;
    this.#o.held.release(session);
    poll.send(body);
  }

  /** An asynchronous log failed to read: the held poll gets `unavailable` (retryable), nothing is lost. */
  #readFailed(session: Session, poll: Poll, error: unknown): void {
    if (session.held !== poll) return;
    this.#o.held.release(session);
    sendError(poll.res, poll.origin, readFailed(error, this.#o.sessionRetryMs));
  }
}
