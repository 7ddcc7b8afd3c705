// A session as this process holds it (spec §7): its key, its channel and cursor base, its held
// poll, the newest signature it issued, and its timers. It is its own channel watcher and idle
// timer target, so a session costs no closures.
import type { Channel, ChannelWatcher } from '../event-log/types.ts';
import type { Limits } from '../limits.ts';
import type { SessionKey, Signer } from '../signature.ts';
import type { RunningProducer } from '../streams/pump.ts';
import type { RegisteredStream } from '../streams/registry.ts';
import type { Poll } from './poll.ts';
import type { TimerHandle, TimerTarget } from './timer-wheel.ts';

/** What a session tells its holder: its channel changed, its deadline passed, a delayed flush is due. */
export interface SessionEvents {
  wake(session: Session): void;
  /** The session's one timer fired: its held poll's hold or its idle time may have passed (./held-polls.ts). */
  due(session: Session): void;
  flush(session: Session): void;
}

export class Session implements ChannelWatcher, TimerTarget {
  held: Poll | undefined;
  /** True while the session table holds this session under its id (a flag, not a lookup per poll). */
  live = false;
  /**
   * Polls received (each poll notes its turn): an older one that finishes an asynchronous read
   * later is superseded. A count, not the newest poll, so an answered poll is not kept alive
   * (with its request and response) for a whole poll cycle, which made them outlive the young
   * generation and cost the garbage collector.
   */
  polls = 0;
  lastActive = Date.now();
  /**
   * The MAC of the newest signature issued for the session, with what it encodes (the
   * signature itself is rebuilt from these to recognize it: 43 characters kept, not ~150).
   */
  lastMac: string | undefined;
  lastPosition = 0;
  lastExpiresAt = 0;
  flushPending = false;
  /** The session's one deadline on the wheel, for its held poll's hold or its idle time (./held-polls.ts). */
  timer: TimerHandle | undefined;
  producer: RunningProducer | undefined;
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

  /** The session is its own timer's target. */
  onTimer(): void {
    this.timer = undefined;
    this.events.due(this);
  }
}

/** §4: expiry = issue time + idleTimeoutMs + the longest hold it may be used for. */
export function expiryFromNow(limits: Limits): number {
  return Date.now() + limits.idleTimeoutMs + limits.maxHoldMs;
}

/** Signs, and remembers the signature as the session's newest (see the poll's fast path). */
export function signSession(signer: Signer, limits: Limits, session: Session, position: number): string {
  const expiresAt = expiryFromNow(limits);
  const [sig, mac] = signer.signKeepingMac(session.key, position, expiresAt);
  session.lastMac = mac;
  session.lastPosition = position;
  session.lastExpiresAt = expiresAt;
  return sig;
}
