// Issue 14: the restart and multi-instance guarantees of the durable logs hold for
// multiplexed sessions. One session of twelve streams with mixed rates (test/multiplex/
// exactly-once.ts), answers lost on the way, against each event log: the memory log; the
// file log, its server killed (SIGKILL) mid-stream and restarted on the same folder; the
// Redis log, polls alternating between two instances, one of them killed mid-stream and
// replaced, its producers taken over by the other instances through their leases. And on
// Redis, a poll held on one instance is superseded from another, and answers a close made there.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openPublisher } from '../../reference-server/durable/publish.ts';
import type { Publisher } from '../../reference-server/durable/publish.ts';
import type { SspServer } from '../../reference-server/index.ts';
import { sessionIdOf } from '../../reference-server/signature.ts';
import { exactlyOnce } from '../multiplex/exactly-once.ts';
import { post, start } from '../server/helpers.ts';
import { startRedis } from '../support/redis-server.ts';
import type { RedisServer } from '../support/redis-server.ts';
import { startInstance, stopInstance } from './redis-cluster.ts';
import type { Instance } from './redis-cluster.ts';

const args = (log: string) => ['--conformance', '--secret', 'mux-durable-secret', '--log', log, '--topic', 'news', '--idle', '15000', '--retain', '1000'];

const instances: Instance[] = [];
let publisher: Publisher | undefined;
afterEach(async () => {
  await publisher?.close();
  publisher = undefined;
  await Promise.all(instances.splice(0).map(stopInstance));
});

async function instance(log: string): Promise<Instance> {
  const started = await startInstance(args(log));
  instances.push(started);
  return started;
}

/** SIGKILL: no shutdown answer, no lease released, nothing flushed beyond what the log promises. */
async function kill(victim: Instance): Promise<void> {
  victim.child.kill('SIGKILL');
  expect(await victim.exited).toBe('SIGKILL');
}

describe('a multiplexed session of twelve streams, every event once and in order, per stream', () => {
  it('memory log: answers lost (polls aborted or dropped)', async () => {
    const server: SspServer = await start({ conformance: true, topics: ['news'], limits: { retainEvents: 1000, idleTimeoutMs: 15_000 } });
    try {
      const report = await exactlyOnce({ target: () => server.url, topic: 'news', publish: async (data) => server.handler.publish('news', data) });
      expect(report.aborted + report.dropped).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  }, 200_000);

  it('file log: the server is killed mid-stream and restarted on the same folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xanjax-mux-file-'));
    try {
      let server = await instance(`file:${dir}`);
      publisher = await openPublisher(`file:${dir}`);
      const report = await exactlyOnce({
        target: () => server.url,
        topic: 'news',
        publish: (data) => publisher!.publish('news', data),
        disrupt: async () => {
          await kill(server);
          server = await instance(`file:${dir}`);
        },
      });
      expect(report.aborted + report.dropped).toBeGreaterThan(0);
      // Polls sent while the server was down failed; the client went on with the same signature.
      expect(report.failed).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 200_000);

  describe('Redis log', () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      await redis?.dispose();
    });

    it('polls alternate between two instances; one is killed mid-stream and replaced', async () => {
      // The session opens on the first instance, which then runs every stream's producer.
      const pair = [await instance(redis.url), await instance(redis.url)];
      publisher = await openPublisher(redis.url);
      const report = await exactlyOnce({
        target: (n) => pair[n % 2]!.url,
        topic: 'news',
        publish: (data) => publisher!.publish('news', data),
        disrupt: async () => {
          await kill(pair[0]!);
          pair[0] = await instance(redis.url);
        },
      });
      expect(report.aborted + report.dropped).toBeGreaterThan(0);
      // Polls sent to the killed instance failed; the client went on elsewhere with the same signature.
      expect(report.failed).toBeGreaterThan(0);
    }, 200_000);

    // Holds of two minutes: a held poll that another instance failed to supersede or end would
    // outlast the test's own timeout.
    it('a poll held on one instance is superseded by a poll on another, and answers a close made there', async () => {
      const [a, b] = [await startInstance([...args(redis.url), '--hold', '120000']), await startInstance([...args(redis.url), '--hold', '120000'])];
      instances.push(a, b);
      const quiet = { stream: 'ssp.ticker', params: { intervalMs: 60000 } };
      const opened = await post(a.url, { ssp: 1, type: 'open', ...quiet, extensions: ['multiplex'], ext: { multiplex: { id: 'q', add: [{ id: 'r', ...quiet }] } } });
      const sig = opened.json.sig;
      const held = post(a.url, { ssp: 1, type: 'poll', sig, hold: 120000 });
      await waitHeld(redis.url, sig);
      const other = await post(b.url, { ssp: 1, type: 'poll', sig, hold: 0 });
      expect(other.json).toMatchObject({ type: 'batch', ext: { multiplex: { streams: [] } } });
      expect((await held).json).toMatchObject({ type: 'batch', ext: { multiplex: { streams: [] } } });

      const heldAgain = post(a.url, { ssp: 1, type: 'poll', sig: other.json.sig, hold: 120000 });
      await waitHeld(redis.url, other.json.sig);
      const closed = await post(b.url, { ssp: 1, type: 'close', sig: other.json.sig });
      expect(closed.json).toMatchObject({ type: 'termination', reason: 'closed' });
      expect(closed.json.ext.multiplex.streams.map((part: any) => [part.id, part.termination.reason]).sort()).toEqual([
        ['q', 'closed'],
        ['r', 'closed'],
      ]);
      expect((await heldAgain).text).toBe(closed.text);
    }, 60_000);
  });
});

/** Until an instance holds a poll of the session: Redis names the instance holding one (bounded). */
async function waitHeld(redisUrl: string, sig: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    for (let i = 0; i < 400; i++) {
      if ((await redis.exists(`xanjax:held:${sessionIdOf(sig, 2)}`)) === 1) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error('no instance reported holding the poll within 10 s');
  } finally {
    redis.disconnect();
  }
}
