// The conformance runner passes against the durable logs as users run them: `xanjax serve
// --log file:DIR`, and three `xanjax serve --log redis://…` instances behind nginx
// round-robin (so consecutive requests of one session land on different instances), and one
// Redis instance alone.
// Timing-judged, so it runs with the other conformance proofs, alone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allChecks } from '../../conformance/checks/index.ts';
import { runChecks } from '../../conformance/runner.ts';
import { documentedLines, startNginx } from '../helpers/nginx.ts';
import type { RunningNginx } from '../helpers/nginx.ts';
import { startRedis } from '../support/redis-server.ts';
import type { RedisServer } from '../support/redis-server.ts';
import { startInstance, stopInstance } from './redis-cluster.ts';
import type { Instance } from './redis-cluster.ts';
import { isExpectedNote } from '../conformance/expected-notes.ts';

/**
 * `behindProxy`: nginx answers malformed framing itself, so SSP-ERROR-11 judges nginx there, not
 * the servers. Every log offers the multiplex extension (its records live in the log), so
 * §23's checks must pass too: a note that it is not offered is a failure here.
 */
async function expectConformant(endpoint: string, concurrency: number, behindProxy = false): Promise<void> {
  const summary = await runChecks(allChecks, { endpoint, concurrency, ...(behindProxy ? { skip: ['SSP-ERROR-11'] } : {}) });
  expect(summary.results.filter((result) => /^SSP-MUX-/.test(result.id) && result.status === 'pass').length).toBeGreaterThan(0);
  const notPassed = summary.results
    .filter((result) => result.status !== 'pass' && !isExpectedNote(result))
    .map((result) => `${result.status} ${result.id}: ${result.reason ?? ''}`);
  expect(notPassed).toEqual([]);
}

describe('conformance with --log file:DIR', () => {
  let dir: string;
  let instance: Instance;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xanjax-conformance-file-'));
    instance = await startInstance(['--conformance', '--secret', 'conformance-secret', '--log', `file:${dir}`]);
  });
  afterAll(async () => {
    if (instance) await stopInstance(instance);
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes every check', () => expectConformant(instance.url, 16), 120_000);
});

describe('conformance with --log redis:// on one instance', () => {
  let redis: RedisServer;
  let instance: Instance;
  beforeAll(async () => {
    redis = await startRedis();
    instance = await startInstance(['--conformance', '--secret', 'conformance-secret', '--log', redis.url]);
  }, 120_000);
  afterAll(async () => {
    if (instance) await stopInstance(instance);
    await redis?.dispose();
  });

  it('passes every check', () => expectConformant(instance.url, 16), 120_000);
});

describe('conformance with --log redis:// on three instances behind nginx round-robin', () => {
  let redis: RedisServer;
  let instances: Instance[] = [];
  let nginx: RunningNginx;
  beforeAll(async () => {
    redis = await startRedis();
    instances = await Promise.all([0, 1, 2].map(() => startInstance(['--conformance', '--secret', 'conformance-secret', '--log', redis.url, '--trust-proxy'])));
    // Stock proxy_pass plus the lines README "Behind a reverse proxy" documents (default hold).
    nginx = await startNginx({ upstreams: instances.map((instance) => `http://${instance.address}`), locationLines: documentedLines(25_000) });
  }, 180_000);
  afterAll(async () => {
    await nginx?.stop();
    await Promise.all(instances.map(stopInstance));
    await redis?.dispose();
  });

  // Four checks at a time: every request crosses nginx and three processes on two shared cores.
  // Every instance reads positions, gaps and ends from the shared stream, so any instance
  // answers any signature alike (re-delivery, older polls beside a held one, eviction gaps).
  it('passes every check', () => expectConformant(`${nginx.origin}/ssp`, 4, true), 300_000);
});
