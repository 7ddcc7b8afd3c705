// A multiplexed held poll whose asynchronous log read fails, woken by an event or at the end
// of its hold: `unavailable` with a retryAfterMs the session outlives (SSP-LIFETIME-7), no
// unhandled rejection, and the event is delivered once the log reads again.
import { afterAll, expect, it } from 'vitest';
import type { SspServer } from '../../reference-server/index.ts';
import { FailingReadLog } from '../server/failing-read-log.ts';
import { post, sleep, start } from '../server/helpers.ts';

const servers: SspServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.close();
});

const pollMux = (url: string, sig: string, hold: number) => post(url, { ssp: 1, type: 'poll', sig, hold });

async function heldMuxPoll(log: FailingReadLog, holdMs: number) {
  const server = await start({ topics: ['news'], eventLog: log, retryAfterMs: 10_000, limits: { idleTimeoutMs: 4000 } });
  servers.push(server);
  const opened = await post(server.url, { ssp: 1, type: 'open', stream: 'news', params: {}, extensions: ['multiplex'], ext: { multiplex: { id: 'n' } } });
  expect(opened.json.extensions).toEqual(['multiplex']);
  const sig: string = opened.json.sig;
  const before = log.reads;
  const held = pollMux(server.url, sig, holdMs);
  // Held once its first read (nothing yet) has come back empty.
  while (server.handler.stats().heldPolls === 0 || log.reads === before) await sleep(5);
  return { server, sig, held };
}

function expectUnavailable(answer: { status: number; json: any }) {
  expect(answer.status).toBe(503);
  expect(answer.json.code).toBe('unavailable');
  expect(answer.json.retryAfterMs).toBeGreaterThan(0);
  expect(answer.json.retryAfterMs).toBeLessThanOrEqual(2000);
}

const rejections: unknown[] = [];
process.on('unhandledRejection', (reason) => rejections.push(reason));

it('a read failing when an event wakes the held poll answers unavailable, and the event is delivered after', async () => {
  const log = new FailingReadLog();
  const { server, sig, held } = await heldMuxPoll(log, 5000);
  log.failing = true;
  server.publish('news', 'lost?');
  expectUnavailable(await held);
  log.failing = false;
  const again = await pollMux(server.url, sig, 0);
  expect(again.json.ext.multiplex.streams).toEqual([{ id: 'n', events: [{ seq: 1, data: 'lost?' }] }]);
  expect(rejections).toEqual([]);
});

it('a read failing at the end of the hold answers unavailable, and the session lives on', async () => {
  const log = new FailingReadLog();
  const { server, sig, held } = await heldMuxPoll(log, 300);
  log.failing = true;
  expectUnavailable(await held);
  expect(server.handler.stats().heldPolls).toBe(0);
  log.failing = false;
  server.publish('news', 'after');
  const again = await pollMux(server.url, sig, 0);
  expect(again.json.ext.multiplex.streams).toEqual([{ id: 'n', events: [{ seq: 1, data: 'after' }] }]);
  expect(rejections).toEqual([]);
});
