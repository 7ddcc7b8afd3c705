// The file log in one process: the durability policy exactly as serve --help states it, a
// disk that refuses writes (full or read-only) answered with `unavailable` and nothing lost,
// restart safety (a closed session stays closed), and bounded disk use under retention.
import * as fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileEventLog } from '../../reference-server/durable/file-log.ts';
import { FileSessionStore } from '../../reference-server/durable/file-state.ts';
import type { SegmentFs } from '../../reference-server/event-log/segment-file.ts';
import { SerializedData } from '../../reference-server/event-log/types.ts';
import { createServer } from '../../reference-server/index.ts';
import type { SspServer } from '../../reference-server/index.ts';
import { close, open, poll } from '../server/helpers.ts';

const dirs: string[] = [];
const servers: SspServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'xanjax-filelog-'));
  dirs.push(dir);
  return dir;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** File-system calls that count fsyncs of channel files, and fail writes while `broken` is set. */
function instrumentedFs() {
  const state = { broken: undefined as string | undefined, channelFsyncs: 0, channelWrites: 0 };
  const channelFds = new Set<number>();
  const refuse = () => {
    throw Object.assign(new Error(`simulated ${state.broken}`), { code: state.broken });
  };
  const calls: SegmentFs = {
    ...fs,
    openSync: ((path: fs.PathLike, flags: fs.OpenMode, mode?: fs.Mode) => {
      if (state.broken && flags !== 'r') refuse();
      const fd = fs.openSync(path, flags, mode);
      if (String(path).includes('/channels/')) channelFds.add(fd);
      else channelFds.delete(fd);
      return fd;
    }) as SegmentFs['openSync'],
    writeSync: ((fd: number, buffer: Buffer, offset: number, length: number) => {
      if (state.broken) refuse();
      if (channelFds.has(fd)) state.channelWrites++;
      return fs.writeSync(fd, buffer, offset, length);
    }) as SegmentFs['writeSync'],
    fsyncSync: ((fd: number) => {
      if (channelFds.has(fd)) state.channelFsyncs++;
      return fs.fsyncSync(fd);
    }) as SegmentFs['fsyncSync'],
    fsync: ((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
      if (channelFds.has(fd)) state.channelFsyncs++;
      return fs.fsync(fd, callback);
    }) as SegmentFs['fsync'],
  };
  return { state, calls };
}

const shared = { readers: 'shared' as const, retainEvents: 100, startAt: 0 };

