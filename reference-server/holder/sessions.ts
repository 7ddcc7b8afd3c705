// The session holder: opens, polls and closes (spec §9-§14). It reads each session's
// channel of the event log at the session's cursor and never calls a producer; producers are
// started and stopped through the pump. A session on a topic reads the topic's shared channel:
// its seqs are the channel's minus `base`, the channel head when it opened (SSP-OPEN-3).
import { randomBytes } from 'node:crypto';
import type { Advice, TerminationMessage } from '../../schemas/types.gen.ts';
import { SspError } from '../errors.ts';
import type { SessionRecord, SessionStore } from '../event-log/session-store.ts';
import type { Channel, ChannelWatcher, EventLog, MaybePromise, ReadResult, StreamEnd } from '../event-log/types.ts';
import { digits, isPromise, sessionChannel, topicChannel } from '../event-log/types.ts';
import type { Limits } from '../limits.ts';
import { MAX_KEY_BYTES, sessionIdOf } from '../signature.ts';
import type { SessionKey, Signer, SignedState } from '../signature.ts';
import { startProducer } from '../streams/pump.ts';
import type { RunningProducer } from '../streams/pump.ts';
import type { RegisteredStream, StreamRegistry } from '../streams/registry.ts';
import { sendError, sendJson } from './http.ts';
import type { SspResponse } from './http.ts';
import { batchBody, batchEnvelopeBytes, sessionBody, terminationBody } from './messages.ts';
import type { TimerHandle, TimerTarget, TimerWheel } from './timer-wheel.ts';

export interface HolderOptions {
  limits: Limits;
  registry: StreamRegistry;
  signer: Signer;
  log: EventLog;
  wheel: TimerWheel;
  maxSessions: number;
  /** Most live sessions per client key (SSP-SECURITY-6). */
  maxSessionsPerClient: number;
  /** retryAfterMs of too-many-sessions and unavailable. */
  retryAfterMs: number;
  /** delayMs of the shutdown termination's resume advice. */
  shutdownResumeDelayMs: number;
  /**
   * SSP-SIGNATURE-14: true when signatures from before this start may verify (a fixed key)
   * but the terminations remembered before it are gone (the memory log). A session this
   * process does not know is then one from before the start (this process forgets no session
   * before its signatures expire), and its signatures are answered `unavailable` until they
   * expire, instead of re-creating the session: idleTimeoutMs + maxHoldMs after start at most
   * when the previous run had the same limits.
   */
  restartGuard: boolean;
  /** Extensions this server offers (discovery `extensions`, SSP-EXT-2). */
  extensions: readonly string[];
}

export interface HolderStats {
  sessions: number;
  heldPolls: number;
  tombstones: number;
  /** Clients with at least one live session. */
  clients: number;
}

/** Longest time a producer gets to release its resources at shutdown. */
const SHUTDOWN_GRACE_MS = 2500;

/** One poll request, answered at once or held. */
/** What a held poll tells its holder: its hold passed, or its client went away. */
interface PollEvents {
  expired(session: Session, poll: Poll): void;
  gone(session: Session, poll: Poll): void;
}

/** One poll request, answered at once or held. It is its own hold timer's target. */
class Poll implements TimerTarget {
  timer: TimerHandle | undefined;

  constructor(
    readonly session: Session,
    readonly events: PollEvents,
    readonly res: SspResponse,
    readonly origin: string | undefined,
    readonly position: number,
    readonly sigLength: number,
  ) {}

  send(body: string): void {
    sendJson(this.res, this.origin, 200, body);
  }

  onTimer(): void {
    this.events.expired(this.session, this);
  }
}

const POLL = Symbol('xanjax.poll');
type PolledResponse = SspResponse & { [POLL]?: Poll };

/** One listener function for every held response (no closure per poll). */
function onResponseClose(this: PolledResponse): void {
  const poll = this[POLL];
  if (poll) poll.events.gone(poll.session, poll);
}

/** What a session tells its holder: its channel changed, its idle deadline passed, a delayed flush is due. */
interface SessionEvents {
  wake(session: Session): void;
  idle(session: Session): void;
  flush(session: Session): void;
}

