// SSP-SECURITY-6: sessions are limited per client as well as in total, and a client's count
// goes down with every way a session ends.
import { expect, it } from 'vitest';
import { clientKeyFromForwardedFor, clientKeyFromProxies } from '../../reference-server/index.ts';
import type { SspServer } from '../../reference-server/index.ts';
import { Signer } from '../../reference-server/signature.ts';
import { close, drain, open, poll, post, sleep, start } from './helpers.ts';

const openAs = (url: string, headers: Record<string, string>, stream = 'ssp.ticker', params: Record<string, unknown> = { intervalMs: 60000 }) =>
  post(url, { ssp: 1, type: 'open', stream, params }, { 'content-type': 'application/json', ...headers });

/** Waits (bounded) until the server holds no live session. */
async function untilNoSessions(server: SspServer): Promise<void> {
  for (let i = 0; i < 100 && server.handler.stats().sessions > 0; i++) await sleep(50);
}

it('refuses a client over its limit like the total limit (503, Retry-After, retryAfterMs), other clients unaffected', async () => {
  const server = await start({
    conformance: true,
    maxSessionsPerClient: 2,
    retryAfterMs: 1500,
    clientKey: (req) => String(req.headers['x-client']),
  });
  try {
    for (let i = 0; i < 2; i++) expect((await openAs(server.url, { 'x-client': 'a' })).status).toBe(200);
    const refused = await openAs(server.url, { 'x-client': 'a' });
    expect(refused.status).toBe(503);
    expect(refused.json).toMatchObject({ code: 'too-many-sessions', retryable: true, retryAfterMs: 1500 });
    expect(refused.json.message).toMatch(/per client/);
    expect(refused.headers['retry-after']).toBe('2');
    expect((await openAs(server.url, { 'x-client': 'b' })).status).toBe(200);
    expect(server.handler.stats()).toMatchObject({ sessions: 3, clients: 2 });
  } finally {
    await server.close();
  }
  expect(server.handler.stats()).toMatchObject({ sessions: 0, clients: 0 });
});

it('gives a client its sessions back when they are closed, complete or expire', async () => {
  // Default key: the peer address, 127.0.0.1 for every request here.
  const server = await start({ conformance: true, maxSessionsPerClient: 2, limits: { maxHoldMs: 100, idleTimeoutMs: 2000 } });
  try {
    const full = async () => (await post(server.url, { ssp: 1, type: 'open', stream: 'ssp.ticker' })).status === 503;
    const ticker = await open(server.url, 'ssp.ticker', { intervalMs: 60000 });
    const counter = await open(server.url, 'ssp.counter', { count: 1 });
    expect(await full()).toBe(true);
    // closed
    await close(server.url, ticker);
    expect(server.handler.stats()).toMatchObject({ sessions: 1, clients: 1 });
    const again = await open(server.url, 'ssp.ticker', { intervalMs: 60000 });
    expect(await full()).toBe(true);
    // complete
    expect((await drain(server.url, counter, { hold: 100 })).termination.reason).toBe('complete');
    expect(server.handler.stats()).toMatchObject({ sessions: 1, clients: 1 });
    await open(server.url, 'ssp.ticker', { intervalMs: 60000 });
    expect(await full()).toBe(true);
    // expired: both sessions go unpolled for idleTimeoutMs
    await untilNoSessions(server);
    expect(server.handler.stats()).toMatchObject({ sessions: 0, clients: 0 });
    expect((await poll(server.url, again, 0)).json).toMatchObject({ type: 'termination', reason: 'expired' });
    await open(server.url, 'ssp.ticker', { intervalMs: 60000 });
    await open(server.url, 'ssp.ticker', { intervalMs: 60000 });
    expect(await full()).toBe(true);
  } finally {
    await server.close();
  }
});

it('counts a session re-created from a signature (§4) against the polling client', async () => {
  const server = await start({ conformance: true, secret: 'limit-secret', keepsTerminations: true, maxSessionsPerClient: 1 });
  try {
    await open(server.url, 'ssp.ticker', { intervalMs: 60000 });
    const signer = new Signer('limit-secret');
    const forgotten = signer.sign(signer.key('from-before-a-restart', 'ssp.counter', { count: 2, intervalMs: 0, size: 0 }), 0, Date.now() + 60_000);
    const refused = await poll(server.url, forgotten, 0);
    expect(refused.status).toBe(503);
    expect(refused.json.code).toBe('too-many-sessions');
    // SSP-LIFETIME-7: the wait asked of a poll stays within half the idle lifetime (conformance
    // idleTimeoutMs 2000), although opens are asked to wait retryAfterMs (default 2000).
    expect(refused.json.retryAfterMs).toBe(server.handler.limits.idleTimeoutMs / 2);
    expect(refused.headers['retry-after']).toBe('1');
    expect((await openAs(server.url, {})).json.retryAfterMs).toBe(2000);
  } finally {
    await server.close();
  }
});

it('clientKeyFromForwardedFor keys on the last X-Forwarded-For address (the proxy\'s), else the peer', async () => {
  const server = await start({ conformance: true, maxSessionsPerClient: 1, clientKey: clientKeyFromForwardedFor });
  try {
    expect((await openAs(server.url, { 'x-forwarded-for': '10.0.0.1, 203.0.113.7' })).status).toBe(200);
    // A client-written first entry does not buy another allowance: the proxy's entry is the same.
    expect((await openAs(server.url, { 'x-forwarded-for': 'forged, 203.0.113.7 ' })).status).toBe(503);
    expect((await openAs(server.url, { 'x-forwarded-for': '10.0.0.1, 203.0.113.8' })).status).toBe(200);
    expect((await openAs(server.url, {})).status).toBe(200);
    expect((await openAs(server.url, { 'x-forwarded-for': '' })).status).toBe(503); // the peer again
    expect(server.handler.stats()).toMatchObject({ sessions: 3, clients: 3 });
  } finally {
    await server.close();
  }
});

it('trusts X-Forwarded-For only from a proxy: a client reaching the server directly keys on its own address', () => {
  const request = (remoteAddress: string, forwarded?: string) => ({ socket: { remoteAddress }, headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded } }) as never;
  // --trust-proxy: a proxy on the same machine.
  expect(clientKeyFromForwardedFor(request('127.0.0.1', 'spoofed, 198.51.100.7'))).toBe('198.51.100.7');
  expect(clientKeyFromForwardedFor(request('::ffff:127.0.0.1', '198.51.100.7'))).toBe('198.51.100.7');
  expect(clientKeyFromForwardedFor(request('::1'))).toBe('::1');
  expect(clientKeyFromForwardedFor(request('203.0.113.9', '198.51.100.7'))).toBe('203.0.113.9');
  // A proxy elsewhere, named by the host application.
  const behindLb = clientKeyFromProxies((peer) => peer === '10.0.0.2');
  expect(behindLb(request('10.0.0.2', '1.2.3.4, 198.51.100.7'))).toBe('198.51.100.7');
  expect(behindLb(request('10.0.0.3', '198.51.100.7'))).toBe('10.0.0.3');
});
