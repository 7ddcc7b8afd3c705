// A real reverse proxy: Debian's nginx with stock proxy_pass plus exactly the README's lines
// (test/helpers/nginx.ts). The conformance runner passes through it; oversized bodies never
// become 502; X-Forwarded-For written by a client cannot buy it more sessions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allChecks } from '../../conformance/checks/index.ts';
import { runChecks } from '../../conformance/runner.ts';
import { clientKeyFromForwardedFor, createServer } from '../../reference-server/index.ts';
import type { SspServer } from '../../reference-server/index.ts';
import { documentedLines, nginxAvailable, startNginx } from '../helpers/nginx.ts';
import type { RunningNginx } from '../helpers/nginx.ts';
import { post } from '../server/helpers.ts';

describe.skipIf(!nginxAvailable)('behind nginx with the documented lines', () => {
  let server: SspServer;
  let nginx: RunningNginx;
  let endpoint: string;
  beforeAll(async () => {
    server = await createServer({ port: 0, conformance: true, clientKey: clientKeyFromForwardedFor, maxSessionsPerClient: 1000 });
    nginx = await startNginx({ upstreams: [new URL(server.url).origin], locationLines: documentedLines(server.handler.limits.maxHoldMs) });
    endpoint = `${nginx.origin}/ssp`;
  });
  afterAll(async () => {
    await nginx?.stop();
    await server?.close();
  });

  it('the conformance runner passes through the proxy', { timeout: 300_000 }, async () => {
    // SSP-ERROR-11 is skipped: nginx answers malformed framing itself (its own HTML 400) before
    // the upstream sees a byte, whatever the server behind it does (README: behind a reverse proxy).
    const summary = await runChecks(allChecks, { endpoint, concurrency: 8, skip: ['SSP-ERROR-11'] });
    const notPassed = summary.results.filter((result) => result.status === 'fail' || result.status === 'harness-error' || result.status === 'warning').map((result) => `${result.status} ${result.id}: ${result.reason ?? ''}`);
    console.log(`conformance through nginx: ${JSON.stringify(summary.summary)}`);
    expect(notPassed, nginx.errorLog().slice(-2000)).toEqual([]);
    expect(summary.conforming).toBe(true);
  });

  it('oversized bodies get 413 payload-too-large, never a 502', async () => {
    const { maxBodyBytes } = server.handler.limits;
    const statuses: Record<number, number> = {};
    for (let i = 0; i < 60; i++) {
      // From just over the limit to 16 times it: the body is still arriving when the 413 is sent.
      const size = maxBodyBytes + 1 + Math.floor((i / 60) * 15 * maxBodyBytes);
      const r = await post(endpoint, JSON.stringify({ ssp: 1, type: 'open', stream: 'ssp.counter', params: { count: 1, x: 'y'.repeat(size) } }));
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      if (r.status === 413) expect(r.json.code).toBe('payload-too-large');
    }
    console.log(`oversized bodies through nginx: ${JSON.stringify(statuses)}`);
    expect(statuses).toEqual({ 413: 60 });
  });

  it('a client writing X-Forwarded-For itself is still one client (the proxy appends the real address)', async () => {
    const limited = await createServer({ port: 0, conformance: true, clientKey: clientKeyFromForwardedFor, maxSessionsPerClient: 3 });
    const proxy = await startNginx({ upstreams: [new URL(limited.url).origin], locationLines: documentedLines(limited.handler.limits.maxHoldMs) });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        const r = await post(`${proxy.origin}/ssp`, { ssp: 1, type: 'open', stream: 'ssp.ticker', params: { intervalMs: 60_000 } }, { 'content-type': 'application/json', 'x-forwarded-for': `203.0.113.${i}` });
        statuses.push(r.status);
      }
      expect(statuses).toEqual([200, 200, 200, 503, 503, 503, 503, 503]);
    } finally {
      await proxy.stop();
      await limited.close();
    }
  });
});