class Session implements ChannelWatcher, TimerTarget {
  held: Poll | undefined;
  /** The newest poll received; an older one that finishes an asynchronous read later is superseded. */
  latest: Poll | undefined;
  lastActive = Date.now();
  /**
   * The MAC of the newest signature issued for the session, with what it encodes (the
   * signature itself is rebuilt from these to recognize it: 43 characters kept, not ~150).
   */
  lastMac: string | undefined;
  lastPosition = 0;
  lastExpiresAt = 0;
  flushPending = false;
  idleTimer: TimerHandle | undefined;
  producer: RunningProducer | undefined;
  /** Timer targets, made once per session (not per poll). */
  /** Made on first use, only where batchDelayMs > 0 schedules flushes on the wheel. */
  flushTarget: TimerTarget | undefined;

  constructor(
    readonly key: SessionKey,
    readonly stream: RegisteredStream,
    readonly channel: Channel,
    /** Channel seq of the session's position 0. */
    readonly base: number,
    readonly client: string,
    readonly events: SessionEvents,
  ) {}

  /** The channel changed: one synchronous call per session, batched by the holder. */
  onChannelChange(): void {
    this.events.wake(this);
  }

  /** The session is its own idle timer's target. */
  onTimer(): void {
    this.events.idle(this);
  }
}

interface Tombstone {
  body: string;
  timer: TimerHandle;
}

