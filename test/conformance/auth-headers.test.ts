// A server behind authentication: the runner's -H headers must reach it on every request,
// including the checks that write their request on a raw socket (SSP-TRANSPORT-9); and the
// credential checks (SSP-AUTH), which leave those headers out or forge them.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allChecks } from '../../conformance/checks/index.ts';
import { runChecks } from '../../conformance/runner.ts';
import { bearerToken, createServer, createSspHandler, type SspHandler, type SspServer } from '../../reference-server/index.ts';

const token = 'Bearer conformance-token';
let ssp: SspHandler;
let server: http.Server;
let endpoint: string;

beforeAll(async () => {
  ssp = createSspHandler({ conformance: true });
  server = http.createServer((req, res) => {
    if (req.headers.authorization === token) return ssp(req, res);
    res.writeHead(401, { 'content-type': 'text/plain' }).end('unauthorized\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ssp`;
});
afterAll(async () => {
  await ssp.close();
  await new Promise((resolve) => server.close(resolve));
});

it.each([['SSP-TRANSPORT-9'], ['SSP-TRANSPORT']])('%s passes when every request carries the -H header', async (only) => {
  const summary = await runChecks(allChecks, { endpoint, only: [only], headers: { Authorization: token } });
  expect(summary.results.filter((result) => result.status !== 'pass').map((result) => `${result.id}: ${result.reason}`)).toEqual([]);
});

it('without the header the server refuses even discovery (the gate is real)', async () => {
  await expect(runChecks(allChecks, { endpoint, only: ['SSP-TRANSPORT-9'] })).rejects.toMatchObject({ name: 'DiscoveryError' });
});

describe('the credential checks (SSP-AUTH-2, -3, -5)', () => {
  // The hook `xanjax serve --auth-token T` installs (reference-server/cli.ts).
  let reference: SspServer;
  const authorization = 'Bearer reference-auth-token';
  beforeAll(async () => {
    reference = await createServer({ port: 0, host: '127.0.0.1', conformance: true, authorize: bearerToken('reference-auth-token') });
  });
  afterAll(() => reference.close());

  it('pass against the reference server requiring a bearer token, given it with -H', async () => {
    const summary = await runChecks(allChecks, { endpoint: reference.url, only: ['SSP-AUTH'], headers: { Authorization: authorization } });
    expect(summary.results.map((result) => `${result.id} ${result.status} ${result.reason ?? ''}`.trim())).toEqual(['SSP-AUTH-2 pass', 'SSP-AUTH-3 pass', 'SSP-AUTH-5 pass']);
  });

  it('are notes saying they need -H credentials when none are given, never passes', async () => {
    const open = await createServer({ port: 0, host: '127.0.0.1', conformance: true });
    try {
      const summary = await runChecks(allChecks, { endpoint: open.url, only: ['SSP-AUTH'] });
      expect(summary.results.map((result) => result.status)).toEqual(['note', 'note', 'note']);
      for (const result of summary.results) expect(result.reason).toMatch(/^not testable: needs credentials the server requires.*-H/);
    } finally {
      await open.close();
    }
  });

  it('say so when the -H headers are no credentials the server requires', async () => {
    const open = await createServer({ port: 0, host: '127.0.0.1', conformance: true });
    try {
      const summary = await runChecks(allChecks, { endpoint: open.url, only: ['SSP-AUTH-3', 'SSP-AUTH-5'], headers: { 'X-Trace': 'conformance' } });
      expect(summary.results.map((result) => result.status)).toEqual(['note', 'note']);
    } finally {
      await open.close();
    }
  });
});
