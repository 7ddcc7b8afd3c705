// The reference Node client shares one multiplexed session between its subscriptions to one
// endpoint when the server offers the extension, and falls back to a session each otherwise,
// with the same subscribe() calls; every stream is delivered exactly once, in order.
import { afterEach, describe, expect, it } from 'vitest';
import type { SspServer } from '../../reference-server/index.ts';
import { subscribe } from '../../reference-client/node.ts';
import type { Subscription } from '../../reference-client/node.ts';
import { start } from '../server/helpers.ts';

const servers: SspServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** Ten counters with mixed rates; resolves with each stream's delivered seqs. */
async function readTen(url: string): Promise<{ seqs: number[][]; subs: Subscription[] }> {
  const subs: Subscription[] = [];
  const seqs: number[][] = [];
  for (let i = 0; i < 10; i++) {
    const list: number[] = [];
    seqs.push(list);
    const sub = subscribe(url, 'ssp.counter', { count: 5 + i, intervalMs: i % 2 === 0 ? 20 : 120 }, { minPollIntervalMs: 50 });
    sub.on('event', (event) => list.push(event.seq));
    subs.push(sub);
  }
  await Promise.all(subs.map((sub) => sub.termination));
  return { seqs, subs };
}

describe('client multiplexing', () => {
  it('shares one session for ten subscriptions when the server offers multiplex', async () => {
    const server = await start({ conformance: true });
    servers.push(server);
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, server.handler.stats().sessions)), 10);
    const { seqs } = await readTen(server.url).finally(() => clearInterval(sampler));
    seqs.forEach((list, i) => expect(list).toEqual(Array.from({ length: 5 + i }, (_, k) => k + 1)));
    expect(most).toBe(1);
  });

  it('falls back to one session each when the server does not offer it', async () => {
    const server = await start({ conformance: true, multiplex: false });
    servers.push(server);
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, server.handler.stats().sessions)), 10);
    const { seqs } = await readTen(server.url).finally(() => clearInterval(sampler));
    seqs.forEach((list, i) => expect(list).toEqual(Array.from({ length: 5 + i }, (_, k) => k + 1)));
    expect(most).toBeGreaterThan(1);
  });
});
