// How a session ends (§7, §12-§14): terminated here (its stream ended, closed, revoked, idle
// past its lifetime), or learnt to have ended on another instance or before a restart. Every
// ending frees what the session holds, answers its held poll and is remembered, so every later
// poll or close of it gets the same termination.
import type { Advice, TerminationMessage } from '../../schemas/types.gen.ts';
import type { SessionStore } from '../event-log/session-store.ts';
import type { EventLog, StreamEnd } from '../event-log/types.ts';
import { isPromise } from '../event-log/types.ts';
import type { Limits } from '../limits.ts';
import type { SignedState, Signer } from '../signature.ts';
import type { StreamRegistry } from '../streams/registry.ts';
import { assertNotGuarded, forgotten } from './guards.ts';
import type { HeldPolls } from './held-polls.ts';
import { terminationBody } from './messages.ts';
import { expiryFromNow, signSession } from './session.ts';
import type { Session } from './session.ts';
import type { SessionTable } from './session-table.ts';
import type { TerminationMemory } from './termination-memory.ts';
import type { TimerWheel } from './timer-wheel.ts';

export interface EndingsOptions {
  limits: Limits;
  registry: StreamRegistry;
  signer: Signer;
  log: EventLog;
  wheel: TimerWheel;
  table: SessionTable;
  held: HeldPolls;
  memory: TerminationMemory;
  restartGuard: boolean;
  /** Longest wait asked of a poll or close (SSP-LIFETIME-7). */
  sessionRetryMs: number;
}

type HolderReason = 'complete' | 'error' | 'closed' | 'expired' | 'revoked';

export class SessionEndings {
  readonly #o: EndingsOptions;

  constructor(options: EndingsOptions) {
    this.#o = options;
  }

  /**
   * Ends a session: stops its producer, frees its log and timers, answers a held poll, and
   * remembers the termination body so every later poll or close gets it identically (§7).
   */
  terminate(session: Session, reason: HolderReason, end?: StreamEnd): string {
    const { channel } = session;
    const last = channel.head - session.base;
    // Its signature expires like any other, within the memory of the termination: a signature
    // never outlives it, so a finished resumable session can never be re-created (§4).
    const sig = signSession(this.#o.signer, this.#o.limits, session, last);
    const body = terminationBody(sig, reason, last, advise(reason, end), end?.reason === 'error' ? end.error : undefined);
    this.#detach(session, body);
    // A session's own channel goes with it (its termination is remembered below); a topic stays.
    if (session.stream.definition.topic === undefined) {
      const deleted = this.#o.log.delete(channel.name);
      if (isPromise(deleted)) deleted.catch((error: unknown) => console.error('xanjax: event log delete failed:', error));
    }
    this.#o.memory.remember(session.key.sessionId, body);
    return body;
  }

  /**
   * SSP-SIGNATURE-13: close of a forgotten session of a resumable stream is answered "as if
   * the session still existed at the signature's position", and remembered, so that its
   * signatures can no longer resume it (SSP-CLOSE-6). No producer is started for it. A
   * revocation of a forgotten session (SSP-AUTH-6) ends it the same way.
   */
  endForgotten(state: SignedState, reason: 'closed' | 'revoked'): string {
    assertNotGuarded(state, this.#o.restartGuard, this.#o.sessionRetryMs);
    if (!this.#o.registry.get(state.stream)?.resumable) throw forgotten();
    const key = this.#o.signer.key(state.sessionId, state.stream, state.params);
    const sig = this.#o.signer.sign(key, state.position, expiryFromNow(this.#o.limits));
    const body = terminationBody(sig, reason, state.position, advise(reason, undefined));
    this.#o.memory.remember(state.sessionId, body);
    return body;
  }

  /**
   * The termination a durable log remembers for the session (closed on another instance, or
   * before a restart); a local copy of that session is dropped. Throws `unavailable` when
   * the log cannot be asked.
   */
  async rememberedElsewhere(id: string): Promise<string | undefined> {
    const store = this.#o.log.sessions;
    if (!store) return undefined;
    const found = store.termination(id);
    const body = isPromise(found) ? await found : found;
    if (body === undefined) return undefined;
    const session = this.#o.table.get(id);
    if (session) this.#drop(session, body);
    return body;
  }

  /** §7 idle lifetime: a session without a held poll and no request for idleTimeoutMs → expired. */
  checkIdle(session: Session): void {
    if (!this.#o.table.holds(session)) return;
    // A held poll keeps its session alive: its timer is for the hold.
    if (session.held || session.lastActive + this.#o.limits.idleTimeoutMs > Date.now()) this.#o.held.arm(session);
    else if (this.#o.log.sessions) void this.#expireShared(session);
    else this.terminate(session, 'expired');
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
    if (!this.#o.table.holds(session)) return;
    if (remembered !== undefined) return this.#drop(session, remembered);
    if (!active) return void this.terminate(session, 'expired');
    session.lastActive = Date.now();
    this.#o.held.arm(session);
  }

  /** Forgets a local session that ended elsewhere (its termination `body` is remembered there). */
  #drop(session: Session, body: string): void {
    this.#detach(session, body);
    if (session.stream.definition.topic === undefined) {
      const released = this.#o.log.release?.(session.channel.name);
      if (isPromise(released)) released.catch((error: unknown) => console.error('xanjax: event log release failed:', error));
    }
    this.#o.memory.keep(session.key.sessionId, body);
  }

  /**
   * What every ending shares: the session leaves the table, its client reservation, timer,
   * producer, producer lease and channel watch are freed, and a held poll is answered `body`.
   */
  #detach(session: Session, body: string): void {
    const id = session.key.sessionId;
    this.#o.table.remove(session);
    this.#o.wheel.cancel(session.timer);
    session.timer = undefined;
    session.producer?.stop();
    this.#o.log.sessions?.releaseProducer(id);
    session.channel.unwatch(session);
    const poll = session.held;
    if (poll) {
      this.#o.held.release(session);
      poll.send(body);
    }
  }
}

/** §7 reasons → advice. */
function advise(reason: TerminationMessage['reason'], end: StreamEnd | undefined): Advice {
  if (reason === 'expired') return { action: 'reopen' };
  if (reason === 'error' && end?.reason === 'error' && end.advice === 'reopen') return { action: 'reopen', delayMs: 1000 };
  return { action: 'none' };
}
