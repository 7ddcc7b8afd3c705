// An instance lets go of a session that went on, and ended, on another instance: its copy of
// the session's channel and that channel's wake subscription are freed once its idle check
// finds the termination (EventLog.release), for plain and multiplexed sessions alike. Without
// it, every session a client moved away from would stay subscribed on the instance it left.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelKeys } from '../../reference-server/durable/redis-format.ts';
import { RedisEventLog } from '../../reference-server/durable/redis-log.ts';
import { sessionChannel } from '../../reference-server/event-log/types.ts';
import type { SspServer } from '../../reference-server/index.ts';
import { sessionIdOf } from '../../reference-server/signature.ts';
import { post, start } from '../server/helpers.ts';
import { startRedis } from '../support/redis-server.ts';
import type { RedisServer } from '../support/redis-server.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const IDLE = 2000;

let redis: RedisServer;
let admin: Redis;
let a: SspServer;
let b: SspServer;
beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url, { maxRetriesPerRequest: 0, commandTimeout: 10_000 });
  const server = async () => {
    const log = new RedisEventLog(redis.url);
    await log.ready();
    return start({ conformance: true, secret: 'release-test-secret-0123456789', eventLog: log, limits: { idleTimeoutMs: IDLE } });
  };
  [a, b] = await Promise.all([server(), server()]);
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  admin?.disconnect();
  await redis?.dispose();
});

/** Connections subscribed to the wake channel of a channel (one per instance holding a copy). */
async function subscribers(channel: string): Promise<number> {
  const [, count] = (await admin.pubsub('NUMSUB', channelKeys(channel).wake)) as [string, number];
  return count;
}

/** Waits, bounded, until `count` instances are subscribed; returns the last count seen. */
async function settlesAt(channel: string, count: number, withinMs: number): Promise<number> {
  const until = Date.now() + withinMs;
  let seen = await subscribers(channel);
  while (seen !== count && Date.now() < until) {
    await sleep(100);
    seen = await subscribers(channel);
  }
  return seen;
}

const ask = (server: SspServer, body: Record<string, unknown>) => post(server.url, { ssp: 1, ...body });
const counter = { type: 'open', stream: 'ssp.counter', params: { count: 1000, intervalMs: 200 } };

/**
 * Opens a session on a and polls it there, then polls and closes it on b: a must let go of
 * the session's channel (`channelOf` names it once a has read it) at its idle check.
 */
async function movesAndEnds(open: Record<string, unknown>, channelOf: (sig: string) => Promise<string>): Promise<void> {
  const opened = await ask(a, open);
  const first = await ask(a, { type: 'poll', sig: opened.json.sig, hold: 0 });
  expect(first.status).toBe(200);
  const channel = await channelOf(opened.json.sig as string);
  const second = await ask(b, { type: 'poll', sig: first.json.sig, hold: 0 });
  expect(second.status).toBe(200);
  // Both instances read the session's channel now.
  expect(await subscribers(channel)).toBe(2);
  const closed = await ask(b, { type: 'close', sig: second.json.sig });
  expect(closed.json.type).toBe('termination');
  // a learns of the end at its idle check (within the idle time, and more for a loaded machine).
  expect(await settlesAt(channel, 0, 3 * IDLE)).toBe(0);
  // And answers the session's signatures with the termination b remembered.
  expect((await ask(a, { type: 'poll', sig: second.json.sig, hold: 0 })).json).toEqual(closed.json);
}

describe('an instance frees its copy of a session that ended on another instance', () => {
  it('a plain session: polled on a, then polled and closed on b', async () => {
    await movesAndEnds(counter, async (sig) => sessionChannel(sessionIdOf(sig)!));
  });

  it('a multiplexed session: polled on a, then polled and closed on b', async () => {
    await movesAndEnds({ ...counter, extensions: ['multiplex'], ext: { multiplex: { id: 'c' } } }, async () => {
      // The stream's own channel (`session:<session id>/<stream id>`), the only multiplexed one here.
      const wakes = (await admin.pubsub('CHANNELS', 'xanjax:{session:*/c}:wake')) as string[];
      expect(wakes).toHaveLength(1);
      return /^xanjax:\{(.*)\}:wake$/.exec(wakes[0]!)![1]!;
    });
  });
});
