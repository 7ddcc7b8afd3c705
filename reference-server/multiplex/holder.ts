// Multiplexed sessions (spec §23): one session, one held poll, many streams, each read from
// its own event-log channel (or a topic's shared one) at its own cursor, with its producer.
// Streams are added and removed by `ext.multiplex` on polls. The session record (ids, names,
// params, bases, ended streams) lives in this process and, with a durable log, in the log's
// session store (./shared.ts), from which a restart or another instance continues the
// session; without one, a poll that restates the streams re-creates it (§23.6).
import { randomBytes } from 'node:crypto';
import type { Advice } from '../../schemas/types.gen.ts';
import { SspError } from '../errors.ts';
import type { StreamRecord } from '../event-log/session-store.ts';
import type { EventLog, ReadResult } from '../event-log/types.ts';
import { isPromise } from '../event-log/types.ts';
import { sendError, sendJson } from '../holder/http.ts';
import type { SspResponse } from '../holder/http.ts';
import { readFailed, sessionRetryMs, shutdownDelayMs } from '../holder/session-wait.ts';
import { TerminationMemory } from '../holder/termination-memory.ts';
import type { TimerWheel } from '../holder/timer-wheel.ts';
import type { Limits } from '../limits.ts';
import { sameSignature, sessionIdOf } from '../signature.ts';
import type { Signer } from '../signature.ts';
import type { StreamRegistry } from '../streams/registry.ts';
import { assemble, batchBody, gather, partJson, terminationBody } from './batch.ts';
import { add, change, restate as restateStreams, restated, restateNeeded } from './changes.ts';
import type { Changes } from './changes.ts';
import type { MuxStream } from './channel.ts';
import { advise, streamTermination } from './endings.ts';
import { openStream } from './open-stream.ts';
import { MuxPoll } from './session.ts';
import type { MuxSession } from './session.ts';
import { follow, record } from './shared.ts';
import { SessionTable } from './table.ts';
import { assertUnexpired, VERSION, verifyMux } from './signature.ts';
import type { MuxState } from './signature.ts';
import { EXTENSION } from './wire.ts';
import type { OpenExt, PollExt, StreamSpec, StreamTermination } from './wire.ts';

export interface MuxHolderOptions {
  limits: Limits;
  registry: StreamRegistry;
  signer: Signer;
  log: EventLog;
  wheel: TimerWheel;
  /** Most live streams per session (discovery ext.multiplex.maxStreams). */
  maxStreams: number;
  maxSessions: number;
  maxSessionsPerClient: number;
  retryAfterMs: number;
  shutdownResumeDelayMs: number;
  /**
   * SSP-SIGNATURE-14 for a log that forgets terminations on restart while the key is kept: a
   * session this process does not know is not re-created (restated) until its signature expires.
   */
  restartGuard?: boolean | undefined;
}

const flush = (target: { onTimer(): void }) => target.onTimer();

export class MuxHolder {
  readonly #o: MuxHolderOptions;
  readonly #sessions: SessionTable;
  readonly #ended: TerminationMemory;
  /** How long a session's record lives unused: every signature of it expires within that (§4). */
  readonly #recordMs: number;
  /** retryAfterMs / delayMs in the answers this holder writes itself (SSP-LIFETIME-7). */
  readonly #sessionRetryMs: number;
  /** delayMs of shutdown advice; requests during shutdown wait at least as long (SSP-TERMINATION-20). */
  readonly #shutdownDelayMs: number;
  #heldPolls = 0;
  #closing = false;

