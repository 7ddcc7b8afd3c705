// The library API: mounting the handler, publish() to topics, custom streams and event logs.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, expect, it } from 'vitest';
import { StreamError, createSspHandler } from '../../reference-server/index.ts';
import type { SspServer } from '../../reference-server/index.ts';
import { createMemoryEventLog } from '../../reference-server/event-log/memory.ts';
import { drain, open, poll, post, send, sleep, start } from './helpers.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

it('mounts as middleware: answers its path, hands other paths to next()', async () => {
  const handler = createSspHandler({ conformance: true });
  cleanups.push(() => handler.close());
  // A minimal Express-style chain: the SSP handler first, then the application.
  const base = await listen(
    http.createServer((req, res) =>
      handler(req, res, () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('app');
      }),
    ),
  );
  expect((await send(`${base}/ssp`, 'GET')).json.type).toBe('discovery');
  expect((await send(`${base}/ssp?x=1`, 'GET')).json.type).toBe('discovery');
  expect((await send(`${base}/`, 'GET')).text).toBe('app');
  const sig = await open(`${base}/ssp`, 'ssp.counter', { count: 2 });
  expect((await drain(`${base}/ssp`, sig)).events.length).toBe(2);
});

it('serves the browser client module in every mode, at /xanjax-client.js or the path given, or not at all', async () => {
  const plain = createSspHandler();
  const moved = createSspHandler({ clientModule: '/static/ssp.js' });
  const none = createSspHandler({ clientModule: false });
  cleanups.push(() => plain.close(), () => moved.close(), () => none.close());
  const app = (handler: typeof plain) => http.createServer((req, res) => handler(req, res, () => res.writeHead(404).end()));
  const [a, b, c] = await Promise.all([listen(app(plain)), listen(app(moved)), listen(app(none))]);
  const module = await send(`${a}/xanjax-client.js`, 'GET');
  expect(module.status).toBe(200);
  expect(module.headers['content-type']).toBe('text/javascript; charset=utf-8');
  expect(module.text).toMatch(/export\s*\{[^}]*pushlet/);
  expect((await send(`${b}/static/ssp.js`, 'GET')).text).toBe(module.text);
  expect((await send(`${b}/xanjax-client.js`, 'GET')).status).toBe(404);
  expect((await send(`${c}/xanjax-client.js`, 'GET')).status).toBe(404);
  expect((await send(`${a}/xanjax-client.js`, 'POST')).status).toBe(405);
});

it('createServer() listens on 127.0.0.1 unless told otherwise', async () => {
  const server = await start({ port: 0 });
  cleanups.push(() => server.close());
  expect(server.server.address()).toMatchObject({ address: '127.0.0.1' });
  expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ssp$/);
});

it('matches Express sub-mounts by originalUrl', async () => {
  const handler = createSspHandler({ path: '/api/ssp' });
  cleanups.push(() => handler.close());
  const base = await listen(
    http.createServer((req, res) => {
      // What app.use('/api', handler) does: strip the mount path from req.url, keep originalUrl.
      Object.assign(req, { originalUrl: req.url, url: req.url!.replace(/^\/api/, '') });
      handler(req, res);
    }),
  );
  expect((await send(`${base}/api/ssp`, 'GET')).json.type).toBe('discovery');
});

it('publish() fans a topic event out to every session on the topic', async () => {
  const server: SspServer = await start({ topics: ['news', 'sport'] });
  cleanups.push(() => server.close());
  const [a, b, other] = await Promise.all([open(server.url, 'news'), open(server.url, 'news'), open(server.url, 'sport')]);
  const heldA = poll(server.url, a, 5000);
  const heldB = poll(server.url, b, 5000);
  await sleep(50);
  expect(server.publish('news', { headline: 'SSP/1 ships' })).toBe(2);
  const [ra, rb] = await Promise.all([heldA, heldB]);
  expect(ra.json.events).toEqual([{ seq: 1, data: { headline: 'SSP/1 ships' } }]);
  expect(rb.json.events).toEqual([{ seq: 1, data: { headline: 'SSP/1 ships' } }]);
  expect((await poll(server.url, other, 0)).json.events).toEqual([]);
  expect(() => server.publish('weather', 1)).toThrow(/unknown topic/);
  expect((await send(server.url, 'GET')).json.streams.map((s: { name: string }) => s.name)).toEqual(['news', 'sport']);
});

