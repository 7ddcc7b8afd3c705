// The holder tries the session last polled on an HTTP/1.1 connection before looking a
// signature's session up (reference-server/holder/sessions.ts): on one connection, polls of
// several sessions, an older signature, a closed session and a forged signature must all be
// answered exactly as on separate connections.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Client } from 'undici';
import type { SspServer } from '../../reference-server/index.ts';
import { start } from './helpers.ts';

let server: SspServer;
let client: Client;

beforeAll(async () => {
  server = await start({ topics: ['a', 'b'], limits: { maxHoldMs: 1000, batchDelayMs: 0 } });
  client = new Client(new URL(server.url).origin, { pipelining: 1, connections: 1 } as never);
});
afterAll(async () => {
  await client.close();
  await server.close();
});

async function post(message: unknown): Promise<any> {
  const res = await client.request({ method: 'POST', path: '/ssp', headers: { 'content-type': 'application/json' }, body: JSON.stringify(message) });
  return res.body.json();
}
const poll = (sig: string) => post({ ssp: 1, type: 'poll', sig, hold: 0 });

it('one connection: each session gets its own events, old and forged signatures their own answers', async () => {
  const a = await post({ ssp: 1, type: 'open', stream: 'a' });
  const b = await post({ ssp: 1, type: 'open', stream: 'b' });
  server.publish('a', 'a1');
  server.publish('b', 'b1');
  const a1 = await poll(a.sig);
  const b1 = await poll(b.sig);
  expect(a1.events.map((e: any) => e.data)).toEqual(['a1']);
  expect(b1.events.map((e: any) => e.data)).toEqual(['b1']);
  server.publish('a', 'a2');
  // The same session again on this connection, then its older signature (re-delivery, §10).
  const a2 = await poll(a1.sig);
  expect(a2.events.map((e: any) => e.data)).toEqual(['a2']);
  const again = await poll(a1.sig);
  expect(again.events.map((e: any) => e.data)).toEqual(['a2']);
  // A forged signature of the session last polled here: one character of its MAC changed.
  const forged = `${again.sig.slice(0, -1)}${again.sig.endsWith('A') ? 'B' : 'A'}`;
  expect(await poll(forged)).toMatchObject({ type: 'error', code: 'invalid-signature' });
  // Closed: its newest signature gets the termination, not a batch, on this connection too.
  expect(await post({ ssp: 1, type: 'close', sig: again.sig })).toMatchObject({ type: 'termination', reason: 'closed' });
  expect(await poll(again.sig)).toMatchObject({ type: 'termination', reason: 'closed' });
  expect((await poll(b1.sig)).type).toBe('batch');
});
