// A session's one deadline (reference-server/holder/held-polls.ts): its held poll's hold end or
// its idle end, on one timer that is moved lazily. A poll cycle costs no timer operation, and
// a timer left at an earlier deadline neither ends a later hold early nor expires the session.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HeldPolls } from '../../reference-server/holder/held-polls.ts';
import { Poll } from '../../reference-server/holder/poll.ts';
import type { SspResponse } from '../../reference-server/holder/http.ts';
import { Session } from '../../reference-server/holder/session.ts';
import type { SessionEvents } from '../../reference-server/holder/session.ts';
import { TimerWheel } from '../../reference-server/holder/timer-wheel.ts';
import type { EventLog } from '../../reference-server/event-log/types.ts';
import { defaultLimits } from '../../reference-server/limits.ts';
import type { SspServer } from '../../reference-server/index.ts';
import { open, poll, sleep, start } from './helpers.ts';

const limits = { ...defaultLimits, maxHoldMs: 1000, idleTimeoutMs: 2000 };

function fixture() {
  const wheel = new TimerWheel(5);
  const events: SessionEvents = { wake() {}, flush() {}, due() {} };
  const session = new Session({ sessionId: 's' } as never, {} as never, {} as never, 0, 'client', events);
  session.live = true;
  session.timer = wheel.schedule(session.lastActive + limits.idleTimeoutMs, session);
  const held = new HeldPolls(wheel, {} as EventLog, limits);
  const res = { destroyed: false, socket: { destroyed: false }, on() {} } as unknown as SspResponse;
  const newPoll = () => new Poll(session, { gone() {} }, res, undefined, 0, 0);
  return { wheel, session, held, newPoll };
}

it('a hold and its release move no timer while the deadline only gets later', async () => {
  const { wheel, session, held, newPoll } = fixture();
  held.hold(session, newPoll(), 500);
  const armed = session.timer;
  expect(held.due(session)).toBeGreaterThan(wheel.tickOf(Date.now() + 400));
  for (let cycle = 0; cycle < 20; cycle++) {
    held.release(session);
    await sleep(1);
    held.hold(session, newPoll(), 500);
    expect(session.timer).toBe(armed);
  }
  expect(wheel.size).toBe(1);
  wheel.clear();
});

it('a deadline earlier than the armed one moves the timer (one timer still)', () => {
  const { wheel, session, held, newPoll } = fixture();
  const idle = session.timer;
  held.hold(session, newPoll(), 100);
  expect(session.timer).not.toBe(idle);
  expect(wheel.size).toBe(1);
  expect(session.timer!.tick).toBeLessThanOrEqual(wheel.tickOf(Date.now() + 100));
  wheel.clear();
});

it('a session that left the table gets no timer', () => {
  const { wheel, session, held, newPoll } = fixture();
  wheel.cancel(session.timer);
  session.timer = undefined;
  session.live = false;
  held.hold(session, newPoll(), 100);
  expect(session.timer).toBeUndefined();
  expect(wheel.size).toBe(0);
});

let server: SspServer;
beforeAll(async () => {
  server = await start({ topics: ['news'], limits: { maxHoldMs: 1000, batchDelayMs: 0, idleTimeoutMs: 2000 } });
});
afterAll(() => server.close());

it('a hold that ends after the timer set for an earlier hold is answered at its own end, not before', async () => {
  const sig = await open(server.url, 'news');
  const first = poll(server.url, sig, 400);
  await sleep(100);
  server.publish('news', { n: 1 });
  const delivered = await first;
  expect(delivered.json.events).toHaveLength(1);
  // The timer still stands at the first hold's end, about 300 ms from here.
  const started = Date.now();
  const second = await poll(server.url, delivered.json.sig, 400);
  expect(second.json).toMatchObject({ type: 'batch', events: [] });
  expect(Date.now() - started).toBeGreaterThanOrEqual(400);
});

it('a session whose timer was set for a hold expires at its idle end, not at the hold end', async () => {
  const sig = await open(server.url, 'news');
  const held = poll(server.url, sig, 300);
  await sleep(50);
  server.publish('news', { n: 2 });
  const { json } = await held;
  const lastRequestEnded = Date.now();
  // The timer fires at the hold's end (about 250 ms from here): idle time has not passed then.
  await sleep(1200);
  const alive = await poll(server.url, json.sig, 0);
  expect(alive.json).toMatchObject({ type: 'batch' });
  // Idle from the end of that request: expired about 2 s later.
  await sleep(2300);
  expect(Date.now() - lastRequestEnded).toBeGreaterThan(2000);
  expect((await poll(server.url, alive.json.sig, 0)).json).toMatchObject({ type: 'termination', reason: 'expired' });
});