export class SessionHolder {
  readonly #o: HolderOptions;
  readonly #sessions = new Map<string, Session>();
  readonly #tombstones = new Map<string, Tombstone>();
  /** Live sessions per client key; a key leaves the map with its last session. */
  readonly #perClient = new Map<string, number>();
  /** How long a termination is remembered (§7); at least idle + hold, see checkLimits. */
  readonly #memoryMs: number;
  /** Re-creations of forgotten sessions under way (their channel is opening). */
  readonly #recreating = new Map<string, Promise<Session>>();
  /** Terminations being stored in an asynchronous durable log. */
  readonly #saving = new Map<string, Promise<void>>();
  /** Sessions woken since the last flush (batchDelayMs 0): one setImmediate flushes them all. */
  #due: Session[] = [];
  /** Sessions counted against the limits whose channel is still opening. */
  #reserved = 0;
  #heldPolls = 0;
  #closing: Promise<void> | undefined;
  readonly #sessionEvents: SessionEvents = {
    wake: (session) => this.#wake(session),
    idle: (session) => this.#checkIdle(session),
    flush: (session) => this.#flush(session),
  };
  readonly #pollEvents: PollEvents = {
    expired: (session, poll) => {
      if (session.held === poll) this.#answerEmpty(session, poll);
    },
    gone: (session, poll) => {
      if (session.held === poll) this.#release(session, poll);
    },
  };
  readonly #flushDue = () => this.#flushAll();
  /** retryAfterMs / delayMs in answers to poll and close: at most idleTimeoutMs / 2 (SSP-LIFETIME-7). */
  readonly #sessionRetryMs: number;

  constructor(options: HolderOptions) {
    this.#o = options;
    // Another instance got a poll of a session held here (supersede it, §6), or ended it.
    options.log.sessions?.onRemote((id, what, position) => {
      const session = this.#sessions.get(id);
      if (!session) return;
      if (what === 'end') void this.#rememberedElsewhere(id).catch(() => {});
      // SSP-HOLD-10/11 across instances: a poll elsewhere supersedes ours unless it is older.
      else if (session.held && (position ?? Infinity) >= session.held.position) this.#answerEmpty(session, session.held);
    });
    // Every signature of a session expires within idle + hold of its last request, so a
    // verified signature never names a forgotten session that this process terminated.
    const { terminationMemoryMs, idleTimeoutMs, maxHoldMs } = options.limits;
    this.#memoryMs = Math.max(terminationMemoryMs, idleTimeoutMs + maxHoldMs);
    this.#sessionRetryMs = Math.min(options.retryAfterMs, Math.floor(idleTimeoutMs / 2));
  }

  /** delayMs of shutdown advice; requests during shutdown wait at least as long (SSP-TERMINATION-20). */
  get #shutdownDelayMs(): number {
    return Math.min(this.#o.shutdownResumeDelayMs, this.#sessionRetryMs);
  }

  stats(): HolderStats {
    return { sessions: this.#sessions.size, heldPolls: this.#heldPolls, tombstones: this.#tombstones.size, clients: this.#perClient.size };
  }

  /** §6.4 step 13, first half: the stream and its checked params (before authorization). */
  checkOpen(streamName: string, params: Record<string, unknown>): { stream: RegisteredStream; params: Record<string, unknown> } {
    this.#assertRunning(this.#o.retryAfterMs);
    const stream = this.#o.registry.get(streamName);
    if (!stream) throw new SspError('unknown-stream', `stream '${streamName}' is not offered here (see discovery)`);
    return { stream, params: stream.checkParams(params) };
  }

  /**
   * §7 open → session message at position 0. `client` keys the per-client session limit;
   * `extensions`, when the open asked for some, are answered with those this server offers.
   */
  async open(opening: { stream: RegisteredStream; params: Record<string, unknown> }, client: string, extensions?: readonly string[]): Promise<string> {
    this.#assertRunning(this.#o.retryAfterMs);
    const { stream, params: checked } = opening;
    const key = this.#o.signer.key(randomBytes(16).toString('base64url'), stream.name, checked);
    if (key.bytes > MAX_KEY_BYTES) {
      throw new SspError('invalid-params', 'params are too large: they travel in the session signature', {
        details: { errors: [{ path: '', message: `params JSON must stay under about ${MAX_KEY_BYTES - 100} bytes` }] },
      });
    }
    const session = await this.#start(key, stream, 0, client);
    // What the producer has ready is in the log before the answer (an annex burst is appended
    // "when the session is opened", yet in slices that leave the event loop free).
    await session.producer?.ready;
    this.#assertRunning(this.#o.retryAfterMs);
    // The session is opened when it is answered: the idle clock starts here.
    session.lastActive = Date.now();
    const accepted = extensions && extensions.filter((name, index) => this.#o.extensions.includes(name) && extensions.indexOf(name) === index);
    return sessionBody(this.#sign(session, 0), stream.name, 0, accepted);
  }

  /**
   * §6.4 steps 9-12 for a poll or close whose credentials are checked: the remembered
   * termination's body, or the stream and params of the session the signature names.
   */
  lookup(sig: string): { body: string } | { stream: string; params: Record<string, unknown> } {
    this.#assertRunning(this.#sessionRetryMs);
    const state = this.#o.signer.verify(sig);
    const tombstone = this.#tombstones.get(state.sessionId);
    if (tombstone) return { body: tombstone.body };
    assertUnexpired(state);
    const session = this.#sessions.get(state.sessionId);
    if (session) return { stream: session.stream.name, params: session.key.params };
    this.#assertNotGuarded(state);
    return { stream: state.stream, params: state.params };
  }

  /** SSP-AUTH-6: the principal may no longer read the session → the `revoked` termination. */
  revoke(sig: string): string {
    const state = this.#o.signer.verify(sig);
    const tombstone = this.#tombstones.get(state.sessionId);
    if (tombstone) return tombstone.body;
    const session = this.#sessions.get(state.sessionId);
    return session ? this.#terminate(session, 'revoked') : this.#endForgotten(state, 'revoked');
  }

  /** §5, §6: answers res now, or holds it until events, the end of the stream or the hold. */
  poll(sig: string, hold: number | undefined, res: SspResponse, origin: string | undefined, client: string): void | Promise<void> {
    this.#assertRunning(this.#sessionRetryMs);
    // The signature this server issued last for a live session needs no HMAC: it is that
    // exact string (compared in constant time), and a live session has no tombstone.
    // (Not with a log shared by instances: another one may have ended the session.)
    const known = this.#o.log.sessions?.shared ? undefined : this.#sessions.get(sessionIdOf(sig) ?? '');
    if (known?.lastMac !== undefined && this.#o.signer.isIssued(sig, known.key, known.lastPosition, known.lastExpiresAt, known.lastMac)) {
      if (known.lastExpiresAt <= Date.now()) throw new SspError('session-expired', 'signature has expired; open a new session');
      return this.#poll(known, known.lastPosition, sig.length, hold, res, origin);
    }
    const state = this.#o.signer.verify(sig);
    const tombstone = this.#tombstones.get(state.sessionId);
    if (tombstone) return sendJson(res, origin, 200, tombstone.body);
    // A durable log remembers terminations across restarts and instances (spec §18.4).
    if (!this.#o.log.sessions) return this.#pollVerified(state, sig.length, hold, res, origin, client);
    return this.#rememberedElsewhere(state.sessionId).then((remembered) =>
      remembered === undefined ? this.#pollVerified(state, sig.length, hold, res, origin, client) : sendJson(res, origin, 200, remembered),
    );
  }

  #pollVerified(state: SignedState, sigLength: number, hold: number | undefined, res: SspResponse, origin: string | undefined, client: string): void | Promise<void> {
    assertUnexpired(state);
    const session = this.#sessions.get(state.sessionId);
    if (session) return this.#poll(session, state.position, sigLength, hold, res, origin);
    return this.#recreate(state, client).then(async (recreated) => {
      // Re-created at the signature's position: answered once its producer's first run is in.
      await recreated.producer?.ready;
      return this.#poll(recreated, state.position, sigLength, hold, res, origin);
    });
  }

  #poll(session: Session, position: number, sigLength: number, hold: number | undefined, res: SspResponse, origin: string | undefined): void | Promise<void> {
    session.lastActive = Date.now();
    this.#o.log.sessions?.touchSession(session.key.sessionId, this.#o.limits.idleTimeoutMs + this.#o.limits.maxHoldMs, position);
    const poll = new Poll(session, this.#pollEvents, res, origin, position, sigLength);
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
    session.latest = poll;
    if (session.held) this.#answerEmpty(session, session.held);
    const body = this.#ready(session, poll);
    if (isPromise(body)) return body.then((text) => this.#afterRead(session, poll, text, hold));
    this.#afterRead(session, poll, body, hold);
  }

  /** Answers the poll with what the read found, or holds it. */
  #afterRead(session: Session, poll: Poll, body: string | undefined, hold: number | undefined): void {
    const id = session.key.sessionId;
    // An asynchronous read gives way to what happened meanwhile: the session ended (its
    // termination went to the held poll, or is remembered) or a newer poll superseded this one.
    if (this.#sessions.get(id) !== session) return poll.send(this.#tombstones.get(id)?.body ?? this.#emptyBatch(session, poll));
    if (session.latest !== poll && body === undefined) return poll.send(this.#emptyBatch(session, poll));
    if (body !== undefined) return poll.send(body);
    const effectiveHold = Math.min(hold ?? this.#o.limits.maxHoldMs, this.#o.limits.maxHoldMs);
    if (effectiveHold === 0) return poll.send(this.#emptyBatch(session, poll));
    this.#hold(session, poll, effectiveHold);
  }

  /** §7 close → the closed termination, or the existing one; with a durable log, once it is stored. */
  async close(sig: string): Promise<string> {
    this.#assertRunning(this.#sessionRetryMs);
    const state = this.#o.signer.verify(sig);
    const tombstone = this.#tombstones.get(state.sessionId);
    if (tombstone) return tombstone.body;
    const remembered = await this.#rememberedElsewhere(state.sessionId);
    if (remembered !== undefined) return remembered;
    assertUnexpired(state);
    let session = this.#sessions.get(state.sessionId);
    // A durable log may know the session from before a restart, or from another instance.
    if (!session && this.#o.log.sessions) session = await this.#recreate(state, 'close').catch(() => undefined);
    const body = session ? this.#terminate(session, 'closed') : this.#endForgotten(state, 'closed');
    await this.#saving.get(state.sessionId);
    return body;
  }

  /**
   * The termination a durable log remembers for the session (closed on another instance, or
   * before a restart); a local copy of that session is dropped. Throws `unavailable` when
   * the log cannot be asked.
   */
  async #rememberedElsewhere(id: string): Promise<string | undefined> {
    const store = this.#o.log.sessions;
    if (!store) return undefined;
    const found = store.termination(id);
    const body = isPromise(found) ? await found : found;
    if (body === undefined) return undefined;
    const session = this.#sessions.get(id);
    if (session) this.#drop(session, body);
    return body;
  }

  /**
   * SSP-SIGNATURE-13: close of a forgotten session of a resumable stream is answered "as if
   * the session still existed at the signature's position", and remembered, so that its
   * signatures can no longer resume it (SSP-CLOSE-6). No producer is started for it. A
   * revocation of a forgotten session (SSP-AUTH-6) ends it the same way.
   */
  #endForgotten(state: SignedState, reason: 'closed' | 'revoked'): string {
    this.#assertNotGuarded(state);
    if (!this.#o.registry.get(state.stream)?.resumable) throw forgotten();
    const key = this.#o.signer.key(state.sessionId, state.stream, state.params);
    const body = terminationBody(this.#signKey(key, state.position), reason, state.position, advise(reason, undefined));
    this.#remember(state.sessionId, body);
    return body;
  }

  /**
   * SSP-SIGNATURE-14, memory log with a fixed key: a session this process does not know may
   * have been closed, completed or expired before the restart, and its termination is gone.
   * Until every signature from before the start has expired, say so rather than re-create it.
   */
  #assertNotGuarded(state: SignedState): void {
    const remaining = state.expiresAt - Date.now();
    if (this.#o.restartGuard && remaining > 0) {
      throw new SspError('unavailable', 'server restarted: sessions from before the restart cannot be resumed yet', {
        retryAfterMs: Math.min(remaining, this.#sessionRetryMs),
      });
    }
  }

  /**
   * Graceful shutdown: held polls get the shutdown termination advising to resume with a
   * signature at their position (§7); producers are stopped and awaited (bounded).
   */
  shutdown(): Promise<void> {
    this.#closing ??= this.#stopAll();
    return this.#closing;
  }

  async #stopAll(): Promise<void> {
    const stopped: Promise<void>[] = [];
    for (const session of this.#sessions.values()) {
      const poll = session.held;
      if (poll) {
        this.#release(session, poll);
        const advice: Advice = { action: 'resume', delayMs: this.#shutdownDelayMs };
        // SSP-TERMINATION-10/17: last is the held poll's position, where the client resumes.
        sendJson(poll.res, poll.origin, 200, terminationBody(this.#sign(session, poll.position), 'shutdown', poll.position, advice), {
          connection: 'close',
        });
      }
      this.#o.wheel.cancel(session.idleTimer);
      session.channel.unwatch(session);
      this.#o.log.sessions?.releaseProducer(session.key.sessionId);
      if (session.producer) {
        session.producer.stop();
        stopped.push(session.producer.done);
      }
    }
    this.#sessions.clear();
    this.#perClient.clear();
    for (const tombstone of this.#tombstones.values()) this.#o.wheel.cancel(tombstone.timer);
    this.#tombstones.clear();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_GRACE_MS)));
    await Promise.race([Promise.allSettled(stopped), grace]);
    clearTimeout(timer);
    // Channels stay in a durable log (resumable sessions continue after a restart); the
    // memory log frees them here.
    await this.#o.log.close();
  }

  /** SSP-TERMINATION-20: during shutdown, unavailable, for no less than the shutdown advice's delay. */
  #assertRunning(retryAfterMs: number): void {
    if (this.#closing) {
      throw new SspError('unavailable', 'server is shutting down', { retryAfterMs: Math.max(retryAfterMs, this.#shutdownDelayMs) });
    }
  }

  /** `record`: the stored record of a session continued after a restart or from another instance. */
  async #start(key: SessionKey, stream: RegisteredStream, position: number, client: string, record?: SessionRecord): Promise<Session> {
    const { maxSessions, maxSessionsPerClient, retryAfterMs, limits } = this.#o;
    if (this.#sessions.size + this.#reserved >= maxSessions) {
      throw new SspError('too-many-sessions', `session limit (${maxSessions}) reached`, { retryAfterMs });
    }
    // SSP-SECURITY-6: one client cannot take every session.
    const clientSessions = this.#perClient.get(client) ?? 0;
    if (clientSessions >= maxSessionsPerClient) {
      throw new SspError('too-many-sessions', `session limit per client (${maxSessionsPerClient}) reached`, { retryAfterMs });
    }
    const maxConcurrent = stream.definition.maxConcurrent;
    if (maxConcurrent !== undefined && stream.active >= maxConcurrent) {
      throw new SspError('too-many-sessions', `stream '${stream.name}' runs at most ${maxConcurrent} sessions at once`, { retryAfterMs });
    }
    // Counted before the channel opens (which may wait on a durable log), so concurrent opens
    // cannot pass the limits together.
    this.#perClient.set(client, clientSessions + 1);
    this.#reserved++;
    let channel: Channel;
    let base: number;
    try {
      const topic = stream.definition.topic;
      const opened =
        topic === undefined
          ? this.#o.log.channel(sessionChannel(key.sessionId), { readers: 'single', retainEvents: limits.retainEvents, startAt: position })
          : this.#o.log.channel(topicChannel(topic), { readers: 'shared', retainEvents: limits.retainEvents, startAt: 0 });
      channel = isPromise(opened) ? await opened : opened;
      // A topic session begins at the topic's head: position 0 is that channel seq.
      base = record?.base ?? (stream.definition.topic === undefined ? 0 : channel.head);
      // A durable log keeps the session's record, so a restart or another instance continues it.
      const store = this.#o.log.sessions;
      if (store && !record) {
        const saved = store.saveSession(key.sessionId, { stream: stream.name, params: key.params, base }, limits.idleTimeoutMs + limits.maxHoldMs);
        if (isPromise(saved)) await saved;
      }
      // The server began shutting down while the channel opened.
      this.#assertRunning(this.#o.retryAfterMs);
    } catch (error) {
      this.#unreserve(client);
      throw error;
    } finally {
      this.#reserved--;
    }
    const session = new Session(key, stream, channel, base, client, this.#sessionEvents);
    channel.watch(session);
    this.#sessions.set(key.sessionId, session);
    if (stream.definition.produce) {
      // A shared log decides in Redis which instance runs the producer: wait for that first.
      const claimed = this.#startProducer(session, record !== undefined);
      if (isPromise(claimed)) await claimed;
    }
    session.idleTimer = this.#o.wheel.schedule(Date.now() + limits.idleTimeoutMs, session);
    return session;
  }

  /**
   * Runs the session's producer from the channel's head (what is already appended stays; with
   * the memory log the head is the session's position). With a durable log it runs on one
   * instance at a time (a lease); a session continued from a stored record whose stream cannot
   * resume ends with error `producer-lost`, advice reopen (spec §18.4).
   */
  #startProducer(session: Session, continued: boolean): MaybePromise<void> {
    const { stream, channel, key } = session;
    const run = () => {
      if (this.#sessions.get(key.sessionId) !== session || session.producer || channel.ended) return;
      if (continued && !stream.resumable) {
        const lost = { message: 'the producer of this session stopped with its server instance and cannot resume; reopen', code: 'producer-lost' };
        const ended = channel.end({ reason: 'error', error: lost, advice: 'reopen' });
        if (isPromise(ended)) ended.catch((error: unknown) => console.error('xanjax: event log end failed:', error));
        return;
      }
      session.producer = startProducer(stream, key.params, channel, channel.head - session.base);
    };
    const store = this.#o.log.sessions;
    if (!store) return run();
    return store.claimProducer(key.sessionId, run, () => {
      session.producer?.stop();
      session.producer = undefined;
    });
  }

  #unreserve(client: string): void {
    const clientSessions = (this.#perClient.get(client) ?? 1) - 1;
    if (clientSessions > 0) this.#perClient.set(client, clientSessions);
    else this.#perClient.delete(client);
  }

  /**
   * §4: a verified signature of a forgotten session re-creates it if its stream is resumable,
   * or if a durable log holds its record (a restart, or a poll that landed on another instance).
   */
  #recreate(state: SignedState, client: string): Promise<Session> {
    this.#assertNotGuarded(state);
    const stream = this.#o.registry.get(state.stream);
    const store = this.#o.log.sessions;
    if (!stream || (!stream.resumable && !store)) throw forgotten();
    let params: Record<string, unknown>;
    try {
      params = stream.checkParams(state.params);
    } catch {
      throw forgotten();
    }
    // Two polls racing to re-create one session get the same one.
    const id = state.sessionId;
    let recreating = this.#recreating.get(id);
    if (!recreating) {
      const key = this.#o.signer.key(id, stream.name, params);
      recreating = (async () => {
        const found = store?.loadSession(id);
        const record = isPromise(found) ? await found : found;
        if (!record && !stream.resumable) throw forgotten();
        return this.#start(key, stream, state.position, client, record);
      })().catch((error: unknown) => {
        // SSP-LIFETIME-7: a wait asked of a poll stays within half the idle lifetime.
        if (error instanceof SspError && error.extras.retryAfterMs !== undefined) {
          throw new SspError(error.code, error.message, { ...error.extras, retryAfterMs: Math.min(error.extras.retryAfterMs, this.#sessionRetryMs) });
        }
        throw error;
      });
      this.#recreating.set(id, recreating);
      const done = () => this.#recreating.delete(id);
      recreating.then(done, done);
    }
    return recreating;
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
      return batchBody(this.#sign(session, position), events, gap && { from: gap.from - base, to: gap.to - base }, base);
    }
    // §7: every remaining event first, then the termination at the end position.
    const ended = channel.ended;
    if (ended && poll.position >= channel.head - base) return this.#terminate(session, ended.reason, ended);
    return undefined;
  }

  #hold(session: Session, poll: Poll, holdMs: number): void {
    // The client left while its body was read: there is no one to hold for.
    const socket = poll.res.socket;
    if (poll.res.destroyed || !socket || socket.destroyed) return;
    session.held = poll;
    this.#heldPolls++;
    // §7: a held poll keeps its session alive, and the idle clock restarts when it ends, so a
    // held session needs no idle deadline until #release: one timer handle per held session, not two.
    this.#o.wheel.cancel(session.idleTimer);
    session.idleTimer = undefined;
    this.#o.log.sessions?.holding(session.key.sessionId, holdMs);
    poll.timer = this.#o.wheel.schedule(Date.now() + holdMs, poll);
    // The client went away: nothing to answer, and the session's idle clock starts again.
    const res = poll.res as PolledResponse;
    res[POLL] = poll;
    res.on('close', onResponseClose);
  }

  /** Detaches the held poll (the caller answers it); a live session's idle clock starts again. */
  #release(session: Session, poll: Poll): void {
    session.held = undefined;
    session.lastActive = Date.now();
    if (this.#sessions.get(session.key.sessionId) === session) {
      // One idle deadline per session: a shared log's idle check may have set one meanwhile.
      this.#o.wheel.cancel(session.idleTimer);
      session.idleTimer = this.#o.wheel.schedule(session.lastActive + this.#o.limits.idleTimeoutMs, session);
    }
    // The idle clock restarts when a request ends (§7), on whichever instance it was.
    this.#o.log.sessions?.touchSession(session.key.sessionId, this.#o.limits.idleTimeoutMs + this.#o.limits.maxHoldMs);
    this.#heldPolls--;
    this.#o.wheel.cancel(poll.timer);
  }

  #answerEmpty(session: Session, poll: Poll): void {
    if (session.held === poll) this.#release(session, poll);
    poll.send(this.#emptyBatch(session, poll));
  }

  /** Empty batch, same position, fresh signature (§6). */
  #emptyBatch(session: Session, poll: Poll): string {
    return batchBody(this.#sign(session, poll.position), [], undefined, 0);
  }

  /** The channel changed: answer the held poll, after batchDelayMs to fill the batch (§6). */
  #wake(session: Session): void {
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
    for (const session of due) this.#flush(session);
  }

  #flush(session: Session): void {
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
    this.#release(session, poll);
    poll.send(body);
  }

  /** An asynchronous log failed to read: the held poll gets `unavailable` (retryable), nothing is lost. */
  #readFailed(session: Session, poll: Poll, error: unknown): void {
    if (session.held !== poll) return;
    this.#release(session, poll);
    console.error('xanjax: event log read failed:', error);
    sendError(poll.res, poll.origin, new SspError('unavailable', 'the event log is not available', { retryAfterMs: this.#o.retryAfterMs }));
  }

  /** §7 idle lifetime: no held poll and no request for idleTimeoutMs → expired. */
  #checkIdle(session: Session): void {
    if (this.#sessions.get(session.key.sessionId) !== session) return;
    const now = Date.now();
    const due = session.held ? now + this.#o.limits.idleTimeoutMs : session.lastActive + this.#o.limits.idleTimeoutMs;
    if (due > now) session.idleTimer = this.#o.wheel.schedule(due, session);
    else if (this.#o.log.sessions) void this.#expireShared(session);
    else this.#terminate(session, 'expired');
  }

  /**
   * Idle here, but with a shared log the client may be polling another instance: expire only
   * if no instance saw a request within the idle time; drop the local copy if another
   * instance ended the session. While the log cannot be asked, look again later.
   */
  async #expireShared(session: Session): Promise<void> {
    const store = this.#o.log.sessions as SessionStore;
    const id = session.key.sessionId;
    let remembered: string | undefined;
    let active: boolean;
    try {
      [remembered, active] = await Promise.all([store.termination(id), store.sessionActive(id, this.#o.limits.idleTimeoutMs)]);
    } catch {
      remembered = undefined;
      active = true;
    }
    if (this.#sessions.get(id) !== session) return;
    if (remembered !== undefined) return this.#drop(session, remembered);
    if (!active) return void this.#terminate(session, 'expired');
    session.lastActive = Date.now();
    session.idleTimer = this.#o.wheel.schedule(session.lastActive + this.#o.limits.idleTimeoutMs, session);
  }

  /** Forgets a local session that ended elsewhere (its termination `body` is remembered there). */
  #drop(session: Session, body: string): void {
    this.#detach(session, body);
    if (session.stream.definition.topic === undefined) {
      const released = this.#o.log.release?.(session.channel.name);
      if (isPromise(released)) released.catch((error: unknown) => console.error('xanjax: event log release failed:', error));
    }
    this.#rememberLocally(session.key.sessionId, body);
  }

  /**
   * What every ending shares: the session leaves the table, its client reservation, idle timer,
   * producer, producer lease and channel watch are freed, and a held poll is answered `body`.
   */
  #detach(session: Session, body: string): void {
    const id = session.key.sessionId;
    this.#sessions.delete(id);
    this.#unreserve(session.client);
    this.#o.wheel.cancel(session.idleTimer);
    session.producer?.stop();
    this.#o.log.sessions?.releaseProducer(id);
    session.channel.unwatch(session);
    const poll = session.held;
    if (poll) {
      this.#release(session, poll);
      poll.send(body);
    }
  }

  /**
   * Ends a session: stops its producer, frees its log and timers, answers a held poll, and
   * remembers the termination body so every later poll or close gets it identically (§7).
   */
  #terminate(session: Session, reason: 'complete' | 'error' | 'closed' | 'expired' | 'revoked', end?: StreamEnd): string {
    const { channel } = session;
    const last = channel.head - session.base;
    // Its signature expires like any other, within the memory of the termination: a signature
    // never outlives it, so a finished resumable session can never be re-created (§4).
    const body = terminationBody(this.#sign(session, last), reason, last, advise(reason, end), end?.reason === 'error' ? end.error : undefined);
    this.#detach(session, body);
    // A session's own channel goes with it (its termination is remembered below); a topic stays.
    if (session.stream.definition.topic === undefined) {
      const deleted = this.#o.log.delete(channel.name);
      if (isPromise(deleted)) deleted.catch((error: unknown) => console.error('xanjax: event log delete failed:', error));
    }
    this.#remember(session.key.sessionId, body);
    return body;
  }

  /**
   * SSP-TERMINATION-13: the termination is the answer to every signature of it for #memoryMs;
   * a durable log stores it too (restarts, other instances; spec §18.4). close() awaits that.
   */
  #remember(id: string, body: string): void {
    this.#rememberLocally(id, body);
    const stored = this.#o.log.sessions?.rememberTermination(id, body, this.#memoryMs);
    if (!isPromise(stored)) return;
    const saving = stored.then(
      () => {},
      (error: unknown) => console.error(`xanjax: could not store the termination of a session in the event log: ${(error as Error).message}`),
    );
    this.#saving.set(id, saving);
    void saving.then(() => this.#saving.delete(id));
  }

  #rememberLocally(id: string, body: string): void {
    const tombstone: Tombstone = {
      body,
      timer: this.#o.wheel.schedule(Date.now() + this.#memoryMs, {
        onTimer: () => {
          if (this.#tombstones.get(id) === tombstone) this.#tombstones.delete(id);
        },
      }),
    };
    this.#tombstones.set(id, tombstone);
  }

  /** §4: expiry = issue time + idleTimeoutMs + the longest hold it may be used for. */
  #sign(session: Session, position: number): string {
    return this.#signSession(session, position);
  }

  /** Signs, and remembers the signature as the session's newest (see poll's fast path). */
  #signSession(session: Session, position: number): string {
    const expiresAt = Date.now() + this.#o.limits.idleTimeoutMs + this.#o.limits.maxHoldMs;
    const [sig, mac] = this.#o.signer.signKeepingMac(session.key, position, expiresAt);
    session.lastMac = mac;
    session.lastPosition = position;
    session.lastExpiresAt = expiresAt;
    return sig;
  }

  #signKey(key: SessionKey, position: number): string {
    return this.#o.signer.sign(key, position, Date.now() + this.#o.limits.idleTimeoutMs + this.#o.limits.maxHoldMs);
  }
}

/** §7 reasons → advice. */
function advise(reason: TerminationMessage['reason'], end: StreamEnd | undefined): Advice {
  if (reason === 'expired') return { action: 'reopen' };
  if (reason === 'error' && end?.reason === 'error' && end.advice === 'reopen') return { action: 'reopen', delayMs: 1000 };
  return { action: 'none' };
}

/** §4: expiry = issue time + idleTimeoutMs + maxHoldMs; checked after remembered terminations. */
function assertUnexpired(state: SignedState): void {
  if (state.expiresAt <= Date.now()) throw new SspError('session-expired', 'signature has expired; open a new session');
}

function forgotten(): SspError {
  return new SspError('session-expired', 'session is no longer known (expired, closed or from before a restart); open a new session');
}
