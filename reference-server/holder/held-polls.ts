// Holding a poll and letting go of it (§5, §7): the close listener, the shared log's view of
// where the session is held, and the session's one deadline. A held poll keeps its session
// alive and the idle clock restarts when it ends (§7), so a session is due either at its held
// poll's hold end or at its idle end, never both: one timer per session serves both. It is
// moved lazily, like a cursor: a timer due no later than the new deadline stays, fires, and
// is set again from the session's state then. A poll cycle (hold, then release) thus costs no
// timer operation; a session's timer is set again about once per hold.
import type { EventLog } from '../event-log/types.ts';
import type { Limits } from '../limits.ts';
import type { Poll } from './poll.ts';
import type { Session } from './session.ts';
import type { TimerWheel } from './timer-wheel.ts';

export class HeldPolls {
  count = 0;

  constructor(
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
    poll.holdTick = this.wheel.tickOf(Date.now() + holdMs);
    this.log.sessions?.holding(session.key.sessionId, holdMs);
    this.arm(session);
    // The client went away: nothing to answer, and the session's idle clock starts again.
    poll.watchClose();
  }

  /** Detaches the held poll (the caller answers it); a live session's idle clock starts again. */
  release(session: Session): void {
    session.held = undefined;
    session.lastActive = Date.now();
    this.arm(session);
    // The idle clock restarts when a request ends (§7), on whichever instance it was.
    this.log.sessions?.touchSession(session.key.sessionId, this.limits.idleTimeoutMs + this.limits.maxHoldMs);
    this.count--;
  }

  /** The wheel tick the session is due at: its held poll's hold end, or else its idle end. */
  due(session: Session): number {
    return session.held ? session.held.holdTick : this.wheel.tickOf(session.lastActive + this.limits.idleTimeoutMs);
  }

  /** Sets the session's timer for its deadline, unless it already fires by then (see above). */
  arm(session: Session): void {
    if (!session.live) return;
    const due = this.due(session);
    const timer = session.timer;
    if (timer !== undefined) {
      if (timer.tick <= due) return;
      this.wheel.cancel(timer);
    }
    session.timer = this.wheel.scheduleTick(due, session);
  }
}
