// The multiplexed sessions this process holds, within the session limits (overall and per
// client, SSP-SECURITY-6): made at open, or re-made from the log's record or a restating
// poll, where two polls racing to re-make one session get the same one.
import type { EventLog } from '../event-log/types.ts';
import { ClientCounts } from '../holder/client-counts.ts';
import type { AdmissionLimits } from '../holder/client-counts.ts';
import type { TimerWheel } from '../holder/timer-wheel.ts';
import { MuxSession } from './session.ts';

export interface TableOptions extends AdmissionLimits {
  log: EventLog;
  wheel: TimerWheel;
  idleTimeoutMs: number;
  /** What a session's channels, idle timer and delayed flush call. */
  wake(session: MuxSession): void;
  idle(session: MuxSession): void;
  flush(session: MuxSession): void;
}

export class SessionTable {
  readonly #o: TableOptions;
  readonly #sessions = new Map<string, MuxSession>();
  readonly #clients: ClientCounts;
  readonly #remaking = new Map<string, Promise<MuxSession>>();

  constructor(options: TableOptions) {
    this.#o = options;
    this.#clients = new ClientCounts(options);
  }

  get size(): number {
    return this.#sessions.size;
  }

  get(id: string): MuxSession | undefined {
    return this.#sessions.get(id);
  }

  /** True while `session` is the one this process holds under its id. */
  holds(session: MuxSession): boolean {
    return this.#sessions.get(session.id) === session;
  }

  values(): IterableIterator<MuxSession> {
    return this.#sessions.values();
  }

  start(id: string, client: string): MuxSession {
    this.#clients.admit(client, this.#sessions.size);
    const session = new MuxSession(id, client, this.#o.wake);
    session.idleTarget = { onTimer: () => this.#o.idle(session) };
    session.flushTarget = { onTimer: () => this.#o.flush(session) };
    this.#sessions.set(id, session);
    session.idleTimer = this.#o.wheel.schedule(Date.now() + this.#o.idleTimeoutMs, session.idleTarget);
    return session;
  }

  /** A session this process does not hold, made again by `fill` (its streams); let go of if that fails. */
  remake(id: string, client: string, fill: (session: MuxSession) => Promise<void>): Promise<MuxSession> {
    let remaking = this.#remaking.get(id);
    if (!remaking) {
      remaking = (async () => {
        const session = this.start(id, client);
        try {
          await session.serial(() => fill(session));
        } catch (error) {
          this.detach(session);
          throw error;
        }
        return session;
      })();
      this.#remaking.set(id, remaking);
      const done = () => this.#remaking.delete(id);
      remaking.then(done, done);
    }
    return remaking;
  }

  /** This process lets go of the session: its entry, idle timer, client count, producers, leases and channel watches. */
  detach(session: MuxSession): void {
    if (!this.holds(session)) return;
    this.#sessions.delete(session.id);
    this.#o.wheel.cancel(session.idleTimer);
    this.#clients.release(session.client);
    for (const stream of session.channels.values()) stream.detach(this.#o.log);
  }
}
