// spec §9-§11: delivery order, re-delivery, gaps, holding, supersede and batch limits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValidator } from '../../schemas/index.ts';
import type { SspServer } from '../../reference-server/index.ts';
import { drain, open, poll, post, sleep, start } from './helpers.ts';

const validator = createValidator();
let server: SspServer;
let url: string;

beforeAll(async () => {
  server = await start({ conformance: true, limits: { maxHoldMs: 600, batchDelayMs: 0 } });
  url = server.url;
});
afterAll(() => server.close());

describe('open', () => {
  it('answers with a session at position 0 and a signature', async () => {
    const r = await post(url, { ssp: 1, type: 'open', stream: 'ssp.counter', params: { count: 2 } });
    expect(r.status).toBe(200);
    expect(validator.validate('session', r.json)).toEqual({ ok: true });
    expect(r.json).toMatchObject({ stream: 'ssp.counter', position: 0 });
  });
});

describe('delivery', () => {
  it('delivers seq 1..n without gaps across batches, then completes', async () => {
    const sig = await open(url, 'ssp.counter', { count: 45 });
    const { events, termination, polls } = await drain(url, sig);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 45 }, (_, i) => i + 1));
    expect(events.map((e) => e.data.n)).toEqual(events.map((e) => e.seq));
    expect(polls).toBeGreaterThanOrEqual(3); // maxBatchEvents is 20
    expect(termination).toMatchObject({ reason: 'complete', last: 45, advice: { action: 'none' } });
  });

  it('keeps delivering in order while events trickle in', async () => {
    const sig = await open(url, 'ssp.counter', { count: 8, intervalMs: 15 });
    const { events, termination } = await drain(url, sig);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(termination.last).toBe(8);
  });

  it('answers at once when events exist', async () => {
    const sig = await open(url, 'ssp.counter', { count: 3 });
    await sleep(20);
    const started = Date.now();
    const r = await poll(url, sig, 5000);
    expect(r.json.events.length).toBe(3);
    expect(Date.now() - started).toBeLessThan(2000); // far below the 5000 ms hold
  });

  it('re-delivers from an older signature', async () => {
    const sig0 = await open(url, 'ssp.counter', { count: 30 });
    await sleep(20);
    const first = await poll(url, sig0, 0);
    expect(first.json.events.length).toBe(20);
    const again = await poll(url, sig0, 0);
    expect(again.text).not.toBe(first.text); // fresh signature
    expect(again.json.events).toEqual(first.json.events);
    // The previous signature still re-delivers after the newer one was used.
    const next = await poll(url, first.json.sig, 0);
    expect(next.json.events[0].seq).toBe(21);
    const third = await poll(url, sig0, 0);
    expect(third.json.events).toEqual(first.json.events);
  });

  it('signals a gap after eviction and starts at the oldest retained event', async () => {
    const sig = await open(url, 'ssp.burst', { count: 60 }); // retainEvents 50
    await sleep(20);
    const r = await poll(url, sig, 0);
    expect(validator.validate('batch', r.json)).toEqual({ ok: true });
    expect(r.json.gap).toEqual({ from: 1, to: 10 });
    expect(r.json.events[0].seq).toBe(11);
    const rest = await drain(url, r.json.sig);
    expect([...r.json.events, ...rest.events].map((e: { seq: number }) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 11));
  });
});

describe('holding', () => {
  it('answers a poll with nothing to deliver after the hold with an empty batch at the same position', async () => {
    const sig = await open(url, 'ssp.ticker', { intervalMs: 60000 });
    const started = Date.now();
    const r = await poll(url, sig, 200);
    const took = Date.now() - started;
    expect(r.json).toMatchObject({ type: 'batch', events: [] });
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(2000);
    // The fresh signature keeps position 0: the next event is seq 1.
    expect(r.json.sig).not.toBe(sig);
  });

  it('answers hold 0 at once', async () => {
    const sig = await open(url, 'ssp.ticker', { intervalMs: 60000 });
    const started = Date.now();
    const r = await poll(url, sig, 0);
    expect(r.json.events).toEqual([]);
    expect(Date.now() - started).toBeLessThan(500); // maxHoldMs is 600
  });

  it('caps the requested hold at maxHoldMs', async () => {
    const sig = await open(url, 'ssp.ticker', { intervalMs: 60000 });
    const started = Date.now();
    const r = await poll(url, sig, 60000);
    const took = Date.now() - started;
    expect(r.json.events).toEqual([]);
    expect(took).toBeGreaterThanOrEqual(590);
    expect(took).toBeLessThan(3000);
  });

  it('answers a held poll as soon as an event arrives', async () => {
    const sig = await open(url, 'ssp.counter', { count: 1, intervalMs: 150 });
    const started = Date.now();
    const r = await poll(url, sig, 5000);
    expect(r.json.events.map((e: { seq: number }) => e.seq)).toEqual([1]);
    expect(Date.now() - started).toBeLessThan(2500); // event at 150 ms, hold 5000 ms
  });

  it('supersedes a held poll: the first gets an empty batch keeping its position, the second gets the events', async () => {
    const sig = await open(url, 'ssp.counter', { count: 2, intervalMs: 300 });
    const first = poll(url, sig, 5000);
    await sleep(80);
    expect(server.handler.stats().heldPolls).toBeGreaterThanOrEqual(1);
    const second = poll(url, sig, 5000);
    const a = await first;
    expect(a.json).toMatchObject({ type: 'batch', events: [] });
    const b = await second;
    expect(b.json.events.map((e: { seq: number }) => e.seq)).toEqual([1]);
    // The superseded poll's signature still asks from position 0: nothing was lost.
    const fromFirst = await poll(url, a.json.sig, 2000);
    expect(fromFirst.json.events[0].seq).toBe(1);
  });
});

describe('batch limits', () => {
  it('keeps a batch within maxBatchBytes', async () => {
    const limited = await start({ conformance: true, limits: { maxBatchBytes: 4096 } });
    try {
      const sig = await open(limited.url, 'ssp.counter', { count: 10, size: 600 });
      await sleep(20);
      const r = await poll(limited.url, sig, 0);
      expect(Buffer.byteLength(r.text)).toBeLessThanOrEqual(4096);
      expect(r.json.events.length).toBeGreaterThan(1);
      expect(r.json.events.length).toBeLessThan(10);
      const { events } = await drain(limited.url, sig);
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    } finally {
      await limited.close();
    }
  });

  it('sends an event larger than maxBatchBytes alone', async () => {
    const sig = await open(url, 'ssp.counter', { count: 3, size: 20000 }); // maxBatchBytes 16384
    const { events, polls } = await drain(url, sig);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(events[0].data.pad.length).toBe(20000);
    expect(polls).toBe(4);
  });

  it('keeps at most maxBatchEvents events in a batch', async () => {
    const sig = await open(url, 'ssp.burst', { count: 30 });
    await sleep(20);
    const r = await poll(url, sig, 0);
    expect(r.json.events.length).toBe(20);
  });
});
