// Below the application (spec §15, D2): what Node's HTTP parser rejects before the handler,
// header and body deadlines that hold, absolute-form targets, and closing a connection whose
// body is still arriving without a reset. Raw sockets: no HTTP client sends these.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodeInfo } from '../../schemas/index.ts';
import type { SspServer } from '../../reference-server/index.ts';
import { framingServerOptions, LINGER_MS } from '../../reference-server/holder/framing.ts';
import { rawExchange } from '../helpers/raw-http.ts';
import type { RawAnswer } from '../helpers/raw-http.ts';
import { start } from './helpers.ts';

const HEADERS_TIMEOUT_MS = 1000;
const BODY_TIMEOUT_MS = 1000;
let server: SspServer;
let port: number;

beforeAll(async () => {
  server = await start({ conformance: true, headersTimeoutMs: HEADERS_TIMEOUT_MS, bodyTimeoutMs: BODY_TIMEOUT_MS });
  port = Number(new URL(server.url).port);
});
afterAll(() => server.close());

/** The JSON error with its registered status, no-store and Connection: close. */
function expectFramingError(answer: RawAnswer, code: keyof typeof errorCodeInfo): void {
  expect(answer.status, answer.text.slice(0, 200)).toBe(errorCodeInfo[code].status);
  expect(answer.json).toMatchObject({ ssp: 1, type: 'error', code, retryable: errorCodeInfo[code].retryable });
  expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(answer.headers['cache-control']).toBe('no-store');
  expect(answer.headers.connection?.toLowerCase()).toBe('close');
}

const request = (head: string) => rawExchange(port, { head, timeoutMs: 5000 });

describe('requests the HTTP parser rejects get the JSON error', () => {
  it.each([
    ['unknown method FOO', 'FOO /ssp HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['lowercase get', 'get /ssp HTTP/1.1\r\nHost: x\r\n\r\n'],
  ])('%s: 405 method-not-allowed with Allow', async (_name, head) => {
    const answer = await request(head);
    expectFramingError(answer, 'method-not-allowed');
    expect(answer.headers.allow).toBe('GET, HEAD, POST, OPTIONS');
  });

  it.each([
    ['bytes that are no request line', '\x00\x01\x02garbage\r\n\r\n'],
    ['a Content-Length that is not a number', 'POST /ssp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}'],
    ['two different Content-Lengths', 'POST /ssp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{} '],
    ['two equal Content-Lengths', 'POST /ssp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}'],
    ['Content-Length with Transfer-Encoding', 'POST /ssp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n'],
    ['a chunk size that is not hex', 'POST /ssp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'],
    ['an HTTP/1.1 request without Host', 'GET /ssp HTTP/1.1\r\n\r\n'],
  ])('%s: 400 bad-request', async (_name, head) => {
    expectFramingError(await request(head), 'bad-request');
  });

  it('headers larger than the parser accepts: 431 headers-too-large', async () => {
    expectFramingError(await request(`GET /ssp HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), 'headers-too-large');
  });
});

describe('deadlines that hold', () => {
  const { connectionsCheckingInterval = 0 } = framingServerOptions({ headersTimeoutMs: HEADERS_TIMEOUT_MS, bodyTimeoutMs: BODY_TIMEOUT_MS });
  // The cut is due at the timeout plus one checking interval; the exchange gives up at five
  // times that, where the old 30 s checking interval would have let the trickle go on.
  const bound = 5 * (HEADERS_TIMEOUT_MS + connectionsCheckingInterval);

  it('a header trickle (one byte every 100 ms, never ending) is cut with 408 request-timeout', async () => {
    const started = Date.now();
    const answer = await rawExchange(port, { head: 'GET /ssp HTTP/1.1\r\nHost: x\r\nX-Slow: ', trickle: { piece: 'a', everyMs: 100 }, timeoutMs: bound });
    const elapsed = Date.now() - started;
    console.log(`header trickle cut after ${elapsed} ms (${answer.bytesWritten} bytes), headersTimeout ${HEADERS_TIMEOUT_MS} ms, checked every ${connectionsCheckingInterval} ms`);
    expect(answer.ended).not.toBe('timeout');
    expectFramingError(answer, 'request-timeout');
    expect(elapsed).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS);
  });

  it('a connection that never sends a byte is answered 408 and closed', async () => {
    const answer = await rawExchange(port, { timeoutMs: bound });
    expect(answer.ended).not.toBe('timeout');
    expectFramingError(answer, 'request-timeout');
  });

  it('a body that never finishes (one byte every 100 ms) gets 408 request-timeout', async () => {
    const answer = await rawExchange(port, {
      head: 'POST /ssp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"ssp":1,',
      trickle: { piece: ' ', everyMs: 100 },
      timeoutMs: 5 * BODY_TIMEOUT_MS,
      untilAnswer: true,
    });
    expect(answer.ended).toBe('answered');
    expectFramingError(answer, 'request-timeout');
  });
});

describe('request targets and expectations', () => {
  it('the absolute form of the target reaches the endpoint (RFC 9112 §3.2.2)', async () => {
    const answer = await rawExchange(port, { head: `GET http://127.0.0.1:${port}/ssp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`, untilAnswer: true, timeoutMs: 5000 });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ type: 'discovery' });
  });

  it('an unknown expectation is ignored, not answered 417 in plain text', async () => {
    const answer = await rawExchange(port, { head: 'GET /ssp HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\n\r\n', untilAnswer: true, timeoutMs: 5000 });
    expect(answer.status).toBe(200);
  });
});

describe('answers sent before the body is read', () => {
  it('a 415 with a small body: the body is discarded and the connection carries the next request', async () => {
    const body = '{"ssp":1,"type":"open","stream":"ssp.counter","params":{"count":1}}';
    const bad = `POST /ssp HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const answer = await rawExchange(port, { head: `${bad}GET /ssp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, timeoutMs: 3000 });
    const statuses = [...answer.text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((match) => Number(match[1]));
    expect(statuses).toEqual([415, 200]);
  });

  it('a 405 with a small body keeps the connection too', async () => {
    const answer = await rawExchange(port, { head: 'DELETE /ssp HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /ssp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', timeoutMs: 3000 });
    expect([...answer.text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((match) => Number(match[1]))).toEqual([405, 200]);
  });

  it('a 413 while the body is still arriving: answered at once, then a lingering close, never a reset', async () => {
    const { maxBodyBytes } = server.handler.limits;
    const total = 64 * maxBodyBytes;
    const piece = 'x'.repeat(maxBodyBytes);
    // The client keeps sending for a while after the answer (as a proxy forwarding the body
    // does), then finishes; the server must have kept reading, so the close is clean.
    const pieces = Math.max(1, Math.floor(LINGER_MS / 4 / 20));
    const answer = await rawExchange(port, {
      head: `POST /ssp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${total}\r\n\r\n${'x'.repeat(maxBodyBytes + 1)}`,
      trickle: { piece, everyMs: 20, count: pieces, thenEnd: true },
      timeoutMs: 4 * LINGER_MS,
    });
    expectFramingError(answer, 'payload-too-large');
    expect(answer.ended).toBe('closed');
    expect(answer.bytesWritten).toBeGreaterThan(pieces * maxBodyBytes);
  });

  it('the server is still healthy afterwards', async () => {
    const answer = await rawExchange(port, { head: 'GET /ssp HTTP/1.1\r\nHost: x\r\n\r\n', untilAnswer: true, timeoutMs: 5000 });
    expect(answer.status).toBe(200);
  });
});
