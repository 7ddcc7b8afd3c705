// A server MAY restrict the origins it allows (SSP-CORS-1): the runner must not fail it.
// The reference server behind a wrapper that strips every CORS header, except for the one
// origin it allows (if any), is a conforming server with an allow-list; the CORS checks
// are then notes for an origin it does not allow, and pass with --origin set to one it does.
import { createServer as createHttpServer, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allChecks } from '../../conformance/checks/index.ts';
import { runChecks } from '../../conformance/runner.ts';
import { createServer, createSspHandler, type SspHandler, type SspServer } from '../../reference-server/index.ts';

const allowedOrigin = 'https://app.example.com';
/** The CORS checks that presuppose an allowed origin; SSP-CORS-4 and -8 bind every server. */
const needAllowedOrigin = ['SSP-CORS-3', 'SSP-CORS-5', 'SSP-CORS-6', 'SSP-CORS-7', 'SSP-CORS-9', 'SSP-CORS-10', 'SSP-CORS-11', 'SSP-CORS-12'];

interface Wrapped {
  url: string;
  close(): Promise<void>;
}

const isCors = (name: string) => name.toLowerCase().startsWith('access-control-');

/** Drops the CORS headers the handler sets, however it sets them (setHeader or writeHead). */
function stripCors(res: ServerResponse): void {
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
  res.writeHead = ((...args: unknown[]) => {
    for (const name of res.getHeaderNames()) if (isCors(name)) res.removeHeader(name);
    const last = args.at(-1);
    if (Array.isArray(last)) {
      // A flat [name, value, name, value, …] list (the handler's fast path for common answers).
      const pairs: string[] = [];
      for (let i = 0; i + 1 < last.length; i += 2) if (!isCors(String(last[i]))) pairs.push(String(last[i]), String(last[i + 1]));
      args[args.length - 1] = pairs;
    } else if (typeof last === 'object' && last !== null) {
      args[args.length - 1] = Object.fromEntries(Object.entries(last as OutgoingHttpHeaders).filter(([name]) => !isCors(name)));
    }
    return writeHead(...args);
  }) as ServerResponse['writeHead'];
}

/** The reference handler (annex on), allowing only `allowed` cross-origin (none when undefined). */
async function restrictedServer(allowed: string | undefined): Promise<Wrapped> {
  const handler: SspHandler = createSspHandler({ conformance: true });
  const server: Server = createHttpServer((req, res) => {
    if (req.headers.origin !== allowed) stripCors(res);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${handler.path}`,
    async close() {
      await handler.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The checks that send an Origin: CORS, and TRANSPORT (no-store on the preflight answer). */
async function runCors(url: string, origin?: string) {
  const summary = await runChecks(allChecks, { endpoint: url, only: ['CORS', 'TRANSPORT'], concurrency: 8, ...(origin ? { origin } : {}) });
  const status = Object.fromEntries(summary.results.filter((result) => result.section === 'CORS').map((result) => [result.id, result.status]));
  const notPassed = summary.results.filter((result) => result.status !== 'pass' && result.status !== 'note').map((result) => `${result.status} ${result.id}: ${result.reason ?? ''}`);
  return { summary, status, notPassed };
}

describe('servers that restrict origins (SSP-CORS-1)', () => {
  let none: Wrapped;
  let allowList: Wrapped;
  let reference: SspServer;
  beforeAll(async () => {
    [none, allowList, reference] = await Promise.all([
      restrictedServer(undefined),
      restrictedServer(allowedOrigin),
      createServer({ port: 0, host: '127.0.0.1', conformance: true }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([none?.close(), allowList?.close(), reference?.close()]);
  });

  it('no CORS headers at all: conforming, the CORS checks that need an allowed origin are notes saying why', async () => {
    const { summary, status, notPassed } = await runCors(none.url);
    expect(notPassed).toEqual([]);
    expect(summary.conforming).toBe(true);
    // Unique requirement IDs: the run's audit of every response adds its own note for SSP-CORS-6.
    const noted = [...new Set(Object.entries(status).filter(([, value]) => value === 'note').map(([id]) => id.split('/')[0]))];
    expect(noted.sort()).toEqual([...needAllowedOrigin].sort());
    expect(status).toMatchObject({ 'SSP-CORS-4': 'pass', 'SSP-CORS-8': 'pass' });
    for (const result of summary.results.filter((r) => r.status === 'note' && !r.id.endsWith('/every-response'))) {
      expect(result.reason).toMatch(/^not applicable: the server does not allow origin https:\/\/conformance\.xanjax\.invalid .*SSP-CORS-1.*pass --origin/);
    }
  });

  it('an allow-list: notes for an origin it does not allow, every CORS check passes with --origin set to one it allows', async () => {
    const other = await runCors(allowList.url, 'https://elsewhere.example.com');
    expect(other.notPassed).toEqual([]);
    expect(new Set(Object.entries(other.status).filter(([, value]) => value === 'note').map(([id]) => id.split('/')[0])).size).toBe(needAllowedOrigin.length);
    const allowed = await runCors(allowList.url, allowedOrigin);
    expect(allowed.summary.results.filter((result) => result.status !== 'pass').map((result) => `${result.status} ${result.id}: ${result.reason ?? ''}`)).toEqual([]);
  });

  it('the reference server (every origin allowed) passes every CORS check with --origin', async () => {
    const { summary } = await runCors(reference.url, allowedOrigin);
    expect(summary.results.filter((result) => result.status !== 'pass').map((result) => `${result.status} ${result.id}: ${result.reason ?? ''}`)).toEqual([]);
  });
});
