// Load mode (`xanjax conformance <url> --load N`): against the reference server it holds
// every session and accounts for every event; against servers that drop or repeat events,
// it reports them and exits 1. Counts only, never times.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { main } from '../../conformance/cli.ts';
import { createServer, type SspServer } from '../../reference-server/index.ts';
import { startBroken, type BrokenServer } from '../conformance/broken/proxy.ts';
import { edit, eventsOf, isBatch } from '../conformance/broken/rewrite.ts';

let server: SspServer;
beforeAll(async () => {
  // A long idle lifetime: on a starved machine a client may not poll for seconds, and an
  // expiry would be the server's right, not a load-mode finding.
  server = await createServer({ port: 0, conformance: true, limits: { idleTimeoutMs: 60_000 } });
});
afterAll(() => server.close());

async function load(url: string, ...extra: string[]): Promise<{ code: number; report: any; stderr: string }> {
  let out = '';
  let err = '';
  const code = await main([url, '--load', '12', '--duration', '2', '--interval', '50', '--reporter', 'json', ...extra], {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
  });
  return { code, report: out ? JSON.parse(out) : undefined, stderr: err };
}

it('holds N sessions of ssp.ticker and receives every event exactly once', async () => {
  const { code, report } = await load(server.url);
  expect(report).toMatchObject({ sessions: 12, opened: 12, lost: 0, duplicated: 0, errors: {}, passed: true });
  expect(report.events).toBeGreaterThan(12);
  expect(report.latencyMs.max).toBeGreaterThanOrEqual(report.latencyMs.p50);
  expect(code).toBe(0);
});

it('reports events a server skips without a gap as lost, and repeated ones as duplicated (exit 1)', async () => {
  const brokenServers: BrokenServer[] = [];
  try {
    const skips = await startBroken({
      name: 'skips',
      violates: 'drops every event with seq 3 from its batches',
      breaks: [],
      create: () => ({ response: (res) => (isBatch(res) ? edit(res, { events: eventsOf(res).filter((e) => e.seq !== 3) }) : res) }),
    });
    brokenServers.push(skips);
    const repeats = await startBroken({
      name: 'repeats',
      violates: 'sends the first event of every batch twice',
      breaks: [],
      create: () => ({ response: (res) => (isBatch(res) && eventsOf(res).length > 0 ? edit(res, { events: [eventsOf(res)[0], ...eventsOf(res)] }) : res) }),
    });
    brokenServers.push(repeats);
    const skipped = await load(skips.url);
    expect(skipped.code).toBe(1);
    expect(skipped.report.lost).toBeGreaterThan(0);
    expect(skipped.report.passed).toBe(false);
    const repeated = await load(repeats.url);
    expect(repeated.code).toBe(1);
    expect(repeated.report.duplicated).toBeGreaterThan(0);
  } finally {
    for (const broken of brokenServers) await broken.close();
  }
});

it('needs ssp.ticker: a server without the conformance annex is a usage-level error (exit 2)', async () => {
  const plain = await createServer({ port: 0, topics: ['news'] });
  try {
    const { code, stderr } = await load(plain.url);
    expect(code).toBe(2);
    expect(stderr).toMatch(/does not offer ssp.ticker/);
  } finally {
    await plain.close();
  }
});

it('rejects a bad --load value', async () => {
  const { code, stderr } = await load(server.url, '--load', 'lots');
  expect(code).toBe(2);
  expect(stderr).toMatch(/--load: expected a positive integer/);
});
