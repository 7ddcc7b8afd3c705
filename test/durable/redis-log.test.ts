// The Redis log with several instances: three `xanjax serve --log redis://…` processes on one
// redis-server behind nginx round-robin (no sticky sessions), a SIGKILL of one of them while
// clients poll (every client's exact sequence checked), termination memory shared between
// instances, and a Redis that becomes unreachable (unavailable + Retry-After, then recovery
// with nothing lost). Events come from another process: `xanjax publish` reading stdin.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SspError } from '../../reference-server/errors.ts';
import { RedisEventLog } from '../../reference-server/durable/redis-log.ts';
import type { ReadResult } from '../../reference-server/event-log/types.ts';
import { SerializedData } from '../../reference-server/event-log/types.ts';
import { createServer } from '../../reference-server/index.ts';
import { close, open, poll } from '../server/helpers.ts';
import { documentedLines, startNginx } from '../helpers/nginx.ts';
import type { RunningNginx } from '../helpers/nginx.ts';
import { startRedis } from '../support/redis-server.ts';
import type { RedisServer } from '../support/redis-server.ts';
import { startTcpRelay } from '../support/tcp-relay.ts';
import type { TcpRelay } from '../support/tcp-relay.ts';
import { startInstance, stopInstance } from './redis-cluster.ts';
import type { Instance } from './redis-cluster.ts';

const xanjax = fileURLToPath(new URL('../../bin/xanjax.js', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const numbers = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A client of one session that re-polls with its newest signature after any failure (bounded by the caller). */
class Reader {
  events: Array<{ seq: number; data: any }> = [];
  termination: any;
  failures = 0;
  constructor(public sig: string) {}

  async step(url: string, hold = 1000): Promise<void> {
    let reply;
    try {
      reply = await poll(url, this.sig, hold);
    } catch {
      reply = undefined;
    }
    if (!reply || reply.status !== 200) {
      this.failures++;
      await sleep(100);
      return;
    }
    if (reply.json.type === 'termination') this.termination = reply.json;
    else {
      this.events.push(...reply.json.events);
      this.sig = reply.json.sig;
    }
  }
}

let redis: RedisServer;
/** A plain connection for the tests' own housekeeping. */
let admin: Redis;
beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url, { maxRetriesPerRequest: 0, commandTimeout: 10_000 });
});
afterAll(async () => {
  admin?.disconnect();
  await redis?.dispose();
});

// Each test removes the keys it created, passed or failed, so a failure cannot leave state
// that fails the next one. (Keys made before it, such as the instances' signing-key ids, stay.)
let keysBefore = new Set<string>();
beforeEach(async () => {
  keysBefore = new Set(await admin.keys('*'));
});
afterEach(async () => {
  const created = (await admin.keys('*')).filter((key) => !keysBefore.has(key));
  if (created.length > 0) await admin.del(...created);
});

/** A channel name no other test (or earlier run) uses. */
const unique = (name: string) => `${name}-${randomBytes(4).toString('hex')}`;

