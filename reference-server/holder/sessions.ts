// The session holder: opens, polls and closes (spec §9-§14). It reads each session's
// channel of the event log at the session's cursor and never calls a producer; producers are
// started and stopped through the pump. A session on a topic reads the topic's shared channel:
// its seqs are the channel's minus `base`, the channel head when it opened (SSP-OPEN-3).
// This is the front: checks, signatures and shutdown. The sessions and their admission are in
// ./session-table.ts and ./client-counts.ts, the delivery path in ./delivery.ts and
// ./held-polls.ts, endings in ./session-endings.ts and ./termination-memory.ts.
import { randomBytes } from 'node:crypto';
import type { Advice } from '../../schemas/types.gen.ts';
import { SspError } from '../errors.ts';
import type { ClientKey } from '../client-key.ts';
import type { EventLog } from '../event-log/types.ts';
import type { Limits } from '../limits.ts';
import { MAX_KEY_BYTES, sessionIdOf } from '../signature.ts';
import type { Signer, SignedState } from '../signature.ts';
import type { RegisteredStream, StreamRegistry } from '../streams/registry.ts';
import { Delivery } from './delivery.ts';
import { assertNotGuarded, assertUnexpired } from './guards.ts';
import { HeldPolls } from './held-polls.ts';
import { sendJson } from './http.ts';
import type { SspRequest, SspResponse } from './http.ts';
import { sessionBody, terminationBody } from './messages.ts';
import { signSession } from './session.ts';
import type { Session, SessionEvents } from './session.ts';
import { SessionEndings } from './session-endings.ts';
import { SessionTable } from './session-table.ts';
import { sessionRetryMs as sessionRetry, shutdownDelayMs } from './session-wait.ts';
import { TerminationMemory } from './termination-memory.ts';
import type { TimerWheel } from './timer-wheel.ts';

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
  /** Who a request comes from: asked only when a poll re-creates a session, which then counts against its client. */
  clientKey: ClientKey;
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

export class SessionHolder {
  readonly #o: HolderOptions;
  readonly #sessions: SessionTable;
  readonly #memory: TerminationMemory;
  readonly #held: HeldPolls;
  readonly #endings: SessionEndings;
  readonly #delivery: Delivery;
  #closing: Promise<void> | undefined;
  /** retryAfterMs / delayMs in this holder's answers to poll and close (SSP-LIFETIME-7). */
  readonly #sessionRetryMs: number;
  /** delayMs of shutdown advice; requests during shutdown wait at least as long (SSP-TERMINATION-20). */
  readonly #shutdownDelayMs: number;

  constructor(options: HolderOptions) {
    this.#o = options;
    const { limits, log, wheel, retryAfterMs, restartGuard } = options;
    // Every signature of a session expires within idle + hold of its last request, so a
    // verified signature never names a forgotten session that this process terminated.
    const { terminationMemoryMs, idleTimeoutMs, maxHoldMs } = limits;
    this.#memory = new TerminationMemory(wheel, Math.max(terminationMemoryMs, idleTimeoutMs + maxHoldMs), log.sessions, 'a session');
    const sessionRetryMs = sessionRetry(retryAfterMs, limits);
    this.#sessionRetryMs = sessionRetryMs;
    this.#shutdownDelayMs = shutdownDelayMs(options.shutdownResumeDelayMs, this.#sessionRetryMs);
    const events: SessionEvents = {
      wake: (session) => this.#delivery.wake(session),
      due: (session) => this.#due(session),
      flush: (session) => this.#delivery.flush(session),
    };
    const assertRunning = (retryMs: number) => this.#assertRunning(retryMs);
    this.#held = new HeldPolls(wheel, log, limits);
    this.#sessions = new SessionTable({ ...options, sessionRetryMs, events, assertRunning, held: this.#held });
    const parts = { ...options, table: this.#sessions, held: this.#held, memory: this.#memory, sessionRetryMs };
    this.#endings = new SessionEndings(parts);
    this.#delivery = new Delivery({ ...parts, endings: this.#endings });
    // Another instance got a poll of a session held here (supersede it, §6), or ended it.
    log.sessions?.onRemote((id, what, position) => {
      const session = this.#sessions.get(id);
      if (!session) return;
      if (what === 'end') void this.#endings.rememberedElsewhere(id).catch(() => {});
      // SSP-HOLD-10/11 across instances: a poll elsewhere supersedes ours unless it is older.
      else if (session.held && (position ?? Infinity) >= session.held.position) this.#delivery.answerEmpty(session, session.held);
    });
  }

  stats(): HolderStats {
    return { sessions: this.#sessions.size, heldPolls: this.#held.count, tombstones: this.#memory.size, clients: this.#sessions.clients };
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
    const session = await this.#sessions.start(key, stream, 0, client);
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
    const remembered = this.#memory.body(state.sessionId);
    if (remembered !== undefined) return { body: remembered };
    assertUnexpired(state);
    const session = this.#sessions.get(state.sessionId);
    if (session) return { stream: session.stream.name, params: session.key.params };
    assertNotGuarded(state, this.#o.restartGuard, this.#sessionRetryMs);
    return { stream: state.stream, params: state.params };
  }

  /** SSP-AUTH-6: the principal may no longer read the session → the `revoked` termination. */
  revoke(sig: string): string {
    const state = this.#o.signer.verify(sig);
    const ended = this.#memory.body(state.sessionId);
    if (ended !== undefined) return ended;
    const session = this.#sessions.get(state.sessionId);
    return session ? this.#endings.terminate(session, 'revoked') : this.#endings.endForgotten(state, 'revoked');
  }

  /** §5, §6: answers res now, or holds it until events, the end of the stream or the hold. */
  poll(sig: string, hold: number | undefined, req: SspRequest, res: SspResponse, origin: string | undefined): void | Promise<void> {
    this.#assertRunning(this.#sessionRetryMs);
    const known = this.#issuedLast(sig);
    if (known) {
      if (known.lastExpiresAt <= Date.now()) throw new SspError('session-expired', 'signature has expired; open a new session');
      return this.#delivery.poll(known, known.lastPosition, sig.length, hold, res, origin);
    }
    const state = this.#o.signer.verify(sig);
    const ended = this.#memory.body(state.sessionId);
    if (ended !== undefined) return sendJson(res, origin, 200, ended);
    // A durable log remembers terminations across restarts and instances (spec §18.4).
    if (!this.#o.log.sessions) return this.#pollVerified(state, sig.length, hold, req, res, origin);
    return this.#endings.rememberedElsewhere(state.sessionId).then((remembered) =>
      remembered === undefined ? this.#pollVerified(state, sig.length, hold, req, res, origin) : sendJson(res, origin, 200, remembered),
    );
  }

  /**
   * The live session `sig` is the newest signature of, if any. That signature needs no HMAC:
   * it is the exact string issued (compared in constant time), and a live session has no
   * tombstone. (Not with a log shared by instances: another one may have ended the session.)
   */
  #issuedLast(sig: string): Session | undefined {
    if (this.#o.log.sessions?.shared) return undefined;
    const named = this.#sessions.get(sessionIdOf(sig) ?? '');
    if (named?.lastMac === undefined) return undefined;
    return this.#o.signer.isIssued(sig, named.key, named.lastPosition, named.lastExpiresAt, named.lastMac) ? named : undefined;
  }

  #pollVerified(state: SignedState, sigLength: number, hold: number | undefined, req: SspRequest, res: SspResponse, origin: string | undefined): void | Promise<void> {
    assertUnexpired(state);
    const session = this.#sessions.get(state.sessionId);
    if (session) return this.#delivery.poll(session, state.position, sigLength, hold, res, origin);
    return this.#sessions.recreate(state, this.#o.clientKey(req)).then(async (recreated) => {
      // Re-created at the signature's position: answered once its producer's first run is in.
      await recreated.producer?.ready;
      return this.#delivery.poll(recreated, state.position, sigLength, hold, res, origin);
    });
  }

