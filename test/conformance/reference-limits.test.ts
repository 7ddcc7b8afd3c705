// A conformance runner must never fail a conforming server. The reference server with
// legal but unusual limits (spec §5: any positive integers) is one: one event per batch,
// a body limit that a one-event batch nearly fills, a long or a very short retention.
// Every check must pass (zero failures, warnings and harness errors); with retainEvents
// too large to read in a run, the eviction checks are notes saying how far they read.
import { afterAll, describe, expect, it } from 'vitest';
import { allChecks } from '../../conformance/checks/index.ts';
import { runChecks } from '../../conformance/runner.ts';
import { isExpectedNote, isLimitsNote } from './expected-notes.ts';

import { createServer, type Limits, type SspServer } from '../../reference-server/index.ts';

const servers: SspServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

async function run(limits: Partial<Limits>, only?: string[]) {
  const server = await createServer({ port: 0, host: '127.0.0.1', conformance: true, limits });
  servers.push(server);
  const summary = await runChecks(allChecks, { endpoint: server.url, concurrency: 16, ...(only ? { only } : {}) });
  // Notes of checks that need --server-command (or credentials) are expected of every run, not of these limits.
  const reasonsOf = (status: string) => summary.results.filter((result) => result.status === status && !isExpectedNote(result)).map((result) => `${result.id}: ${result.reason ?? ''}`);
  return { summary, notPassed: summary.results.filter((result) => result.status !== 'pass' && !isExpectedNote(result) && !isLimitsNote(result)).map((result) => `${result.status} ${result.id}: ${result.reason ?? ''}`), notes: reasonsOf('note') };
}

describe('reference server with unusual legal limits', () => {
  it('one event per batch, maxBatchBytes 4096 (the least legal), retainEvents 1000: passes every check', { timeout: 120_000 }, async () => {
    const { notPassed, summary } = await run({ maxBatchEvents: 1, maxBatchBytes: 4096, retainEvents: 1000 });
    expect(notPassed).toEqual([]);
    expect(summary.summary.total).toBe(allChecks.length);
  });

  it('maxBatchBytes 4096, the least legal, retainEvents 3: passes every check (SSP-BATCH-3 counts bytes)', { timeout: 120_000 }, async () => {
    const { notPassed } = await run({ maxBatchEvents: 100, maxBatchBytes: 4096, retainEvents: 3 });
    expect(notPassed).toEqual([]);
  });

  it('retainEvents 1 (every event but the newest may be gone before the first poll): passes every check', { timeout: 120_000 }, async () => {
    const { notPassed } = await run({ retainEvents: 1 });
    expect(notPassed).toEqual([]);
  });

  it('retainEvents 9990, one event per batch: the eviction checks read as far as the runner\'s bound and say so in a note', { timeout: 120_000 }, async () => {
    const { summary, notes, notPassed } = await run({ maxBatchEvents: 1, retainEvents: 9990 }, ['DELIVERY']);
    // Which checks failed and why, not only how many.
    expect(notPassed.filter((line) => !line.startsWith('note '))).toEqual([]);
    expect(summary.conforming).toBe(true);
    expect(notes.map((note) => note.split(':')[0])).toEqual(['SSP-DELIVERY-3', 'SSP-DELIVERY-4', 'SSP-DELIVERY-9', 'SSP-DELIVERY-14', 'SSP-DELIVERY-11']);
    for (const note of notes) expect(note).toMatch(/checked in part: read \d+ of 10000 events in \d+ polls, then stopped at the runner's bound/);
  });
});
