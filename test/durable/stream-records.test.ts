// A multiplexed session's record in the durable logs' session stores (mergeStreams /
// loadStreams, spec §23.6): merges keep the first record of each stream id (its base with it)
// and the first termination of each stream, so instances that update one record at once
// agree; the file store's records survive a restart; a remembered termination ends the record.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSessionStore } from '../../reference-server/durable/file-state.ts';
import { RedisEventLog } from '../../reference-server/durable/redis-log.ts';
import type { SessionStore, StreamRecord } from '../../reference-server/event-log/session-store.ts';
import { startRedis } from '../support/redis-server.ts';
import type { RedisServer } from '../support/redis-server.ts';

const LIFE = 60_000;
const topic = (base: number): StreamRecord => ({ id: 'news', stream: 'news', params: {}, base });
const counter: StreamRecord = { id: 'c', stream: 'ssp.counter', params: { count: 3, tags: [] }, base: 0 };
const complete = { reason: 'complete', last: 3, advice: { action: 'none' } } as const;
const closed = { reason: 'closed', last: 1, advice: { action: 'none' } } as const;
const byId = (streams: StreamRecord[] | undefined) => Object.fromEntries((streams ?? []).map((stream) => [stream.id, stream]));

/** The merge rules, the same for every store. */
async function mergesAgree(store: SessionStore, id: string): Promise<void> {
  expect(await store.loadStreams(id)).toBeUndefined();
  expect(byId(await store.mergeStreams(id, [topic(7)], LIFE))).toEqual({ news: topic(7) });
  // Another instance added the same topic stream from another head, and a counter: the first base stays.
  expect(byId(await store.mergeStreams(id, [topic(9), counter], LIFE))).toEqual({ news: topic(7), c: counter });
  // The first termination of a stream stays; a later, different one does not replace it.
  await store.mergeStreams(id, [{ ...counter, termination: complete }], LIFE);
  expect(byId(await store.mergeStreams(id, [{ ...counter, termination: closed }], LIFE)).c).toEqual({ ...counter, termination: complete });
  // Params come back exactly as stored (an empty array stays an array: the digest covers them).
  expect(byId(await store.loadStreams(id))).toEqual({ news: topic(7), c: { ...counter, termination: complete } });
  // The session's own termination ends its record.
  await store.rememberTermination(id, '{"type":"termination"}', LIFE);
  expect(await store.loadStreams(id)).toBeUndefined();
}

describe('file session store', () => {
  it('merges stream records by the first-wins rules, and keeps them across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xanjax-stream-records-'));
    try {
      const store = new FileSessionStore(dir, (error) => error as Error);
      await mergesAgree(store, 'mux-a');
      store.mergeStreams('mux-b', [counter, topic(3)], LIFE);
      store.close();
      const restarted = new FileSessionStore(dir, (error) => error as Error);
      expect(byId(restarted.loadStreams('mux-b'))).toEqual({ c: counter, news: topic(3) });
      // A plain session's record is not a multiplexed one, and the other way round.
      expect(restarted.loadSession('mux-b')).toBeUndefined();
      restarted.saveSession('plain', { stream: 'news', params: {}, base: 0 }, LIFE);
      expect(restarted.loadStreams('plain')).toBeUndefined();
      restarted.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Redis session store', () => {
  let redis: RedisServer;
  const logs: RedisEventLog[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(logs.map((log) => log.close()));
    await redis?.dispose();
  });

  it('merges stream records by the first-wins rules; instances merging at once agree', async () => {
    const [a, b] = [new RedisEventLog(redis.url), new RedisEventLog(redis.url)];
    logs.push(a, b);
    await Promise.all([a.ready(), b.ready()]);
    await mergesAgree(a.sessions, 'mux-a');
    // Two instances add streams to one record at the same moment: both see every stream, with one base each.
    const [fromA, fromB] = await Promise.all([
      a.sessions.mergeStreams('mux-b', [topic(1), counter], LIFE),
      b.sessions.mergeStreams('mux-b', [topic(2), { ...counter, id: 'd' }], LIFE),
    ]);
    expect(byId(fromB)).toEqual(byId(await a.sessions.loadStreams('mux-b')));
    expect(Object.keys(byId(fromB)).sort()).toEqual(['c', 'd', 'news']);
    expect(byId(fromA).news).toEqual(byId(fromB).news);
  });
});
