// The restart checks (--server-command): the runner starts each server as its own process,
// stops it with SIGTERM or SIGKILL and starts it again. A conforming server (the reference
// server with its termination memory kept across restarts) passes every one; each broken
// variant fails exactly the requirements it declares. Without --server-command the same
// checks are notes, never passes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allChecks } from '../../conformance/checks/index.ts';
import { restartChecks } from '../../conformance/checks/restart.ts';
import { runChecks } from '../../conformance/runner.ts';
import { createServer } from '../../reference-server/index.ts';
import { restartServer } from '../support/bundles.ts';
import { startPooled } from '../support/pool.ts';
import { freePort } from '../support/processes.ts';
import { restartVariants } from './broken/restart-variants.ts';

const ids = restartChecks.map((check) => check.id);
const dir = mkdtempSync(join(tmpdir(), 'xanjax-restart-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runAgainst(variant: string) {
  const port = await freePort();
  const command = `exec node ${restartServer} --port ${port} --secret restart-test-secret-0123456789 --journal ${join(dir, `${variant}.json`)} --variant ${variant}`;
  const summary = await runChecks(allChecks, { endpoint: `http://127.0.0.1:${port}/ssp`, only: ids, serverCommand: command });
  const failing = summary.results.filter((result) => result.status === 'fail' || result.status === 'warning');
  return {
    failing: [...new Set(failing.map((result) => result.id))].sort(),
    notPassed: summary.results.filter((result) => result.status !== 'pass').map((result) => `${result.status} ${result.id}: ${result.reason ?? ''}`),
    harnessErrors: summary.results.filter((result) => result.status === 'harness-error').map((result) => `${result.id}: ${result.reason ?? ''}`),
  };
}

describe('restart checks (--server-command)', () => {
  // Four at a time: each run mostly waits for restarts and holds, but its checks judge what
  // a poll gets at instants around a restart, and eight at once on a loaded machine moved
  // those instants too far. A restart slower than the signatures' idleTimeoutMs would leave
  // nothing to resume (the checks then say so in notes instead of judging).
  const names = restartVariants('').map((variant) => variant.name);
  const outcomes = startPooled(names, 4, runAgainst);

  it('a conforming server passes every restart check', { timeout: 600_000 }, async () => {
    const { notPassed } = await outcomes.get('journal')!;
    // The reference server stops accepting at once, so requests during its shutdown may find
    // nothing to answer them: SSP-TERMINATION-20 is then a note saying so, never a failure.
    const unobservable = /^note SSP-TERMINATION-20: no request sent after SIGTERM was answered/;
    expect(notPassed.filter((line) => !unobservable.test(line))).toEqual([]);
  });

  for (const variant of restartVariants('').filter((candidate) => candidate.breaks.length > 0)) {
    it(`${variant.name} fails exactly ${variant.breaks.join(', ')}`, { timeout: 600_000 }, async () => {
      const { failing, harnessErrors, notPassed } = await outcomes.get(variant.name)!;
      expect(harnessErrors).toEqual([]);
      expect(failing, notPassed.join('\n')).toEqual([...variant.breaks].sort());
    });
  }

  it('without --server-command every restart check is a note saying why, never a pass', { timeout: 60_000 }, async () => {
    const server = await createServer({ port: 0, host: '127.0.0.1', conformance: true });
    try {
      const summary = await runChecks(allChecks, { endpoint: server.url, only: ids });
      expect(summary.results.map((result) => result.status)).toEqual(ids.map(() => 'note'));
      for (const result of summary.results) expect(result.reason).toMatch(/not testable: .*--server-command/);
      expect(summary.conforming).toBe(true);
    } finally {
      await server.close();
    }
  });
});
