// spec §4-§6: discovery, media types, headers, CORS, methods, and the bad-input table.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValidator } from '../../schemas/index.ts';
import type { SspServer } from '../../reference-server/index.ts';
import { open, post, send, start } from './helpers.ts';

let server: SspServer;
let url: string;

beforeAll(async () => {
  server = await start({ conformance: true, bodyTimeoutMs: 300 });
  url = server.url;
});
afterAll(() => server.close());

describe('discovery', () => {
  it('answers GET with a schema-valid discovery document listing the annex streams', async () => {
    const r = await send(url, 'GET');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(createValidator().validate('discovery', r.json)).toEqual({ ok: true });
    expect(r.json.conformance).toBe(true);
    expect(r.json.limits).toMatchObject({ maxHoldMs: 1500, idleTimeoutMs: 2000, terminationMemoryMs: 5000, retainEvents: 50, batchDelayMs: 20 });
    const counter = r.json.streams.find((s: { name: string }) => s.name === 'ssp.counter');
    expect(counter).toMatchObject({ resumable: true, params: { required: ['count'] } });
    expect(r.json.streams.map((s: { name: string }) => s.name).sort()).toEqual(['ssp.burst', 'ssp.counter', 'ssp.fail', 'ssp.ticker']);
  });

  it('offers no annex streams without conformance', async () => {
    const plain = await start({ streams: {} });
    try {
      const r = await send(plain.url, 'GET');
      expect(r.json).toMatchObject({ conformance: false, streams: [] });
      expect(r.json.limits).toMatchObject({ maxHoldMs: 25000, idleTimeoutMs: 60000, terminationMemoryMs: 85000 });
    } finally {
      await plain.close();
    }
  });
});

describe('media types', () => {
  const message = { ssp: 1, type: 'open', stream: 'ssp.counter', params: { count: 1 } };
  it.each(['application/json', 'text/plain', 'application/json; charset=utf-8', 'text/plain;charset=UTF-8', 'Application/JSON; charset="utf-8"'])(
    'accepts %s',
    async (type) => {
      const r = await post(url, message, { 'content-type': type });
      expect(r.status).toBe(200);
      expect(r.json.type).toBe('session');
    },
  );

  it.each([undefined, 'application/x-www-form-urlencoded', 'text/html', 'application/json; charset=latin1'])('answers 415 to %s', async (type) => {
    const r = await post(url, message, type === undefined ? {} : { 'content-type': type });
    expect(r.status).toBe(415);
    expect(r.json).toMatchObject({ type: 'error', code: 'unsupported-media-type', retryable: false });
  });
});

describe('headers', () => {
  it('sends Cache-Control: no-store on every kind of response', async () => {
    const sig = await open(url, 'ssp.counter', { count: 1 });
    const replies = await Promise.all([
      send(url, 'GET'),
      send(url, 'OPTIONS', { origin: 'https://a.example', 'access-control-request-method': 'POST' }),
      post(url, { ssp: 1, type: 'poll', sig, hold: 0 }),
      post(url, 'not json'),
      send(url, 'DELETE'),
    ]);
    for (const r of replies) expect(r.headers['cache-control']).toBe('no-store');
  });

  it('answers other methods with 405 and Allow', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const r = await send(url, method);
      expect(r.status).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD, POST, OPTIONS');
      expect(r.json.code).toBe('method-not-allowed');
    }
  });
});

