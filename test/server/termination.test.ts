// spec §12-§14: every termination path, repeatability, close, idle expiry, graceful shutdown.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValidator } from '../../schemas/index.ts';
import type { SspServer } from '../../reference-server/index.ts';
import { close, drain, open, poll, sleep, start } from './helpers.ts';

const validator = createValidator();
let server: SspServer;
let url: string;

beforeAll(async () => {
  server = await start({ conformance: true, limits: { maxHoldMs: 2500, idleTimeoutMs: 2000, terminationMemoryMs: 4500 } });
  url = server.url;
});
afterAll(() => server.close());

describe('termination', () => {
  it('completes after every event, and repeats the identical body to any signature and to close', async () => {
    const sig0 = await open(url, 'ssp.counter', { count: 3 });
    const { termination } = await drain(url, sig0);
    expect(validator.validate('termination', termination)).toEqual({ ok: true });
    expect(termination).toMatchObject({ reason: 'complete', last: 3, advice: { action: 'none' } });
    const body = JSON.stringify(termination);
    expect((await poll(url, sig0, 0)).text).toBe(body);
    expect((await poll(url, termination.sig, 0)).text).toBe(body);
    expect((await close(url, sig0)).text).toBe(body);
  });

  it('answers a poll held at the end of the stream with the termination', async () => {
    const sig = await open(url, 'ssp.counter', { count: 1, intervalMs: 100 });
    const first = await poll(url, sig, 1000);
    expect(first.json.events.length).toBe(1);
    const started = Date.now();
    const end = await poll(url, first.json.sig, 1000);
    expect(end.json).toMatchObject({ type: 'termination', reason: 'complete', last: 1 });
    expect(Date.now() - started).toBeLessThan(900); // the hold is 1000 ms
  });

  it('ends an error stream with reason error, its message and advice none', async () => {
    const sig = await open(url, 'ssp.fail', { after: 2, message: 'disk on fire' });
    const { events, termination } = await drain(url, sig);
    expect(events.map((e) => e.data.n)).toEqual([1, 2]);
    expect(validator.validate('termination', termination)).toEqual({ ok: true });
    expect(termination).toMatchObject({ reason: 'error', last: 2, advice: { action: 'none' }, error: { message: 'disk on fire' } });
    expect((await poll(url, sig, 0)).text).toBe(JSON.stringify(termination));
  });

  it('close answers the held poll and the close with the same closed termination', async () => {
    const sig = await open(url, 'ssp.ticker', { intervalMs: 60000 });
    const held = poll(url, sig, 1000);
    await sleep(50);
    const closed = await close(url, sig);
    const answer = await held;
    expect(closed.json).toMatchObject({ type: 'termination', reason: 'closed', last: 0, advice: { action: 'none' } });
    expect(answer.text).toBe(closed.text);
    expect((await close(url, sig)).text).toBe(closed.text);
    expect((await poll(url, sig, 0)).text).toBe(closed.text);
  });

  it('expires an idle session: termination expired with advice reopen, then session-expired once forgotten', async () => {
    const sig = await open(url, 'ssp.ticker', { intervalMs: 60000 });
    const before = server.handler.stats().sessions;
    await sleep(2150);
    expect(server.handler.stats().sessions).toBeLessThan(before);
    const r = await poll(url, sig, 0);
    expect(r.json).toMatchObject({ type: 'termination', reason: 'expired', last: 0, advice: { action: 'reopen' } });
    // Remembered for max(terminationMemoryMs, idle + hold) = 4500 ms; the signature expired earlier.
    await sleep(4700);
    const late = await poll(url, sig, 0);
    expect(late.status).toBe(410);
    expect(late.json.code).toBe('session-expired');
  });

  it('a held poll keeps its session alive past the idle timeout', async () => {
    const sig = await open(url, 'ssp.ticker', { intervalMs: 60000 });
    const r = await poll(url, sig, 2300); // longer than idleTimeoutMs (2000)
    expect(r.json).toMatchObject({ type: 'batch', events: [] });
    expect((await poll(url, r.json.sig, 0)).json.type).toBe('batch');
  });
});

describe('graceful shutdown', () => {
  it('answers held polls with shutdown + resume advice, then refuses new requests', async () => {
    const own = await start({ conformance: true, secret: 'shutdown-test' });
    // Events 500 ms apart: the held poll below cannot be answered by an event before the shutdown.
    const sig = await open(own.url, 'ssp.counter', { count: 3, intervalMs: 500 });
    const first = await poll(own.url, sig, 1000);
    const position = first.json.events.at(-1).seq;
    const held = poll(own.url, first.json.sig, 10000);
    for (let i = 0; i < 100 && own.handler.stats().heldPolls === 0; i++) await sleep(5);
    expect(own.handler.stats().heldPolls).toBe(1);
    const closing = own.handler.close();
    const answer = await held;
    expect(validator.validate('termination', answer.json)).toEqual({ ok: true });
    expect(answer.json).toMatchObject({ reason: 'shutdown', advice: { action: 'resume' } });
    // SSP-TERMINATION-10/17: last is the held poll's position, which its sig encodes.
    expect(answer.json.last).toBe(position);
    expect(answer.json.advice.delayMs).toBeGreaterThan(0);
    expect(answer.headers.connection).toBe('close');
    await closing;
    const after = await poll(own.url, sig, 0);
    expect(after.status).toBe(503);
    expect(after.json).toMatchObject({ code: 'unavailable', retryable: true });
    expect(after.headers['retry-after']).toBeDefined();
    // SSP-TERMINATION-20: told to come back no earlier than the clients told to resume.
    expect(after.json.retryAfterMs).toBeGreaterThanOrEqual(answer.json.advice.delayMs);
    expect(own.handler.stats()).toEqual({ sessions: 0, heldPolls: 0, tombstones: 0, clients: 0, execProcesses: 0 });
    await own.close();
    // The shutdown signature resumes at the held poll's position on a server with the same secret,
    // when terminations survive the restart (SSP-SIGNATURE-14; keepsTerminations stands in for a
    // durable log: no session of this test terminated before the restart).
    const next = await start({ conformance: true, secret: 'shutdown-test', keepsTerminations: true });
    try {
      const { events, termination } = await drain(next.url, answer.json.sig, { hold: 1000 });
      expect(events[0].seq).toBe(position + 1);
      expect(termination).toMatchObject({ reason: 'complete', last: 3 });
    } finally {
      await next.close();
    }
  });
});