describe('durability policy', () => {
  it('fsync-ms 0: every append is written and fsync\'ed before append returns', () => {
    const { state, calls } = instrumentedFs();
    const log = new FileEventLog(tempDir(), { fs: calls, fsyncIntervalMs: 0, notice: () => {} });
    const channel = log.channel('topic:news', shared);
    for (let i = 1; i <= 20; i++) {
      expect(channel.append(SerializedData.of({ i }))).toBe(i);
      expect(state.channelWrites).toBe(i);
      expect(state.channelFsyncs).toBe(i);
    }
    log.close();
  });

  it('default: every append is written before append returns (and readable after a reopen); one background fsync follows on the interval, for many appends at once', async () => {
    const { state, calls } = instrumentedFs();
    const dir = tempDir();
    const log = new FileEventLog(dir, { fs: calls, fsyncIntervalMs: 100, notice: () => {} });
    const channel = log.channel('topic:news', shared);
    for (let i = 1; i <= 50; i++) {
      channel.append(SerializedData.of({ i }));
      expect(state.channelWrites).toBe(i);
    }
    expect(state.channelFsyncs).toBe(0);
    for (let i = 0; i < 100 && state.channelFsyncs === 0; i++) await sleep(20);
    expect(state.channelFsyncs).toBe(1);
    log.close();
    // What a restarted process reads: all 50.
    const again = new FileEventLog(dir, { notice: () => {} });
    const read = again.channel('topic:news', shared).read(0, { maxEvents: 100, maxBytes: 1e6 });
    expect(read.events.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    again.close();
  });
});

describe('a disk that refuses writes', () => {
  it.each(['ENOSPC', 'EROFS'])('%s: opens answer unavailable with Retry-After, the server stays up, nothing is lost once writes succeed', async (code) => {
    const { state, calls } = instrumentedFs();
    const notices: string[] = [];
    const dir = tempDir();
    const server = await createServer({
      port: 0,
      conformance: true,
      topics: ['news'],
      retryAfterMs: 1000,
      eventLog: new FileEventLog(dir, { fs: calls, retryAfterMs: 1000, notice: (line) => notices.push(line) }),
    });
    servers.push(server);
    let topicSig = await open(server.url, 'news');
    let counterSig = await open(server.url, 'ssp.counter', { count: 30, intervalMs: 10 });
    server.publish('news', { n: 1 });
    state.broken = code;
    server.publish('news', { n: 2 });
    server.publish('news', { n: 3 });
    // A new session needs its record written: refused, retryable.
    const refused = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ssp: 1, type: 'open', stream: 'news' }),
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toMatchObject({ code: 'unavailable', retryable: true, retryAfterMs: 1000 });
    expect(notices.some((line) => line.includes(`simulated ${code}`))).toBe(true);
    // Existing sessions are still answered (with what was written before).
    const during = await poll(server.url, topicSig, 0);
    expect(during.status).toBe(200);
    expect(during.json.events.map((e: any) => e.data.n)).toEqual([1]);
    topicSig = during.json.sig;
    state.broken = undefined;
    // The refused appends were kept in order and land once the disk takes writes again.
    const topic: number[] = [];
    for (let i = 0; i < 50 && topic.length < 2; i++) {
      const r = await poll(server.url, topicSig, 500);
      topic.push(...r.json.events.map((e: any) => e.data.n));
      topicSig = r.json.sig;
    }
    expect(topic).toEqual([2, 3]);
    const counter: number[] = [];
    let termination;
    for (let i = 0; i < 100 && !termination; i++) {
      const r = await poll(server.url, counterSig, 500);
      if (r.json.type === 'termination') termination = r.json;
      else {
        counter.push(...r.json.events.map((e: any) => e.seq));
        counterSig = r.json.sig;
      }
    }
    expect(counter).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect((await open(server.url, 'news')).length).toBeGreaterThan(16);
  }, 60_000);
});

describe('restart safety', () => {
  it('a session closed before a restart answers its closed termination after it, never its events', async () => {
    const dir = tempDir();
    const options = { port: 0, conformance: true, secret: 'restart-secret', log: `file:${dir}` } as const;
    const first = await createServer(options);
    const sig = await open(first.url, 'ssp.counter', { count: 3 });
    const closed = await close(first.url, sig);
    expect(closed.json).toMatchObject({ type: 'termination', reason: 'closed' });
    await first.close();
    const second = await createServer(options);
    servers.push(second);
    const after = await poll(second.url, sig, 0);
    expect(after.json).toMatchObject({ type: 'termination', reason: 'closed' });
    expect(after.text).toBe(closed.text);
  });
});

describe('retention of the state file', () => {
  it('forgets expired terminations and compacts the file to what is live: disk use levels off', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xanjax-state-'));
    const store = new FileSessionStore(dir, (error) => error as Error);
    try {
      const record = { stream: 'news', params: {}, base: 0 };
      // Each session: its record, then its termination (remembered 0 ms + the store's margin),
      // about as large as a real one (it carries a signature).
      const body = (i: number) => `{"reason":"closed","n":${i},"sig":"${'x'.repeat(400)}"}`;
      const churn = (from: number, count: number) => {
        for (let i = from; i < from + count; i++) {
          store.saveSession(`s${i}`, record, 60_000);
          store.rememberTermination(`s${i}`, body(i), 0);
        }
      };
      // 12,000 records (about 3.5 MiB): past the compaction threshold.
      churn(0, 6000);
      // They expire; nobody looks them up, yet the next 1000 records find them gone and
      // compact: what stays is the live part and the newest segment file (1 MiB).
      await new Promise((resolve) => setTimeout(resolve, 2100));
      churn(6000, 500);
      expect(store.bytes).toBeLessThan(2 * 1024 * 1024);
      // The recent terminations are still answered; the expired ones are forgotten.
      expect(store.termination('s6499')).toBe(body(6499));
      expect(store.termination('s0')).toBeUndefined();
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
