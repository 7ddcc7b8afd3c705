// One poll request (spec §5-§6), answered at once or held. Its hold ends on its session's
// timer (./held-polls.ts), and every held response shares one `close` listener: no closures
// per poll.
import { sendJson } from './http.ts';
import type { SspResponse } from './http.ts';
import type { Session } from './session.ts';

/** What a held poll tells its holder: its client went away. */
export interface PollEvents {
  gone(session: Session, poll: Poll): void;
}

export class Poll {
  /** The timer wheel's tick the hold ends at, once held (a small integer, not an epoch time's boxed number). */
  holdTick = 0;
  /** Which of its session's polls this is (Session.polls when it arrived). */
  turn = 0;

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

  /** The client went away while the poll was held: its `gone` event. */
  watchClose(): void {
    const res = this.res as PolledResponse;
    res[POLL] = this;
    res.on('close', onResponseClose);
  }
}

const POLL = Symbol('xanjax.poll');
type PolledResponse = SspResponse & { [POLL]?: Poll };

/** One listener function for every held response (no closure per poll). */
function onResponseClose(this: PolledResponse): void {
  const poll = this[POLL];
  if (poll) poll.events.gone(poll.session, poll);
}
