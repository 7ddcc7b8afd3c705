// The reference server's `multiplex` extension (spec §23) on the wire: negotiation, streams
// added and refused one by one, per-stream seq and termination, repeatable answers, close,
// fairness inside a batch, and re-creation from a restating poll after a restart.
import { afterEach, describe, expect, it } from 'vitest';
import type { SspServer } from '../../reference-server/index.ts';
import { post, send, start } from '../server/helpers.ts';

const servers: SspServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function server(options: Parameters<typeof start>[0] = {}): Promise<SspServer> {
  const s = await start({ conformance: true, ...options });
  servers.push(s);
  return s;
}

const mux = (json: any) => json.ext.multiplex;

function openMux(url: string, stream: string, params: object, ext: object) {
  return post(url, { ssp: 1, type: 'open', stream, params, extensions: ['multiplex'], ext: { multiplex: ext } });
}

function pollMux(url: string, sig: string, hold?: number, ext?: object) {
  return post(url, { ssp: 1, type: 'poll', sig, ...(hold !== undefined && { hold }), ...(ext && { ext: { multiplex: ext } }) });
}

/** Polls until `done(perStream)` holds; returns events by stream id and every termination. Bounded. */
async function readUntil(url: string, sig: string, done: (seen: Map<string, number[]>, ended: Map<string, any>) => boolean) {
  const seen = new Map<string, number[]>();
  const ended = new Map<string, any>();
  for (let i = 0; i < 100 && !done(seen, ended); i++) {
    const r = await pollMux(url, sig, 1000);
    expect(r.status).toBe(200);
    expect(r.json.events).toEqual([]);
    for (const part of mux(r.json).streams) {
      const list = seen.get(part.id) ?? [];
      list.push(...part.events.map((e: { seq: number }) => e.seq));
      seen.set(part.id, list);
      if (part.termination) ended.set(part.id, part.termination);
    }
    sig = r.json.sig;
  }
  return { seen, ended, sig };
}

