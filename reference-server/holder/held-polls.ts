// Holding a poll and letting go of it (§5, §7): the hold timer, the close listener, the idle
// clock (a held poll keeps its session alive; the clock restarts when the poll ends), and the
// shared log's view of where the session is held.
import type { EventLog } from '../event-log/types.ts';
import type { Limits } from '../limits.ts';
import type { Poll } from './poll.ts';
import type { Session } from './session.ts';
import type { SessionTable } from './session-table.ts';
import type { TimerWheel } from './timer-wheel.ts';

export class HeldPolls {
  count = 0;

  constructor(
    readonly table: SessionTable,
    readonly wheel: TimerWheel,
    readonly log: EventLog,
    readonly limits: Limits,
  ) {}

  hold(session: Session, poll: Poll, holdMs: number): void {
    // The client left while its body was read: there is no one to hold for.
    const socket = poll.res.socket;
    if (poll.res.destroyed || !socket || socket.destroyed) return;
    session.held = poll;
    this.count++;
    // §7: a held poll keeps its session alive, and the idle clock restarts when it ends, so a
    // held session needs no idle deadline until release: one timer handle per held session, not two.
    this.wheel.cancel(session.idleTimer);
    session.idleTimer = undefined;
    this.log.sessions?.holding(session.key.sessionId, holdMs);
    poll.timer = this.wheel.schedule(Date.now() + holdMs, poll);
    // The client went away: nothing to answer, and the session's idle clock starts again.
    poll.watchClose();
  }

  /** Detaches the held poll (the caller answers it); a live session's idle clock starts again. */
  release(session: Session, poll: Poll): void {
    session.held = undefined;
    session.lastActive = Date.now();
    if (this.table.holds(session)) {
      // One idle deadline per session: a shared log's idle check may have set one meanwhile.
      this.wheel.cancel(session.idleTimer);
      session.idleTimer = this.wheel.schedule(session.lastActive + this.limits.idleTimeoutMs, session);
    }
    // The idle clock restarts when a request ends (§7), on whichever instance it was.
    this.log.sessions?.touchSession(session.key.sessionId, this.limits.idleTimeoutMs + this.limits.maxHoldMs);
    this.count--;
    this.wheel.cancel(poll.timer);
  }
}