describe('three instances on one Redis behind nginx round-robin', () => {
  let instances: Instance[] = [];
  let nginx: RunningNginx;
  let url: string;
  const args = () => ['--conformance', '--secret', 'cluster-secret', '--log', redis.url, '--topic', 'news', '--idle', '15000', '--trust-proxy'];
  beforeAll(async () => {
    instances = await Promise.all([0, 1, 2].map(() => startInstance(args())));
    // Stock proxy_pass plus the lines README "Behind a reverse proxy" documents (default hold).
    nginx = await startNginx({ upstreams: instances.map((instance) => `http://${instance.address}`), locationLines: documentedLines(25_000) });
    url = `${nginx.origin}/ssp`;
  }, 180_000);
  afterAll(async () => {
    await nginx?.stop();
    await Promise.all(instances.map(stopInstance));
  });

  it('a session closed on one instance answers its termination on the others, identically', async () => {
    const [a, b, c] = instances;
    const sig = await open(a.url, 'news');
    const closed = await close(a.url, sig);
    expect(closed.json).toMatchObject({ type: 'termination', reason: 'closed' });
    for (const other of [b, c]) {
      const answer = await poll(other.url, sig, 0);
      expect(answer.text).toBe(closed.text);
    }
    // A completed session too: ssp.counter read on b and c in turn, then its end on a.
    let counter = await open(b.url, 'ssp.counter', { count: 3 });
    const seen: number[] = [];
    let termination;
    for (let i = 0; i < 40 && !termination; i++) {
      const r = await poll([b, c][i % 2].url, counter, 500);
      if (r.json.type === 'termination') termination = r.text;
      else {
        seen.push(...r.json.events.map((e: any) => e.seq));
        counter = r.json.sig;
      }
    }
    expect(seen).toEqual([1, 2, 3]);
    expect((await poll(a.url, counter, 0)).text).toBe(termination);
  }, 120_000);

  it('SIGKILL of one instance while clients poll through nginx: every client gets every event once, in order', async () => {
    const total = 60;
    const readers = await Promise.all([0, 1, 2, 3].map(async () => new Reader(await open(url, 'news'))));
    const counters = await Promise.all([0, 1].map(async () => new Reader(await open(url, 'ssp.counter', { count: 40, intervalMs: 100 }))));
    let stop = false;
    const loops = [
      ...readers.map(async (reader) => {
        for (let i = 0; i < 600 && !stop && reader.events.length < total; i++) await reader.step(url);
      }),
      ...counters.map(async (reader) => {
        for (let i = 0; i < 600 && !stop && !reader.termination; i++) await reader.step(url);
      }),
    ];
    // Another process publishes, one stdin line per event.
    const publisher = spawn(process.execPath, [xanjax, 'publish', '--log', redis.url, 'news'], { stdio: ['pipe', 'ignore', 'pipe'] });
    const published = new Promise((resolve) => publisher.once('exit', resolve));
    for (let n = 1; n <= total; n++) {
      publisher.stdin.write(`${JSON.stringify({ n })}\n`);
      await sleep(40);
      if (n === 20) {
        instances[0].child.kill('SIGKILL');
        expect(await instances[0].exited).toBe('SIGKILL');
      }
    }
    publisher.stdin.end();
    expect(await published).toBe(0);
    const bounded = sleep(90_000).then(() => (stop = true));
    await Promise.race([Promise.all(loops), bounded]);
    stop = true;
    for (const reader of readers) {
      expect(reader.events.map((e) => e.seq)).toEqual(numbers(1, total));
      expect(reader.events.map((e) => e.data.n)).toEqual(numbers(1, total));
    }
    // The counters' producers that ran on the killed instance were restarted elsewhere at the last appended event.
    for (const reader of counters) {
      expect(reader.events.map((e) => e.seq)).toEqual(numbers(1, 40));
      expect(reader.events.map((e) => e.data.n)).toEqual(numbers(1, 40));
      expect(reader.termination).toMatchObject({ reason: 'complete', last: 40 });
    }
    // nginx sent some polls to the dead instance: the clients saw failures and recovered.
    expect([...readers, ...counters].some((reader) => reader.failures > 0)).toBe(true);
  }, 240_000);
});

