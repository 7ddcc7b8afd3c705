// Issue 14: the restart and multi-instance guarantees of the durable logs hold for
// multiplexed sessions. One session of twelve streams with mixed rates (test/multiplex/
// exactly-once.ts), answers lost on the way, against each event log: the memory log; the
// file log, its server killed (SIGKILL) mid-stream and restarted on the same folder; the
// Redis log, polls alternating between two instances, one of them killed mid-stream and
// replaced, its producers taken over by the other instances through their leases.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openPublisher } from '../../reference-server/durable/publish.ts';
import type { Publisher } from '../../reference-server/durable/publish.ts';
import type { SspServer } from '../../reference-server/index.ts';
import { exactlyOnce } from '../multiplex/exactly-once.ts';
import { start } from '../server/helpers.ts';
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
    afterAll(async () => {
      await redis?.dispose();
    });

    it('polls alternate between two instances; one is killed mid-stream and replaced', async () => {
      redis = await startRedis();
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
  });
});
