// Issue 8's edges on the reference server: HEAD and query strings (§4.1), the Content-Type
// table (§4.2), I-JSON (§6.1), ext and extension negotiation (§6.5), superseding by position
// (§10), shutdown-free re-created annex streams (§20.4).
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SspServer } from '../../reference-server/index.ts';
import { Signer } from '../../reference-server/signature.ts';
import { drain, open, poll, post, send, sleep, start } from './helpers.ts';

let server: SspServer;
let url: string;
const openCounter = { ssp: 1, type: 'open', stream: 'ssp.counter', params: { count: 1 } };

beforeAll(async () => {
  server = await start({ conformance: true, secret: 'edges', keepsTerminations: true });
  url = server.url;
});
afterAll(() => server.close());

describe('§4.1 endpoint, methods and query strings', () => {
  it('SSP-TRANSPORT-15: HEAD gets the discovery status and headers, without content', async () => {
    const get = await send(url, 'GET', { origin: 'https://app.example' });
    const head = await send(url, 'HEAD', { origin: 'https://app.example' });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    for (const name of ['content-type', 'cache-control', 'access-control-allow-origin', 'content-length']) expect(head.headers[name]).toBe(get.headers[name]);
  });

  it('SSP-TRANSPORT-14: other methods get 405 with HEAD in Allow', async () => {
    const r = await send(url, 'PUT', { 'content-type': 'application/json' }, JSON.stringify(openCounter));
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET, HEAD, POST, OPTIONS');
  });

  it('SSP-TRANSPORT-13: a query string changes nothing', async () => {
    expect((await send(`${url}?cachebust=1`, 'GET')).json.type).toBe('discovery');
    const opened = await post(`${url}?_=42&x`, openCounter);
    expect(opened.json.type).toBe('session');
    expect((await post(`${url}?trace=on`, { ssp: 1, type: 'poll', sig: opened.json.sig, hold: 0 })).json.type).toBe('batch');
  });
});

describe('§4.2 Content-Type (SSP-TRANSPORT-3, -11, -16)', () => {
  it.each([
    'application/json',
    'TEXT/PLAIN',
    'text/plain;',
    'text/plain; charset=UTF-8',
    'text/plain;charset="utf-8"',
    'text/plain; charset="utf\\-8"',
    'text/plain; format=flowed; charset=utf-8',
    'text/plain ; ; charset=utf-8',
  ])('accepts %s', async (contentType) => {
    expect((await post(url, openCounter, { 'content-type': contentType })).json.type).toBe('session');
  });

  it.each([
    'text/plain; charset=utf8',
    'text/plain; charset=latin1',
    'text/plain; charset=""',
    'text/plain; charset=utf-8; charset=utf-8',
    'text/plain; charset',
    'text/plain; charset = utf-8',
    'text/plain, application/json',
    'text/plain; charset="utf-8',
    'text/',
  ])('answers %s with 415', async (contentType) => {
    const r = await post(url, openCounter, { 'content-type': contentType });
    expect([r.status, r.json.code]).toEqual([415, 'unsupported-media-type']);
  });

  it('answers two Content-Type field lines with 415', async () => {
    const res = await request(url, { method: 'POST', headers: ['content-type', 'application/json', 'content-type', 'text/plain'], body: JSON.stringify(openCounter) });
    const json = (await res.body.json()) as { code: string };
    expect([res.statusCode, json.code]).toEqual([415, 'unsupported-media-type']);
  });
});

