// An asynchronous event log that fails to read while a poll is held: the poll gets
// `unavailable` (retryable), and its retryAfterMs keeps the session alive (SSP-LIFETIME-7:
// at most idleTimeoutMs / 2 in an answer to a poll), whatever the server's retryAfterMs.
import { afterAll, expect, it } from 'vitest';
import type { SspServer } from '../../reference-server/index.ts';
import { FailingReadLog } from './failing-read-log.ts';
import { open, poll, sleep, start } from './helpers.ts';

const servers: SspServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.close();
});

it('a read failing under a held poll answers unavailable with retryAfterMs at most idleTimeoutMs / 2, and the session lives on', async () => {
  const log = new FailingReadLog();
  const server = await start({ topics: ['news'], eventLog: log, retryAfterMs: 10_000, limits: { idleTimeoutMs: 4000 } });
  servers.push(server);
  const sig = await open(server.url, 'news');
  const before = log.reads;
  const held = poll(server.url, sig, 5000);
  // Held once its first read (nothing yet) has come back empty.
  while (log.reads === before) await sleep(5);
  await sleep(20);
  log.failing = true;
  server.publish('news', 'lost?');
  const failed = await held;
  expect(failed.status).toBe(503);
  expect(failed.json.code).toBe('unavailable');
  expect(failed.json.retryAfterMs).toBeGreaterThan(0);
  expect(failed.json.retryAfterMs).toBeLessThanOrEqual(2000);
  // Nothing lost: once the log reads again, the same signature gets the event.
  log.failing = false;
  expect((await poll(server.url, sig, 0)).json.events).toEqual([{ seq: 1, data: 'lost?' }]);
});