it('a topic is one shared log: each session numbers from its open, reads at its own cursor, and gaps past retainEvents', async () => {
  const server: SspServer = await start({ topics: ['news'], limits: { retainEvents: 3 } });
  cleanups.push(() => server.close());
  const early = await open(server.url, 'news');
  server.publish('news', 'a');
  server.publish('news', 'b');
  const late = await open(server.url, 'news');
  server.publish('news', 'c');
  // The late session starts at the topic's head: its first event is seq 1 (SSP-OPEN-3).
  expect((await poll(server.url, late, 0)).json.events).toEqual([{ seq: 1, data: 'c' }]);
  const first = await poll(server.url, early, 0);
  expect(first.json.events).toEqual([
    { seq: 1, data: 'a' },
    { seq: 2, data: 'b' },
    { seq: 3, data: 'c' },
  ]);
  // Four more: the topic keeps the newest three, so the early session, still at 3, misses 4.
  for (const text of ['d', 'e', 'f', 'g']) server.publish('news', text);
  const next = await poll(server.url, first.json.sig, 0);
  expect(next.json.gap).toEqual({ from: 4, to: 4 });
  expect(next.json.events.map((e: { seq: number }) => e.seq)).toEqual([5, 6, 7]);
  // An older signature still reads from its own position (re-delivery, SSP-DELIVERY-6).
  expect((await poll(server.url, first.json.sig, 0)).json.gap).toEqual({ from: 4, to: 4 });
});

it('runs custom streams: StreamError chooses code and advice, other throws advise reopen', async () => {
  const server = await start({
    streams: {
      quota: {
        description: 'fails with a code',
        params: { type: 'object', properties: { limit: { type: 'integer', default: 2 } }, additionalProperties: false },
        async *produce({ limit }: { limit: number }) {
          for (let i = 1; i <= limit; i++) yield { i };
          throw new StreamError('quota exceeded', { code: 'quota', advice: 'none' });
        },
      },
      broken: {
        description: 'throws a plain error',
        params: { type: 'object' },
        async *produce() {
          yield 'first';
          throw new Error('database went away');
        },
      },
    },
  });
  cleanups.push(() => server.close());
  const quota = await drain(server.url, await open(server.url, 'quota'));
  expect(quota.events.map((e) => e.data)).toEqual([{ i: 1 }, { i: 2 }]);
  expect(quota.termination).toMatchObject({ reason: 'error', error: { message: 'quota exceeded', code: 'quota' }, advice: { action: 'none' } });
  // Params travel in the signature, so they are bounded even when the schema allows anything.
  const huge = await post(server.url, { ssp: 1, type: 'open', stream: 'broken', params: { blob: 'x'.repeat(3000) } });
  expect(huge.status).toBe(422);
  expect(huge.json.code).toBe('invalid-params');
  const broken = await drain(server.url, await open(server.url, 'broken'));
  expect(broken.termination).toMatchObject({ reason: 'error', last: 1, error: { message: 'database went away' }, advice: { action: 'reopen' } });
});

it('uses the event log it is given: one channel per session stream, one shared channel per topic', async () => {
  const log = createMemoryEventLog();
  const opened: string[] = [];
  const channel = log.channel.bind(log);
  log.channel = (name, options) => {
    opened.push(`${name} ${options.readers}`);
    return channel(name, options);
  };
  const server = await start({ conformance: true, topics: ['news'], eventLog: log });
  cleanups.push(() => server.close());
  const counter = await open(server.url, 'ssp.counter', { count: 1 });
  await open(server.url, 'news');
  await open(server.url, 'news');
  expect(opened).toEqual(['topic:news shared', `session:${JSON.parse(Buffer.from(counter.split('.')[0], 'base64url').toString())[2]} single`, 'topic:news shared', 'topic:news shared']);
});
