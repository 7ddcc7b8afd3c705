// A server behind authentication: the runner's -H headers must reach it on every request,
// including the checks that write their request on a raw socket (SSP-TRANSPORT-9).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { allChecks } from '../../conformance/checks/index.ts';
import { runChecks } from '../../conformance/runner.ts';
import { createSspHandler, type SspHandler } from '../../reference-server/index.ts';

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