  constructor(options: MuxHolderOptions) {
    this.#o = options;
    const { terminationMemoryMs, idleTimeoutMs, maxHoldMs } = options.limits;
    this.#sessions = new SessionTable({
      ...options,
      idleTimeoutMs,
      wake: (session) => this.#wake(session),
      idle: (session) => this.#checkIdle(session),
      flush: (session) => this.#flush(session),
    });
    this.#ended = new TerminationMemory(options.wheel, Math.max(terminationMemoryMs, idleTimeoutMs + maxHoldMs), options.log.sessions, 'a multiplexed session');
    this.#recordMs = idleTimeoutMs + maxHoldMs;
    this.#sessionRetryMs = sessionRetryMs(options.retryAfterMs, options.limits);
    this.#shutdownDelayMs = shutdownDelayMs(options.shutdownResumeDelayMs, this.#sessionRetryMs);
    // Another instance got a poll of a session held here, or ended it. A multiplexed
    // session's poll supersedes the held one whatever its positions, on any instance (§23.3).
    options.log.sessions?.onRemote((id, what) => {
      const session = this.#sessions.get(id);
      if (!session) return;
      if (what === 'end') void this.#endedElsewhere(id).catch(() => {});
      else if (session.held) this.#answerEmpty(session, session.held);
    });
  }

  stats(): { sessions: number; heldPolls: number; tombstones: number; streams: number } {
    let streams = 0;
    for (const session of this.#sessions.values()) streams += session.live;
    return { sessions: this.#sessions.size, heldPolls: this.#heldPolls, tombstones: this.#ended.size, streams };
  }

  /** §23.3: open with `multiplex` accepted; the open's own stream fails the open like SSP/1. */
  async open(stream: string, params: Record<string, unknown>, ext: OpenExt | undefined, client: string): Promise<string> {
    this.#assertRunning();
    const first: Required<StreamSpec> = { id: ext?.id ?? '0', stream, params };
    const registered = this.#o.registry.get(stream);
    if (!registered) throw new SspError('unknown-stream', `stream '${stream}' is not offered here (see discovery)`);
    registered.checkParams(structuredClone(params));
    const session = this.#sessions.start(randomBytes(16).toString('base64url'), client);
    let changes: Changes;
    try {
      session.channels.set(first.id, await openStream(this.#o, session, first, { position: 0, continued: false }));
      changes = await add(this.#o, session, ext?.add ?? []);
      // Recorded before it is answered, so that any instance, or a restart, continues it.
      await record(this.#o, session, [...session.channels.values()]);
    } catch (error) {
      this.#sessions.detach(session);
      for (const opened of session.channels.values()) opened.free(this.#o.log);
      throw error;
    }
    const positions = new Map([[first.id, 0], ...changes.added.filter((id) => id !== first.id).map((id) => [id, 0] as [string, number])]);
    const mux = { id: first.id, added: changes.added, refused: changes.refused };
    return JSON.stringify({ ssp: 1, type: 'session', sig: this.#sign(session, positions), stream, position: 0, extensions: [EXTENSION], ext: { [EXTENSION]: mux } });
  }

  async poll(sig: string, hold: number | undefined, ext: PollExt | undefined, res: SspResponse, origin: string | undefined, client: string): Promise<void> {
    this.#assertRunning();
    const state = this.#verify(sig);
    const found = await this.#find(state, client, ext?.restate);
    if (typeof found === 'string') return sendJson(res, origin, 200, found);
    const session = found;
    session.lastActive = Date.now();
    // Any instance holding a poll of the session answers it: this one supersedes it (§10).
    this.#o.log.sessions?.touchSession(session.id, this.#recordMs, 0);
    if (session.held) this.#answerEmpty(session, session.held);
    const positions = new Map(state.positions);
    let changes: Changes | undefined;
    if (ext?.add || ext?.remove) changes = await session.serial(() => change(this.#o, session, positions, ext));
    for (const [id, position] of positions) {
      const reading = session.channels.get(id)?.reading;
      reading?.channel.acknowledge(reading.base + position);
    }
    const poll = new MuxPoll(res, origin, positions);
    poll.turn = ++session.polls;
    // A poll that changed the session is answered at once, so the client learns the outcome (§23.3).
    if (await this.#answer(session, poll, changes !== undefined, changes)) return;
    // Superseded while the log answered: that newer poll is the one to hold.
    if (session.polls !== poll.turn) return this.#answerEmpty(session, poll);
    const effectiveHold = Math.min(hold ?? this.#o.limits.maxHoldMs, this.#o.limits.maxHoldMs);
    if (effectiveHold === 0) return void (await this.#answer(session, poll, true));
    this.#hold(session, poll, effectiveHold);
  }

  /** §23.4 close: every stream ends; with a durable log, answered once the termination is stored. */
  async close(sig: string): Promise<string> {
    this.#assertRunning();
    const state = verifyMux(this.#o.signer, sig);
    const found = await this.#find(state, 'close', 'never');
    if (typeof found === 'string') return found;
    const body = this.#terminate(found, 'closed', state.positions);
    await this.#ended.stored(state.sessionId);
    return body;
  }

  shutdown(): void {
    this.#closing = true;
    for (const session of [...this.#sessions.values()]) {
      const poll = session.held;
      if (poll) {
        this.#release(session, poll);
        // The shutdown answer does not pass the endpoint, which caps the other waits (SSP-LIFETIME-7).
        const advice: Advice = { action: 'resume', delayMs: this.#shutdownDelayMs };
        // The positions stay as they were: after the restart, the client resumes from them (§23.6).
        sendJson(poll.res, poll.origin, 200, terminationBody(this.#sign(session, poll.positions), 'shutdown', advice, []), { connection: 'close' });
      }
      // A durable log keeps the streams' channels and the record for the restart (or another
      // instance); the memory log is closed by the SSP/1 holder's shutdown after this.
      this.#sessions.detach(session);
    }
    this.#ended.clear();
  }

  #assertRunning(): void {
    if (this.#closing) {
      throw new SspError('unavailable', 'server is shutting down', { retryAfterMs: Math.max(this.#sessionRetryMs, this.#shutdownDelayMs) });
    }
  }

  /**
   * The signature this process issued last for a live session needs no HMAC: it is that
   * exact string (compared in constant time). Not with a log shared by instances, where
   * another one may have changed or ended the session.
   */
  #verify(sig: string): MuxState {
    const known = this.#o.log.sessions?.shared ? undefined : this.#sessions.get(sessionIdOf(sig, VERSION) ?? '');
    return known?.lastSig !== undefined && sameSignature(sig, known.lastSig) ? known.lastState! : verifyMux(this.#o.signer, sig);
  }

  /**
   * The session a verified signature names, or the termination it gets (remembered here, or
   * by a durable log: closed on another instance or before a restart). A durable log's
   * record continues a session this process does not have, and with a shared log brings a
   * local copy in step first. Without a record, `restate` re-creates it (§23.6); a close
   * (`restate` 'never') of an unknown session is `session-expired`.
   */
  async #find(state: MuxState, client: string, restate: StreamSpec[] | 'never' | undefined): Promise<MuxSession | string> {
    const id = state.sessionId;
    const remembered = this.#ended.body(id);
    if (remembered !== undefined) return remembered;
    const store = this.#o.log.sessions;
    let records: StreamRecord[] | undefined;
    if (store) {
      const local = this.#sessions.get(id) !== undefined;
      const [ended, found] = await Promise.all([store.termination(id), !local || store.shared ? store.loadStreams(id) : undefined]);
      if (ended !== undefined) return this.#forget(id, ended);
      records = found;
    }
    assertUnexpired(state);
    const session = this.#sessions.get(id);
    if (session) {
      if (records) await session.serial(() => follow(this.#o, session, records));
      return session;
    }
    // A session this process does not have, from the log's record (a restart, another instance).
    if (records) return this.#sessions.remake(id, client, (made) => follow(this.#o, made, records, state.positions));
    const remaining = state.expiresAt - Date.now();
    if (this.#o.restartGuard && remaining > 0) {
      throw new SspError('unavailable', 'server restarted: sessions from before the restart cannot be resumed yet', { retryAfterMs: Math.min(remaining, this.#o.retryAfterMs) });
    }
    if (restate === 'never') throw new SspError('session-expired', 'session is no longer known (expired, closed or from before a restart); open a new session');
    if (!restate) throw restateNeeded();
    const specs = restated(state, restate);
    return this.#sessions.remake(id, client, (made) => restateStreams(this.#o, made, state, specs));
  }

  /** Answers `poll` if it has something to carry (or `force`); true when answered. */
  #answer(session: MuxSession, poll: MuxPoll, force: boolean, changes?: Changes): boolean | Promise<boolean> {
    const reads = gather(poll.positions, session.channels, this.#o.limits);
    if (!isPromise(reads)) return this.#send(session, poll, force, changes, reads);
    return reads.then((result) => this.#sessions.holds(session) && this.#send(session, poll, force, changes, result));
  }

  #send(session: MuxSession, poll: MuxPoll, force: boolean, changes: Changes | undefined, reads: Map<string, ReadResult>): boolean | Promise<boolean> {
    const ended: MuxStream[] = [];
    const { parts, positions } = assemble(poll.positions, session.channels, reads, this.#o.limits, session.rotation++, (stream) => {
      stream.end(streamTermination(stream.reading!.channel.ended!, stream.head), this.#o.log);
      ended.push(stream);
    });
    if (parts.length === 0 && !force) return false;
    const deliver = () => {
      if (session.held === poll) this.#release(session, poll);
      sendJson(poll.res, poll.origin, 200, batchBody(this.#sign(session, positions), parts, changes));
      return true;
    };
    if (ended.length === 0) return deliver();
    if (!this.#o.log.sessions) {
      for (const stream of ended) stream.free(this.#o.log);
      return deliver();
    }
    // A stream's end is recorded before it is answered: every instance repeats it (SSP-MUX-10).
    return session.serial(() => record(this.#o, session, ended)).then(deliver, (error: unknown) => {
      console.error('xanjax: could not record the end of a multiplexed stream:', error);
      return deliver();
    });
  }

  /** Nothing at the poll's own positions, a fresh signature (§10: a superseded poll). */
  #answerEmpty(session: MuxSession, poll: MuxPoll): void {
    if (session.held === poll) this.#release(session, poll);
    sendJson(poll.res, poll.origin, 200, batchBody(this.#sign(session, poll.positions), []));
  }

  #hold(session: MuxSession, poll: MuxPoll, holdMs: number): void {
    const socket = poll.res.socket;
    if (poll.res.destroyed || !socket || socket.destroyed) return;
    session.held = poll;
    this.#heldPolls++;
    // Another instance that gets the session's next poll tells this one (onRemote).
    this.#o.log.sessions?.holding(session.id, holdMs);
    // The hold passes: answered with what there is. The client goes away: nothing to answer.
    poll.timer = this.#o.wheel.schedule(Date.now() + holdMs, { onTimer: () => session.held === poll && this.#answerHeld(session, poll, true) });
    poll.res.once('close', () => session.held === poll && this.#release(session, poll));
  }

  #release(session: MuxSession, poll: MuxPoll): void {
    session.held = undefined;
    session.lastActive = Date.now();
    // The idle clock restarts when a request ends (§7), on whichever instance it was.
    this.#o.log.sessions?.touchSession(session.id, this.#recordMs);
    this.#heldPolls--;
    this.#o.wheel.cancel(poll.timer);
  }

  #wake(session: MuxSession): void {
    if (!session.held || session.flushPending) return;
    session.flushPending = true;
    const { batchDelayMs } = this.#o.limits;
    if (batchDelayMs > 0) this.#o.wheel.schedule(Date.now() + batchDelayMs - this.#o.wheel.resolution, session.flushTarget);
    else setImmediate(flush, session.flushTarget);
  }

  #flush(session: MuxSession): void {
    session.flushPending = false;
    if (session.held) this.#answerHeld(session, session.held, false);
  }

  /** A held poll's answer (a wake, or its hold's end); when the log fails to read, `unavailable`: retryable, nothing lost. */
  #answerHeld(session: MuxSession, poll: MuxPoll, force: boolean): void {
    const answered = this.#answer(session, poll, force);
    if (!isPromise(answered)) return;
    answered.catch((error: unknown) => {
      if (session.held !== poll) return;
      this.#release(session, poll);
      sendError(poll.res, poll.origin, readFailed(error, this.#sessionRetryMs));
    });
  }

  #checkIdle(session: MuxSession): void {
    if (!this.#sessions.holds(session)) return;
    const now = Date.now();
    const due = session.held ? now + this.#o.limits.idleTimeoutMs : session.lastActive + this.#o.limits.idleTimeoutMs;
    if (due > now) session.idleTimer = this.#o.wheel.schedule(due, session.idleTarget);
    else if (this.#o.log.sessions) void this.#expireShared(session);
    else this.#terminate(session, 'expired', new Map());
  }

  /**
   * Idle here, but with a durable log the client may be polling another instance: expire only
   * if no instance saw a request within the idle time; forget the local copy if another
   * instance ended the session, and follow the record (streams removed elsewhere stop their
   * producers here). While the log cannot be asked, look again later.
   */
  async #expireShared(session: MuxSession): Promise<void> {
    const store = this.#o.log.sessions!;
    const { id } = session;
    let remembered: string | undefined;
    let active: boolean;
    let records: StreamRecord[] | undefined;
    try {
      [remembered, active, records] = await Promise.all([store.termination(id), store.sessionActive(id, this.#o.limits.idleTimeoutMs), store.loadStreams(id)]);
    } catch {
      [remembered, active] = [undefined, true];
    }
    if (!this.#sessions.holds(session)) return;
    if (remembered !== undefined) return void this.#forget(id, remembered);
    if (!active) return void this.#terminate(session, 'expired', new Map());
    if (records) await session.serial(() => follow(this.#o, session, records)).catch(() => {});
    session.lastActive = Date.now();
    session.idleTimer = this.#o.wheel.schedule(session.lastActive + this.#o.limits.idleTimeoutMs, session.idleTarget);
  }

  /** The termination a durable log remembers for the session (ended on another instance): the local copy goes. */
  async #endedElsewhere(id: string): Promise<void> {
    const remembered = await this.#o.log.sessions?.termination(id);
    if (remembered !== undefined) this.#forget(id, remembered);
  }

  /** Forgets a local copy of a session that ended elsewhere; its termination `body` is the answer from now on. */
  #forget(id: string, body: string): string {
    const session = this.#sessions.get(id);
    if (session) {
      const poll = session.held;
      if (poll) {
        this.#release(session, poll);
        sendJson(poll.res, poll.origin, 200, body);
      }
      this.#sessions.detach(session);
    }
    this.#ended.keep(id, body);
    return body;
  }

  /** §23.4: the session ends: every stream still live ends with the same reason; remembered. */
  #terminate(session: MuxSession, reason: 'closed' | 'expired', positions: ReadonlyMap<string, number>): string {
    const ended: string[] = [];
    for (const stream of session.channels.values()) {
      if (stream.termination) continue;
      const termination: StreamTermination = { reason, last: positions.get(stream.id) ?? stream.head, advice: advise(reason) };
      stream.end(termination, this.#o.log);
      ended.push(partJson({ id: stream.id, events: [], termination }));
    }
    const body = terminationBody(this.#sign(session, new Map()), reason, advise(reason), ended);
    const poll = session.held;
    if (poll) {
      this.#release(session, poll);
      sendJson(poll.res, poll.origin, 200, body);
    }
    this.#sessions.detach(session);
    // The session's own channels go with it: its termination is remembered, and asked first.
    for (const stream of session.channels.values()) stream.free(this.#o.log);
    this.#ended.remember(session.id, body);
    return body;
  }

  #sign(session: MuxSession, positions: ReadonlyMap<string, number>): string {
    const { idleTimeoutMs, maxHoldMs } = this.#o.limits;
    return session.sign(this.#o.signer, positions, Date.now() + idleTimeoutMs + maxHoldMs);
  }
}