describe('CORS', () => {
  it('echoes the origin (never *) with credentials, Vary and exposed Retry-After', async () => {
    const r = await send(url, 'GET', { origin: 'https://app.example' });
    expect(r.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(r.headers['access-control-allow-credentials']).toBe('true');
    expect(r.headers.vary).toBe('Origin');
    expect(r.headers['access-control-expose-headers']).toBe('Retry-After');
  });

  it('sends CORS headers on error responses too', async () => {
    const r = await post(url, '{', { 'content-type': 'text/plain', origin: 'https://app.example' });
    expect(r.status).toBe(400);
    expect(r.headers['access-control-allow-origin']).toBe('https://app.example');
  });

  it('answers a preflight with 204, methods, headers and max-age', async () => {
    const r = await send(url, 'OPTIONS', {
      origin: 'https://app.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    });
    expect(r.status).toBe(204);
    expect(r.text).toBe('');
    expect(r.headers['access-control-allow-methods']).toMatch(/GET, HEAD, POST/);
    expect(String(r.headers['access-control-allow-headers']).toLowerCase()).toContain('content-type');
    expect(r.headers['access-control-max-age']).toBeDefined();
    expect(r.headers['access-control-allow-origin']).toBe('https://app.example');
  });

  it('sends no ACAO without an Origin', async () => {
    const r = await send(url, 'GET');
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('bad input gets the typed error and the server stays healthy', () => {
  const sigShaped = 'A'.repeat(40);
  const cases: Array<[string, string, number, string]> = [
    ['invalid JSON', '{"ssp":1,', 400, 'bad-request'],
    ['empty body', '', 400, 'bad-request'],
    ['JSON array', '[1,2]', 400, 'bad-request'],
    ['JSON string', '"open"', 400, 'bad-request'],
    ['unknown type', '{"ssp":1,"type":"subscribe"}', 400, 'bad-request'],
    ['missing ssp', '{"type":"open","stream":"ssp.counter"}', 400, 'bad-request'],
    ['unknown property', '{"ssp":1,"type":"open","stream":"ssp.counter","params":{"count":1},"x":1}', 400, 'bad-request'],
    ['bad stream name', '{"ssp":1,"type":"open","stream":"../etc"}', 400, 'bad-request'],
    ['negative hold', `{"ssp":1,"type":"poll","sig":"${sigShaped}","hold":-1}`, 400, 'bad-request'],
    ['params not an object', '{"ssp":1,"type":"open","stream":"ssp.counter","params":[1]}', 400, 'bad-request'],
    ['version 2', '{"ssp":2,"type":"open","stream":"ssp.counter"}', 400, 'unsupported-version'],
    ['version 2 with an unknown shape', '{"ssp":2,"kind":"hello"}', 400, 'unsupported-version'],
    ['version as a string', '{"ssp":"1","type":"open","stream":"ssp.counter"}', 400, 'bad-request'],
    ['unknown stream', '{"ssp":1,"type":"open","stream":"no.such"}', 404, 'unknown-stream'],
    ['missing required param', '{"ssp":1,"type":"open","stream":"ssp.counter"}', 422, 'invalid-params'],
    ['param out of range', '{"ssp":1,"type":"open","stream":"ssp.counter","params":{"count":0}}', 422, 'invalid-params'],
    ['unknown param', '{"ssp":1,"type":"open","stream":"ssp.ticker","params":{"speed":1}}', 422, 'invalid-params'],
    ['short signature', '{"ssp":1,"type":"poll","sig":"abc"}', 403, 'invalid-signature'],
    ['signature with bad characters', `{"ssp":1,"type":"poll","sig":"${'%'.repeat(20)}"}`, 403, 'invalid-signature'],
    ['made-up signature', `{"ssp":1,"type":"poll","sig":"${sigShaped}"}`, 403, 'invalid-signature'],
    ['made-up close', `{"ssp":1,"type":"close","sig":"${sigShaped}.${'B'.repeat(43)}"}`, 403, 'invalid-signature'],
  ];

  it.each(cases)('%s → %i %s', async (_name, body, status, code) => {
    const r = await post(url, body, { 'content-type': 'text/plain' });
    expect(r.status).toBe(status);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(createValidator().validate('error', r.json)).toEqual({ ok: true });
    expect(r.json.code).toBe(code);
    expect(r.json.message.length).toBeGreaterThan(0);
  });

  it('lists the params errors in details as {path, message} (SSP-OPEN-11)', async () => {
    const r = await post(url, { ssp: 1, type: 'open', stream: 'ssp.counter', params: { count: 'many', size: -1, colour: 'red' } });
    const paths = r.json.details.errors.map((e: { path: string }) => e.path).sort();
    expect(paths).toEqual(['/colour', '/count', '/size']);
    for (const error of r.json.details.errors) expect(typeof error.message).toBe('string');
    expect(r.json.message).toContain('/count');
    const missing = await post(url, { ssp: 1, type: 'open', stream: 'ssp.counter', params: {} });
    expect(missing.json.details.errors).toEqual([{ path: '/count', message: expect.any(String) }]);
  });

  it('lists a malformed message\'s problems in details the same way, pointers into the message', async () => {
    const r = await post(url, { ssp: 1, type: 'poll', sig: 'abcdefghijklmnop', hold: -1 });
    expect(r.json.code).toBe('bad-request');
    expect(r.json.details.errors).toEqual([{ path: '/hold', message: 'must be >= 0' }]);
    expect(r.json.message).toContain('/hold must be >= 0');
  });

  it('names the supported versions', async () => {
    const r = await post(url, { ssp: 7, type: 'open', stream: 'ssp.counter' });
    expect(r.json.versions).toEqual([1]);
  });

  it('answers 413 to an oversized body, declared or streamed', async () => {
    const big = JSON.stringify({ ssp: 1, type: 'open', stream: 'ssp.counter', params: { count: 1, x: 'y'.repeat(20_000) } });
    const declared = await post(url, big);
    expect(declared.status).toBe(413);
    expect(declared.json.code).toBe('payload-too-large');
    // Chunked: no Content-Length, so the limit must be enforced while reading.
    const chunked = await rawRequest(
      `POST /ssp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n` +
        `${(20_000).toString(16)}\r\n${'x'.repeat(20_000)}\r\n`,
    );
    expect(chunked).toMatch(/^HTTP\/1\.1 413/);
    expect(chunked).toContain('payload-too-large');
    // Chunked and complete in the one packet with its headers: refused at the limit all the same.
    const whole = await rawRequest(
      `POST /ssp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n` +
        `${(20_000).toString(16)}\r\n${'x'.repeat(20_000)}\r\n0\r\n\r\n`,
    );
    expect(whole).toMatch(/^HTTP\/1\.1 413/);
    expect(whole).toContain('payload-too-large');
  });

  it('reads a body that arrives in pieces after its headers, and one that comes whole with them', async () => {
    const body = JSON.stringify({ ssp: 1, type: 'open', stream: 'ssp.counter', params: { count: 1 } });
    const head = `POST /ssp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const whole = await rawRequest(head + body);
    expect(whole).toMatch(/^HTTP\/1\.1 200/);
    expect(whole).toContain('"type":"session"');
    const pieces = await rawRequest([head, body.slice(0, 10), body.slice(10, 30), body.slice(30)], 50);
    expect(pieces).toMatch(/^HTTP\/1\.1 200/);
    expect(pieces).toContain('"type":"session"');
  });

  it('answers a body that never arrives within the body timeout with 408 request-timeout', async () => {
    const started = Date.now();
    const answer = await rawRequest(`POST /ssp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"ssp":1,`);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(answer).toContain('"code":"request-timeout"');
    expect(answer).toContain('not received within 300 ms');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('rejects a body that is not UTF-8', async () => {
    const r = await send(url, 'POST', { 'content-type': 'application/json' }, Buffer.from([0x7b, 0xff, 0x7d]) as unknown as string);
    expect(r.status).toBe(400);
  });

  it('is still healthy afterwards', async () => {
    const r = await post(url, { ssp: 1, type: 'open', stream: 'ssp.counter', params: { count: 1 } });
    expect(r.status).toBe(200);
    expect(server.handler.stats().sessions).toBeGreaterThan(0);
  });
});

it('answers other paths with 404, and calls next() when mounted as middleware', async () => {
  const r = await send(new URL('/elsewhere', url).href, 'GET');
  expect(r.status).toBe(404);
  let nextCalled = false;
  server.handler({ url: '/other', headers: {}, method: 'GET' } as never, {} as never, () => (nextCalled = true));
  expect(nextCalled).toBe(true);
});

/** Sends `text` (or its parts, `gapMs` apart) on a new connection; resolves with the whole answer (bounded by 5 s). */
function rawRequest(text: string | string[], gapMs = 0): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(answer);
    }, 5000);
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      const headEnd = answer.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(answer.slice(0, headEnd));
      if (headEnd >= 0 && length && answer.length - headEnd - 4 >= Number(length[1])) {
        clearTimeout(timer);
        socket.destroy();
        resolve(answer);
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      if (answer) resolve(answer);
      else reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    const parts = typeof text === 'string' ? [text] : text;
    parts.forEach((part, i) => setTimeout(() => socket.writable && socket.write(part), i * gapMs));
  });
}