describe('multiplex extension', () => {
  it('is offered in discovery with maxStreams, and not used unless the open asks for it', async () => {
    const s = await server();
    const discovery = (await send(s.url, 'GET')).json;
    expect(discovery.extensions).toEqual(['multiplex']);
    expect(discovery.ext.multiplex.maxStreams).toBeGreaterThanOrEqual(2);
    const plain = await post(s.url, { ssp: 1, type: 'open', stream: 'ssp.counter', params: { count: 1 } });
    expect(plain.json.type).toBe('session');
    expect(plain.json.extensions).toBeUndefined();
    expect(plain.json.ext).toBeUndefined();
  });

  it('opens with several streams, refuses bad additions one by one, keeps seq per stream', async () => {
    const s = await server();
    const r = await openMux(s.url, 'ssp.counter', { count: 3 }, {
      id: 'a',
      add: [
        { id: 'b', stream: 'ssp.counter', params: { count: 5 } },
        { id: 'c', stream: 'no.such.stream' },
        { id: 'd', stream: 'ssp.counter', params: { count: 'x' } },
        { id: 'a', stream: 'ssp.ticker' },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ type: 'session', stream: 'ssp.counter', position: 0, extensions: ['multiplex'] });
    expect(mux(r.json).id).toBe('a');
    expect(mux(r.json).added).toEqual(['b']);
    expect(mux(r.json).refused.map((x: any) => [x.id, x.error.code])).toEqual([
      ['c', 'unknown-stream'],
      ['d', 'invalid-params'],
      ['a', 'stream-id-in-use'],
    ]);
    const { seen, ended } = await readUntil(s.url, r.json.sig, (_, e) => e.size === 2);
    expect(seen.get('a')).toEqual([1, 2, 3]);
    expect(seen.get('b')).toEqual([1, 2, 3, 4, 5]);
    expect(ended.get('a')).toEqual({ reason: 'complete', last: 3, advice: { action: 'none' } });
    expect(ended.get('b')).toMatchObject({ reason: 'complete', last: 5 });
  });

  it('adds and removes streams during the session; an ended stream does not end the session', async () => {
    const s = await server();
    const r = await openMux(s.url, 'ssp.counter', { count: 1 }, { id: 'one' });
    let { sig } = await readUntil(s.url, r.json.sig, (_, e) => e.has('one'));
    const added = await pollMux(s.url, sig, 1000, { add: [{ id: 't', stream: 'ssp.ticker', params: { intervalMs: 50 } }] });
    expect(mux(added.json).added).toEqual(['t']);
    const ticks = await readUntil(s.url, added.json.sig, (seen) => (seen.get('t')?.length ?? 0) >= 3);
    expect(ticks.seen.get('t')!.slice(0, 3)).toEqual([1, 2, 3]);
    const removed = await pollMux(s.url, ticks.sig, 1000, { remove: ['t'] });
    const part = mux(removed.json).streams.find((p: any) => p.id === 't');
    expect(part.termination).toMatchObject({ reason: 'closed', advice: { action: 'none' } });
    sig = removed.json.sig;
    // The session lives on: a new stream can still be added.
    const again = await pollMux(s.url, sig, 0, { add: [{ id: 'z', stream: 'ssp.counter', params: { count: 2 } }] });
    expect(mux(again.json).added).toEqual(['z']);
  });

  it('re-delivers to a repeated signature (dropped answer) and repeats terminations', async () => {
    const s = await server();
    const r = await openMux(s.url, 'ssp.counter', { count: 2 }, { id: 'a' });
    const first = await pollMux(s.url, r.json.sig, 1000);
    const again = await pollMux(s.url, r.json.sig, 1000);
    expect(mux(again.json).streams[0].events.map((e: any) => e.seq)).toEqual(mux(first.json).streams[0].events.map((e: any) => e.seq));
    // Poll until the answer that carries the termination, then send that poll's signature again.
    let sig = first.json.sig;
    let end1: any;
    for (let i = 0; i < 20 && !end1; i++) {
      const r2 = await pollMux(s.url, sig, 1000);
      if (mux(r2.json).streams.some((p: any) => p.termination)) end1 = r2;
      else sig = r2.json.sig;
    }
    const end2 = await pollMux(s.url, sig, 1000);
    expect(mux(end1.json).streams).toEqual(mux(end2.json).streams);
    expect(mux(end1.json).streams[0].termination.reason).toBe('complete');
  });

  it('close ends every stream, and the termination is remembered', async () => {
    const s = await server();
    const r = await openMux(s.url, 'ssp.ticker', { intervalMs: 60000 }, { id: 'a', add: [{ id: 'b', stream: 'ssp.ticker', params: { intervalMs: 60000 } }] });
    const closed = await post(s.url, { ssp: 1, type: 'close', sig: r.json.sig });
    expect(closed.json).toMatchObject({ type: 'termination', reason: 'closed' });
    expect(mux(closed.json).streams.map((p: any) => [p.id, p.termination.reason])).toEqual([
      ['a', 'closed'],
      ['b', 'closed'],
    ]);
    expect((await pollMux(s.url, r.json.sig, 0)).json).toEqual(closed.json);
  });

  it('shares a full batch between streams (round robin within maxBatchEvents)', async () => {
    const s = await server();
    const r = await openMux(s.url, 'ssp.burst', { count: 40 }, { id: 'busy', add: [{ id: 'small', stream: 'ssp.counter', params: { count: 3 } }] });
    // Let both produce, then read one batch.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const batch = await pollMux(s.url, r.json.sig, 0);
    const parts = new Map(mux(batch.json).streams.map((p: any) => [p.id, p.events.length]));
    expect(parts.get('small')).toBe(3);
    expect((parts.get('busy') as number) + 3).toBeLessThanOrEqual(s.handler.limits.maxBatchEvents);
  });

  it('after a restart with the same secret, a restating poll resumes resumable streams at their positions', async () => {
    const secret = 'mux-restart-secret';
    // A log that keeps terminations (as the durable logs do); with the memory log and a kept
    // key the restart guard answers `unavailable` instead (SSP-SIGNATURE-14, tested below).
    const a = await server({ secret, keepsTerminations: true });
    const r = await openMux(a.url, 'ssp.counter', { count: 6, intervalMs: 20 }, { id: 'c', add: [{ id: 't', stream: 'ssp.burst', params: { count: 2 } }] });
    const { seen, sig } = await readUntil(a.url, r.json.sig, (seen) => (seen.get('c')?.length ?? 0) >= 2);
    await a.close();
    servers.splice(servers.indexOf(a), 1);
    const b = await server({ secret, keepsTerminations: true });
    const lost = await pollMux(b.url, sig, 0);
    expect(lost.status).toBe(410);
    expect(lost.json).toMatchObject({ code: 'session-expired', ext: { multiplex: { restate: true } } });
    const wrong = await pollMux(b.url, sig, 0, { restate: [{ id: 'c', stream: 'ssp.counter', params: { count: 7, intervalMs: 20 } }] });
    expect(wrong.status).toBe(400);
    const restate = [
      { id: 'c', stream: 'ssp.counter', params: { count: 6, intervalMs: 20 } },
      { id: 't', stream: 'ssp.burst', params: { count: 2 } },
    ];
    const resumed = await pollMux(b.url, sig, 1000, { restate });
    expect(resumed.status).toBe(200);
    let next = resumed.json.sig;
    const after = new Map<string, number[]>();
    for (const part of mux(resumed.json).streams) after.set(part.id, part.events.map((e: any) => e.seq));
    const rest = await readUntil(b.url, next, (_, e) => e.has('c'));
    const c = [...(seen.get('c') ?? []), ...(after.get('c') ?? []), ...(rest.seen.get('c') ?? [])];
    expect(c).toEqual([1, 2, 3, 4, 5, 6]);
    next = rest.sig;
    expect(next).toBeDefined();
  });
});

describe('multiplex exactly-once', () => {
  it('delivers each of 12 streams with mixed rates exactly once through dropped answers and a restart', async () => {
    const secret = 'mux-exactly-once';
    const COUNT = 25;
    // Terminations kept across the restart, as the durable logs do (see the guard test below).
    let s = await server({ secret, keepsTerminations: true });
    const streams = Array.from({ length: 12 }, (_, i) => ({ id: `s${i}`, stream: 'ssp.counter', params: { count: COUNT, intervalMs: i % 3 === 0 ? 5 : i % 3 === 1 ? 25 : 60 } }));
    const [first, ...rest] = streams;
    const opened = await openMux(s.url, first!.stream, first!.params, { id: first!.id, add: rest });
    expect(mux(opened.json).added).toHaveLength(11);
    const seen = new Map<string, number[]>(streams.map((spec) => [spec.id, []]));
    const ended = new Set<string>();
    let sig = opened.json.sig as string;
    let restarted = false;
    for (let polls = 1; polls <= 400 && ended.size < streams.length; polls++) {
      let r = await pollMux(s.url, sig, 500);
      if (r.status === 410 && mux(r.json)?.restate) r = await pollMux(s.url, sig, 500, { restate: streams });
      expect(r.status).toBe(200);
      // Every third answer is lost on the way: the client polls again with the same signature.
      if (polls % 3 === 0) continue;
      for (const part of mux(r.json).streams) {
        const list = seen.get(part.id)!;
        expect(part.gap).toBeUndefined();
        for (const event of part.events) if (event.seq > (list.at(-1) ?? 0)) list.push(event.seq);
        if (part.termination) ended.add(part.id);
      }
      sig = r.json.sig;
      // Half way through, the server restarts with the same secret (memory log: the record is gone).
      if (!restarted && [...seen.values()].reduce((n, list) => n + list.length, 0) > (streams.length * COUNT) / 2) {
        restarted = true;
        await s.close();
        servers.splice(servers.indexOf(s), 1);
        s = await server({ secret, keepsTerminations: true });
      }
    }
    expect(restarted).toBe(true);
    for (const spec of streams) expect(seen.get(spec.id)).toEqual(Array.from({ length: COUNT }, (_, k) => k + 1));
  });
});

it('a memory-log server restarted with the same key does not re-create a multiplexed session (SSP-SIGNATURE-14)', async () => {
  const secret = 'mux-guard';
  const a = await server({ secret });
  const opened = await openMux(a.url, 'ssp.counter', { count: 3 }, { id: 'c' });
  const closed = await post(a.url, { ssp: 1, type: 'close', sig: opened.json.sig });
  expect(closed.json.reason).toBe('closed');
  await a.close();
  servers.splice(servers.indexOf(a), 1);
  const b = await server({ secret });
  const answer = await pollMux(b.url, opened.json.sig, 0, { restate: [{ id: 'c', stream: 'ssp.counter', params: { count: 3 } }] });
  expect(answer.status).toBe(503);
  expect(answer.json.code).toBe('unavailable');
  // SSP-LIFETIME-7: at most half the idle lifetime (conformance idleTimeoutMs 2000), as for plain sessions.
  expect(answer.json.retryAfterMs).toBeGreaterThan(0);
  expect(answer.json.retryAfterMs).toBeLessThanOrEqual(b.handler.limits.idleTimeoutMs / 2);
  expect(answer.headers['retry-after']).toBe(String(Math.ceil(answer.json.retryAfterMs / 1000)));
});

it.each([undefined, 100])('during shutdown a multiplexed poll is asked to wait no longer than half the idle lifetime, and no shorter than the resume advice (SSP-LIFETIME-7, SSP-TERMINATION-20), retryAfterMs %s', async (retryAfterMs) => {
  const a = await server(retryAfterMs === undefined ? {} : { retryAfterMs });
  const opened = await openMux(a.url, 'ssp.ticker', { intervalMs: 60000 }, { id: 't' });
  const held = pollMux(a.url, opened.json.sig, 10_000);
  const plain = await post(a.url, { ssp: 1, type: 'open', stream: 'ssp.ticker', params: { intervalMs: 60000 } });
  const plainHeld = post(a.url, { ssp: 1, type: 'poll', sig: plain.json.sig, hold: 10_000 });
  for (let i = 0; i < 100 && a.handler.stats().heldPolls < 2; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  const closing = a.handler.close();
  const shutdown = await held;
  expect(shutdown.json).toMatchObject({ type: 'termination', reason: 'shutdown', advice: { action: 'resume' } });
  // One resume delay for plain and multiplexed sessions of one server.
  expect((await plainHeld).json.advice).toEqual(shutdown.json.advice);
  await closing;
  const during = await pollMux(a.url, shutdown.json.sig, 0);
  expect(during.status).toBe(503);
  expect(during.json.code).toBe('unavailable');
  expect(during.json.retryAfterMs).toBeLessThanOrEqual(a.handler.limits.idleTimeoutMs / 2);
  expect(during.json.retryAfterMs).toBeGreaterThanOrEqual(shutdown.json.advice.delayMs);
});

it('multiplexed opens count against the session limits like plain ones (SSP-SECURITY-6), and a close gives the count back', async () => {
  const s = await server({ maxSessions: 3, maxSessionsPerClient: 2, retryAfterMs: 1500, clientKey: (req) => String(req.headers['x-client']) });
  const openAs = (client: string) =>
    post(s.url, { ssp: 1, type: 'open', stream: 'ssp.ticker', params: { intervalMs: 60000 }, extensions: ['multiplex'] }, { 'content-type': 'application/json', 'x-client': client });
  const first = await openAs('a');
  expect(first.json.extensions).toEqual(['multiplex']);
  expect((await openAs('a')).status).toBe(200);
  const perClient = await openAs('a');
  expect(perClient.status).toBe(503);
  expect(perClient.json).toMatchObject({ code: 'too-many-sessions', retryAfterMs: 1500, message: 'session limit per client (2) reached' });
  expect((await openAs('b')).status).toBe(200);
  const total = await openAs('c');
  expect(total.status).toBe(503);
  expect(total.json).toMatchObject({ code: 'too-many-sessions', retryAfterMs: 1500, message: 'session limit (3) reached' });
  expect((await post(s.url, { ssp: 1, type: 'close', sig: first.json.sig })).json.reason).toBe('closed');
  expect((await openAs('a')).status).toBe(200);
});
