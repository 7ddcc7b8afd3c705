// The reference server in conformance mode passes every check: zero failures, zero
// warnings, zero harness errors (issue 4: "in CI, on every run").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allChecks } from '../../conformance/checks/index.ts';
import { runChecks } from '../../conformance/runner.ts';
import { isExpectedNote } from './expected-notes.ts';

import { createServer, type SspServer } from '../../reference-server/index.ts';

describe('reference server', () => {
  let server: SspServer;
  beforeAll(async () => {
    server = await createServer({ port: 0, host: '127.0.0.1', conformance: true });
  });
  afterAll(async () => {
    await server.close();
  });

  it('passes every conformance check', async () => {
    const summary = await runChecks(allChecks, { endpoint: server.url, concurrency: 16 });
    const notPassed = summary.results.filter((result) => result.status !== 'pass' && !isExpectedNote(result)).map((result) => `${result.status} ${result.id}: ${result.reason ?? ''}`);
    expect(notPassed).toEqual([]);
    expect(summary.summary.total).toBe(allChecks.length);
  });
});