describe('Redis unreachable', () => {
  const limits = { maxEvents: 100, maxBytes: 1 << 20 };
  const single = { readers: 'single', retainEvents: 100, startAt: 0 } as const;
  /** Waits (bounded by count) until the stalled connection has swallowed a command. */
  const swallowed = async (relay: TcpRelay) => {
    for (let i = 0; i < 500 && relay.stalledBytes === 0; i++) await sleep(10);
    expect(relay.stalledBytes).toBeGreaterThan(0);
  };
  const unavailable = (error: unknown) => error instanceof SspError && error.code === 'unavailable';

  it('answers unavailable with Retry-After, then recovers with nothing lost', async () => {
    const relay = await startTcpRelay(redis.port);
    const server = await createServer({
      port: 0,
      conformance: true,
      topics: ['alerts'],
      limits: { idleTimeoutMs: 20_000 },
      retryAfterMs: 1000,
      log: `redis://127.0.0.1:${relay.port}`,
    });
    try {
      const topic = new Reader(await open(server.url, 'alerts'));
      const counter = new Reader(await open(server.url, 'ssp.counter', { count: 30, intervalMs: 30 }));
      server.publish('alerts', { n: 1 });
      await topic.step(server.url, 2000);
      expect(topic.events.map((e) => e.data.n)).toEqual([1]);
      // The connection first stops answering, so that commands are in flight when it drops.
      relay.stall();
      const refusing = fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ssp: 1, type: 'open', stream: 'alerts' }),
      });
      await swallowed(relay);
      relay.cut();
      const refused = await refusing;
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(await refused.json()).toMatchObject({ code: 'unavailable', retryable: true });
      const during = await poll(server.url, counter.sig, 0);
      expect(during.status).toBe(503);
      expect(during.json.code).toBe('unavailable');
      await sleep(300);
      relay.restore();
      // Back once the server answers polls again (it reconnects by itself); publish then.
      for (let i = 0; i < 100 && (await poll(server.url, topic.sig, 0)).status !== 200; i++) await sleep(100);
      server.publish('alerts', { n: 2 });
      for (let i = 0; i < 50 && topic.events.length < 2; i++) await topic.step(server.url, 500);
      for (let i = 0; i < 100 && !counter.termination; i++) await counter.step(server.url, 500);
      expect(topic.events.map((e) => e.data.n)).toEqual([1, 2]);
      expect(counter.events.map((e) => e.seq)).toEqual(numbers(1, 30));
      expect(counter.termination).toMatchObject({ reason: 'complete', last: 30 });
    } finally {
      await server.close();
      await relay.stop();
    }
  }, 180_000);

  it('a command in flight when the connection drops fails with it (not kept until Redis is back), and close() does not wait for Redis', async () => {
    const relay = await startTcpRelay(redis.port);
    const log = new RedisEventLog(`redis://127.0.0.1:${relay.port}`, { notice: () => {} });
    try {
      await log.ready();
      const channel = await log.channel(unique('session:inflight'), single);
      // The read is written to a connection that forwards nothing, then the connection drops
      // while Redis is still unreachable.
      relay.stall();
      const read = channel.read(0, limits).then(
        () => 'answered',
        (error: unknown) => (unavailable(error) ? 'unavailable' : error),
      );
      await swallowed(relay);
      relay.cut();
      expect(await read).toBe('unavailable');
      // Requests while Redis is away fail at once too.
      expect(await channel.read(0, limits).catch((error: unknown) => unavailable(error))).toBe(true);
      expect(await log.channel(unique('session:other'), single).catch((error: unknown) => unavailable(error))).toBe(true);
    } finally {
      await log.close();
      await relay.stop();
    }
  });

  it('a connection that stops answering without closing: commands fail after the command timeout, and the log reconnects by itself', async () => {
    const relay = await startTcpRelay(redis.port);
    const log = new RedisEventLog(`redis://127.0.0.1:${relay.port}`, { notice: () => {}, commandTimeoutMs: 500 });
    try {
      await log.ready();
      const name = unique('session:silent');
      const channel = await log.channel(name, single);
      relay.stall();
      expect(await channel.read(0, limits).catch((error: unknown) => unavailable(error))).toBe(true);
      // The silent connection is dropped; the next one goes through the relay, which forwards it.
      let read;
      for (let i = 0; i < 200 && !read; i++) read = await channel.read(0, limits).catch(() => sleep(50).then(() => undefined));
      expect(read).toEqual({ events: [] });
      // Its appends and wakes work again: another instance's append wakes this one's watcher.
      let woken = 0;
      channel.watch({ onChannelChange: () => woken++ });
      const other = new RedisEventLog(redis.url, { notice: () => {} });
      try {
        await other.ready();
        await (await other.channel(name, single)).append(SerializedData.of({ n: 1 }));
        for (let i = 0; i < 200 && woken === 0; i++) await sleep(25);
        expect(woken).toBeGreaterThan(0);
        expect((await channel.read(0, limits)).events.map((event) => event.seq)).toEqual([1]);
      } finally {
        await other.close();
      }
    } finally {
      await log.close();
      await relay.stop();
    }
  });

  it('wakes published while the subscriber was away are caught up once it is subscribed again', async () => {
    const relay = await startTcpRelay(redis.port);
    const log = new RedisEventLog(`redis://127.0.0.1:${relay.port}`, { notice: () => {} });
    const other = new RedisEventLog(redis.url, { notice: () => {} });
    try {
      await Promise.all([log.ready(), other.ready()]);
      const name = unique('topic:away');
      const shared = { readers: 'shared', retainEvents: 100, startAt: 0 } as const;
      const channel = await log.channel(name, shared);
      let woken = 0;
      channel.watch({ onChannelChange: () => woken++ });
      relay.cut();
      // Published on another instance while this one cannot hear it.
      await (await other.channel(name, shared)).append(SerializedData.of({ n: 1 }));
      relay.restore();
      for (let i = 0; i < 400 && channel.head < 1; i++) await sleep(25);
      expect(channel.head).toBe(1);
      expect(woken).toBeGreaterThan(0);
      expect((await channel.read(0, limits)).events.map((event) => event.seq)).toEqual([1]);
    } finally {
      await Promise.all([log.close(), other.close()]);
      await relay.stop();
    }
  });
});