  /** §7 close → the closed termination, or the existing one; with a durable log, once it is stored. */
  async close(sig: string): Promise<string> {
    this.#assertRunning(this.#sessionRetryMs);
    const state = this.#o.signer.verify(sig);
    const ended = this.#memory.body(state.sessionId);
    if (ended !== undefined) return ended;
    const remembered = await this.#endings.rememberedElsewhere(state.sessionId);
    if (remembered !== undefined) return remembered;
    assertUnexpired(state);
    let session = this.#sessions.get(state.sessionId);
    // A durable log may know the session from before a restart, or from another instance.
    if (!session && this.#o.log.sessions) session = await this.#sessions.recreate(state, 'close').catch(() => undefined);
    const body = session ? this.#endings.terminate(session, 'closed') : this.#endings.endForgotten(state, 'closed');
    await this.#memory.stored(state.sessionId);
    return body;
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
        this.#held.release(session);
        const advice: Advice = { action: 'resume', delayMs: this.#shutdownDelayMs };
        // SSP-TERMINATION-10/17: last is the held poll's position, where the client resumes.
        sendJson(poll.res, poll.origin, 200, terminationBody(this.#sign(session, poll.position), 'shutdown', poll.position, advice), {
          connection: 'close',
        });
      }
      this.#o.wheel.cancel(session.timer);
      session.channel.unwatch(session);
      this.#o.log.sessions?.releaseProducer(session.key.sessionId);
      if (session.producer) {
        session.producer.stop();
        stopped.push(session.producer.done);
      }
    }
    this.#sessions.clear();
    this.#memory.clear();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_GRACE_MS)));
    await Promise.race([Promise.allSettled(stopped), grace]);
    clearTimeout(timer);
    // Channels stay in a durable log (resumable sessions continue after a restart); the
    // memory log frees them here.
    await this.#o.log.close();
  }

  /** The session's timer fired: its held poll's hold passed (an empty batch), or maybe its idle time. */
  #due(session: Session): void {
    const poll = session.held;
    if (!poll) return this.#endings.checkIdle(session);
    if (this.#o.wheel.reached(poll.holdTick)) this.#delivery.expired(session, poll);
    else this.#held.arm(session);
  }

  /** SSP-TERMINATION-20: during shutdown, unavailable, for no less than the shutdown advice's delay. */
  #assertRunning(retryAfterMs: number): void {
    if (this.#closing) {
      throw new SspError('unavailable', 'server is shutting down', { retryAfterMs: Math.max(retryAfterMs, this.#shutdownDelayMs) });
    }
  }

  #sign(session: Session, position: number): string {
    return signSession(this.#o.signer, this.#o.limits, session, position);
  }
}
