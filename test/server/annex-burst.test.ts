// The conformance annex cannot stall the server (spec §20.2, SSP-ANNEX-21): the largest legal
// bursts are bounded, produced in slices, and a poll of another session is answered by its
// event, within its hold, while they run.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SspServer } from '../../reference-server/index.ts';
import { open, poll, post, start } from './helpers.ts';

let server: SspServer;
beforeAll(async () => {
  server = await start({ conformance: true, maxSessionsPerClient: 1000 });
});
afterAll(() => server.close());

const largest = [{ count: 10_000, size: 256 }, { count: 16, size: 65_536 }];

it('rejects more than 16 events above size 256 with 422 invalid-params, for counter and burst', async () => {
  for (const stream of ['ssp.burst', 'ssp.counter']) {
    const r = await post(server.url, { ssp: 1, type: 'open', stream, params: { count: 17, size: 257 } });
    expect(r.status).toBe(422);
    expect(r.json.code).toBe('invalid-params');
  }
});

it('appends a whole burst before answering the open, even one produced in slices', async () => {
  for (const params of largest) {
    const sig = await open(server.url, 'ssp.burst', params);
    const first = await poll(server.url, sig, 0);
    expect(first.json.type).toBe('batch');
    // retainEvents 50: the newest events are there, the evicted ones announced by a gap.
    const { retainEvents, maxBatchEvents } = server.handler.limits;
    const expectedFirst = Math.max(1, params.count - retainEvents + 1);
    expect(first.json.events[0].seq).toBe(expectedFirst);
    expect(first.json.events.length).toBe(Math.min(params.count - expectedFirst + 1, maxBatchEvents, first.json.events.length));
    if (expectedFirst > 1) expect(first.json.gap).toEqual({ from: 1, to: expectedFirst - 1 });
  }
});

it('answers a concurrent poll with its event, before its hold ends, while the largest bursts run', async () => {
  const { maxHoldMs } = server.handler.limits;
  // Enough bursts that, produced without yielding, they would hold the loop for twice the
  // hold: measured here, from one burst opened alone.
  const before = performance.now();
  await open(server.url, 'ssp.burst', largest[0]);
  const one = performance.now() - before;
  const count = Math.min(64, Math.max(8, Math.ceil((2 * maxHoldMs) / one)));
  let sig = await open(server.url, 'ssp.ticker', { intervalMs: 10 });
  sig = (await poll(server.url, sig, 0)).json.sig;
  // The poll waits for the next ticker event (10 ms away); the bursts start at the same time.
  const started = performance.now();
  const held = poll(server.url, sig, maxHoldMs).then((r) => ({ r, elapsed: performance.now() - started }));
  const bursts = Promise.all(Array.from({ length: count }, (_, i) => open(server.url, 'ssp.burst', largest[i % 2])));
  const { r, elapsed } = await held;
  await bursts;
  console.log(`one burst alone: ${Math.round(one)} ms; poll answered after ${Math.round(elapsed)} ms (hold ${maxHoldMs} ms) with ${r.json.events?.length} events while ${count} bursts of ${largest.map((p) => `${p.count}×${p.size}`).join(' / ')} ran`);
  expect(r.json.type).toBe('batch');
  // An answer that came by the hold's expiry would be empty: the event got through first.
  expect(r.json.events.length).toBeGreaterThan(0);
  expect(elapsed).toBeLessThan(maxHoldMs);
});