describe('§6.1 I-JSON (SSP-MESSAGE-9 to -12)', () => {
  const text = JSON.stringify(openCounter);
  it.each([
    ['a byte order mark', `\uFEFF${text}`],
    ['a duplicate member', '{"ssp":1,"type":"open","stream":"ssp.counter","stream":"ssp.ticker"}'],
    ['a duplicate member inside params', '{"ssp":1,"type":"open","stream":"ssp.counter","params":{"count":1,"count":2}}'],
    ['a lone surrogate escape', '{"ssp":1,"type":"open","stream":"ssp.counter","params":{"count":1,"x":"\\ud800"}}'],
    ['a lone surrogate in a member name', '{"ssp":1,"type":"open","stream":"ssp.counter","ext":{"\\udc00":1}}'],
    ['an integer beyond 2^53 - 1', '{"ssp":1,"type":"poll","sig":"abcdefghijklmnopq","hold":9007199254740993}'],
    ['NaN', '{"ssp":1,"type":"poll","sig":"abcdefghijklmnopq","hold":NaN}'],
    // Next to the common poll's text, which the endpoint recognizes without the general parse.
    ['a duplicate member in a poll', '{"ssp":1,"type":"poll","sig":"abcdefghijklmnopq","sig":"abcdefghijklmnopr"}'],
    ['a hold with a leading zero', '{"ssp":1,"type":"poll","sig":"abcdefghijklmnopq","hold":01}'],
    ['a negative hold', '{"ssp":1,"type":"poll","sig":"abcdefghijklmnopq","hold":-1}'],
    ['a poll without its closing brace', '{"ssp":1,"type":"poll","sig":"abcdefghijklmnopq"'],
    ['nesting deeper than 32 levels', `{"ssp":1,"type":"open","stream":"ssp.counter","ext":{"com.example.deep":${'['.repeat(40)}${']'.repeat(40)}}}`],
  ])('answers %s with bad-request', async (_, body) => {
    const r = await post(url, body);
    expect([r.status, r.json.code]).toEqual([400, 'bad-request']);
  });

  it('accepts a surrogate pair, 2^53 - 1, and 32 levels of nesting', async () => {
    const deep = `${'['.repeat(29)}${']'.repeat(29)}`;
    const body = `{"ssp":1,"type":"open","stream":"ssp.counter","params":{"count":1},"ext":{"com.example.x":{"s":"\\ud83d\\ude00","n":9007199254740991,"d":${deep}}}}`;
    expect((await post(url, body)).json.type).toBe('session');
  });

  it('SSP-MESSAGE-10: "ssp": 1.0 is version 1 and "hold": 0.0 is 0', async () => {
    const opened = await post(url, '{"ssp":1.0,"type":"open","stream":"ssp.counter","params":{"count":1e0}}');
    expect(opened.json.type).toBe('session');
    const started = Date.now();
    const polled = await post(url, `{"ssp":1e0,"type":"poll","sig":"${opened.json.sig}","hold":0.0}`);
    expect(polled.json.type).toBe('batch');
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

describe('§6.5 extensions', () => {
  it('SSP-EXT-1: unknown ext members on open, poll and close change nothing', async () => {
    const ext = { 'com.example.trace': { id: 'x', nested: { a: [1, 2] } }, 'urn:example:y': null };
    const opened = await post(url, { ...openCounter, ext });
    expect(opened.json).toMatchObject({ type: 'session', position: 0 });
    expect(opened.json.extensions).toBeUndefined();
    const polled = await post(url, { ssp: 1, type: 'poll', sig: opened.json.sig, hold: 1000, ext });
    expect(polled.json.events.map((e: { seq: number }) => e.seq)).toEqual([1]);
    const closed = await post(url, { ssp: 1, type: 'close', sig: polled.json.sig, ext });
    expect(closed.json).toMatchObject({ type: 'termination' });
  });

  it('SSP-EXT-2: asked-for extensions the server does not offer are left out of the session answer', async () => {
    // This server offers only `multiplex` (spec §23).
    expect((await send(url, 'GET')).json.extensions).toEqual(['multiplex']);
    const opened = await post(url, { ...openCounter, extensions: ['com.example.trace', 'org.example.other'] });
    expect(opened.json).toMatchObject({ type: 'session', extensions: [] });
    expect((await post(url, { ...openCounter, extensions: [] })).json.extensions).toEqual([]);
  });

  it('ext that is not an object, or extensions on a poll, are bad requests', async () => {
    expect((await post(url, { ...openCounter, ext: [] })).json.code).toBe('bad-request');
    expect((await post(url, { ssp: 1, type: 'poll', sig: 'abcdefghijklmnopq', extensions: [] })).json.code).toBe('bad-request');
  });
});

describe('§10 superseding by position', () => {
  it('SSP-HOLD-11: an older signature is answered at once and leaves the held poll held', async () => {
    const sig0 = await open(url, 'ssp.ticker', { intervalMs: 400 });
    const first = await poll(url, sig0, 2000);
    expect(first.json.events.length).toBeGreaterThan(0);
    const position = first.json.events.at(-1).seq;
    const held = poll(url, first.json.sig, 5000);
    await sleep(50);
    const old = await poll(url, sig0, 5000);
    expect(old.json.events[0].seq).toBe(1);
    const answer = await held;
    // Not cut short by the old signature: answered with the next event.
    expect(answer.json.events[0].seq).toBeGreaterThan(position);
  });

  it('SSP-HOLD-10: the same signature supersedes the held poll at once', async () => {
    const sig = await open(url, 'ssp.ticker', { intervalMs: 60000 });
    const held = poll(url, sig, 5000);
    await sleep(50);
    const newer = poll(url, sig, 0);
    expect((await held).json).toMatchObject({ type: 'batch', events: [] });
    expect((await newer).json.type).toBe('batch');
  });
});

describe('§9.4 and §20.4 re-created sessions', () => {
  it('SSP-DELIVERY-13: an old signature of a re-created session gets a gap without events up to the head', async () => {
    const signer = new Signer('edges');
    const key = signer.key('recreated-at-5', 'ssp.counter', { count: 5, intervalMs: 0, size: 0 });
    const at5 = signer.sign(key, 5, Date.now() + 3000);
    const end = await poll(url, at5, 1000);
    expect(end.json).toMatchObject({ type: 'termination', reason: 'complete', last: 5 });
    const recreated = signer.sign(signer.key('recreated-at-3', 'ssp.ticker', { intervalMs: 60000 }), 3, Date.now() + 3000);
    expect((await poll(url, recreated, 0)).json).toMatchObject({ type: 'batch', events: [] });
    const older = signer.sign(signer.key('recreated-at-3', 'ssp.ticker', { intervalMs: 60000 }), 1, Date.now() + 3000);
    const gap = await poll(url, older, 0);
    expect(gap.json).toMatchObject({ type: 'batch', gap: { from: 2, to: 3 }, events: [] });
    expect(signer.verify(gap.json.sig).position).toBe(3);
  });

  it('SSP-ANNEX-20: a re-created ssp.counter continues after its position and completes at count', async () => {
    const signer = new Signer('edges');
    const sig = signer.sign(signer.key('counter-at-2', 'ssp.counter', { count: 4, intervalMs: 0, size: 0 }), 2, Date.now() + 3000);
    const { events, termination } = await drain(url, sig);
    expect(events.map((e) => e.data)).toEqual([{ n: 3 }, { n: 4 }]);
    expect(termination).toMatchObject({ reason: 'complete', last: 4 });
  });
});
