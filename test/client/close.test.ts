// close() aborts the held poll, sends `close` with the newest signature (§12), and leaves
// no timer or request behind; the iterator's buffer is bounded by backpressure.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { SspAbortedError, subscribe } from '../../reference-client/node.ts';
import { startFaultServer } from './fault-server.ts';
import type { FaultServer, FaultServerOptions } from './fault-server.ts';
import { fast, oneTo, until } from './helpers.ts';

let server: FaultServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: FaultServerOptions) {
  server = await startFaultServer(options);
  return server;
}

describe('close()', () => {
  it('aborts the held poll and sends close with the newest signature', async () => {
    const s = await start({ events: Infinity, available: 2, batchSize: 2, holdMs: 10_000 });
    const subscription = subscribe(s.url, 'counter', {}, fast);
    const seqs: number[] = [];
    subscription.on('event', (event) => seqs.push(event.seq));
    expect(await until(() => s.requests.some((r) => r.type === 'poll' && r.position === 2))).toBe(true);
    await subscription.close();
    expect(seqs).toEqual([1, 2]);
    expect(s.closes).toEqual([subscription.signature]);
    expect(s.closes[0]).toContain('pos-2');
    expect((await subscription.termination).reason).toBe('closed');
    expect(await until(() => s.abandonedPolls === 1)).toBe(true);
  });

  it('is idempotent: one close request however often it is called', async () => {
    const s = await start({ events: Infinity, available: 1, holdMs: 10_000 });
    const subscription = subscribe(s.url, 'counter', {}, fast);
    expect(await until(() => subscription.lastSeq === 1)).toBe(true);
    await Promise.all([subscription.close(), subscription.close()]);
    await subscription.close();
    expect(s.closes).toHaveLength(1);
  });

  it('before a session exists: sends nothing and ends with SspAbortedError', async () => {
    const s = await start({ events: 3, faults: [{ delayMs: 200 }] });
    const subscription = subscribe(s.url, 'counter', {}, fast);
    await subscription.close();
    await expect(subscription.termination).rejects.toBeInstanceOf(SspAbortedError);
    expect(s.closes).toEqual([]);
  });

  it('follows an AbortSignal', async () => {
    const s = await start({ events: Infinity, available: 1, holdMs: 10_000 });
    const controller = new AbortController();
    const subscription = subscribe(s.url, 'counter', {}, { ...fast, signal: controller.signal });
    expect(await until(() => subscription.lastSeq === 1)).toBe(true);
    controller.abort();
    expect((await subscription.termination).reason).toBe('closed');
    expect(s.closes).toHaveLength(1);
  });

  it('leaves nothing that keeps a Node process alive', async () => {
    const s = await start({ events: Infinity, available: 2, batchSize: 1, holdMs: 10_000 });
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/close-and-report.ts', import.meta.url)), s.url], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    // Generous: a loaded machine starts tsx slowly; only exiting by itself matters, not how fast.
    const killer = setTimeout(() => child.kill(), 25_000);
    const [code] = await once(child, 'exit');
    clearTimeout(killer);
    // Exiting by itself (code 0, not killed) proves no ref'd timer or request outlived close().
    expect(code).toBe(0);
    const report = JSON.parse(output);
    expect(report).toMatchObject({ taken: 2, termination: 'closed' });
    expect(report.resources).not.toContain('Timeout');
    expect(s.closes).toHaveLength(1);
  });
});

describe('backpressure', () => {
  it('stops polling while the reader is behind, then delivers everything', async () => {
    const s = await start({ events: 200, batchSize: 10 });
    const subscription = subscribe(s.url, 'counter', {}, { ...fast, highWaterMark: 20 });
    const iterator = subscription[Symbol.asyncIterator]();
    const seqs = [(await iterator.next()).value!.seq];
    const polls = () => s.requests.filter((r) => r.type === 'poll').length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stalled = polls();
    // 10 events per batch, 20 may wait: the third batch fills the buffer and polling stops.
    expect(stalled).toBeLessThanOrEqual(3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(polls()).toBe(stalled);
    for (let result = await iterator.next(); !result.done; result = await iterator.next()) seqs.push(result.value.seq);
    expect(seqs).toEqual(oneTo(200));
  });
});
