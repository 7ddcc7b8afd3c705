import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CheckFailure } from '../../conformance/check.ts';
import { createAgent } from '../../conformance/agent.ts';
import { createContext } from '../../conformance/context.ts';
import { unknownExt } from '../../conformance/unknown-ext.ts';
import { startFakeServer, testDiscovery, type FakeServer } from './fake-server.ts';

let server: FakeServer;
const agent = createAgent();

beforeAll(async () => {
  server = await startFakeServer();
});
afterAll(async () => {
  await agent.destroy();
  await server.close();
});

function context(headers: Record<string, string> = {}) {
  return createContext({ endpoint: new URL(server.url), discovery: testDiscovery(), headers, dispatcher: agent });
}

describe('createContext', () => {
  test('open posts JSON with the user headers and records the exchange', async () => {
    const ctx = context({ 'X-Token': 'secret' });
    const answer = await ctx.open('ok', { count: 1 });
    expect(answer.body).toMatchObject({ type: 'session', stream: 'ok', position: 0 });
    // SSP-EXT-1: every message a check sends carries extension members no server understands.
    expect(server.received.at(-1)).toEqual({ ssp: 1, type: 'open', stream: 'ok', params: { count: 1 }, ext: unknownExt });
    expect(ctx.evidence).toHaveLength(1);
    const [exchange] = ctx.evidence;
    expect(exchange.request).toMatchObject({ method: 'POST', headers: { 'content-type': 'application/json', 'x-token': 'secret' } });
    expect(exchange.response?.status).toBe(200);
    expect(exchange.response?.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  test('poll and close send the signature', async () => {
    const ctx = context();
    await ctx.poll('fakesignature-0123456789', 0);
    await ctx.close('fakesignature-0123456789');
    expect(server.received.slice(-2)).toEqual([
      { ssp: 1, type: 'poll', sig: 'fakesignature-0123456789', hold: 0, ext: unknownExt },
      { ssp: 1, type: 'close', sig: 'fakesignature-0123456789', ext: unknownExt },
    ]);
  });

  test('open fails the check unless the answer is a 200 session', async () => {
    const ctx = context();
    const failure = await ctx.open('gone').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CheckFailure);
    expect((failure as CheckFailure).message).toContain('404 error unknown-stream');
    expect((failure as CheckFailure).evidence).toHaveLength(1);
  });

  test('a message violating its schema fails the check (wire check)', async () => {
    const failure = await context().open('bad').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CheckFailure);
    expect((failure as CheckFailure).message).toMatch(/'session' message that violates its schema.*position/);
  });

  test('a request the server never answers fails after the derived timeout', async () => {
    const ctx = context();
    const failure = await ctx.send({ ssp: 1, type: 'open', stream: 'hang' }, { timeoutMs: 200 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CheckFailure);
    expect(ctx.evidence[0].error).toBe('no complete response within 200 ms');
  });

  test('raw never throws on status and keeps bodies verbatim', async () => {
    const ctx = context();
    const answer = await ctx.raw();
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ type: 'discovery' });
  });

  test('tolerance and sleep are scaled', async () => {
    const ctx = createContext({ endpoint: new URL(server.url), discovery: testDiscovery(), timeoutScale: 2, dispatcher: agent });
    expect(ctx.tolerance).toBe(500);
    const started = performance.now();
    await ctx.sleep(20);
    expect(performance.now() - started).toBeGreaterThanOrEqual(35);
  });
});