describe('every instance reads the shared stream, not a window of its own', () => {
  const limits = { maxEvents: 100, maxBytes: 1 << 20 };
  const seqs = (result: ReadResult) => result.events.map((event) => event.seq);

  it('answers any position of a session stream identically, gaps and re-delivery included', async () => {
    const [a, b] = [new RedisEventLog(redis.url), new RedisEventLog(redis.url)];
    try {
      await Promise.all([a.ready(), b.ready()]);
      const options = { readers: 'single', retainEvents: 100, startAt: 0 } as const;
      const name = unique('session:identical');
      const writer = await a.channel(name, options);
      // Opened before the appends: b learns of them from the stream, not from a copy of its own.
      const reader = await b.channel(name, options);
      // Appended without waiting in between: one batched script, numbered 1..5 in order.
      await Promise.all([1, 2, 3, 4, 5].map((n) => writer.append(SerializedData.of({ n }))));
      for (const log of [writer, reader]) expect(seqs(await log.read(0, limits))).toEqual([1, 2, 3, 4, 5]);
      expect(reader.head).toBe(5);
      // The reader acknowledges 3 then 5 on instance a: the stream keeps the batch after 3.
      // Acknowledgements are not awaited (a lost one only keeps events longer); a's own read
      // runs after them on its connection, so b reads only once a's read has answered.
      writer.acknowledge(3);
      writer.acknowledge(5);
      for (const log of [writer, reader]) {
        const result = await log.read(0, limits);
        expect(result.gap).toEqual({ from: 1, to: 3 });
        expect(seqs(result)).toEqual([4, 5]);
      }
      await writer.end({ reason: 'complete' });
      await reader.read(5, limits);
      expect(reader.ended).toEqual({ reason: 'complete' });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('wakes its readers once per append: the echo of its own append on the wake channel reads nothing twice', async () => {
    const [a, b] = [new RedisEventLog(redis.url), new RedisEventLog(redis.url)];
    try {
      await Promise.all([a.ready(), b.ready()]);
      const name = unique('topic:echo');
      for (const options of [
        { readers: 'shared', retainEvents: 100, startAt: 0 },
        { readers: 'single', retainEvents: 100, startAt: 0 },
      ] as const) {
        const channelName = `${name}-${options.readers}`;
        const mine = await a.channel(channelName, options);
        const theirs = await b.channel(channelName, options);
        // Each wake makes every session holding a poll on the channel read it.
        let wakes = 0;
        mine.watch({ onChannelChange: () => wakes++ });
        await mine.append(SerializedData.of({ n: 1 }));
        // Appended elsewhere only now (after reading the head, as its single writer would):
        // Redis delivers the wake of event 1 to a before that of event 2.
        await theirs.read(0, limits);
        await theirs.append(SerializedData.of({ n: 2 }));
        for (let i = 0; i < 400 && mine.head < 2; i++) await sleep(25);
        expect(mine.head).toBe(2);
        expect(wakes).toBe(2);
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('announces the same gap on every instance for a topic past its retention', async () => {
    const [a, b] = [new RedisEventLog(redis.url), new RedisEventLog(redis.url)];
    try {
      await Promise.all([a.ready(), b.ready()]);
      const options = { readers: 'shared', retainEvents: 3, startAt: 0 } as const;
      const name = unique('topic:identical');
      const publisher = await a.channel(name, options);
      for (let n = 1; n <= 5; n++) await publisher.append(SerializedData.of({ n }));
      // b opens the topic only now: what it retains is what the stream retains.
      const late = await b.channel(name, options);
      for (const log of [publisher, late]) {
        const result = await log.read(0, limits);
        expect(result.gap).toEqual({ from: 1, to: 2 });
        expect(seqs(result)).toEqual([3, 4, 5]);
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
