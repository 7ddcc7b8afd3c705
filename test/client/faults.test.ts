// The client delivers every event exactly once, in order, and ends correctly, whatever
// transient faults the server injects between correct answers.
import { afterEach, describe, expect, it } from 'vitest';
import { subscribe } from '../../reference-client/node.ts';
import type { RetryNotice } from '../../reference-client/node.ts';
import { startFaultServer } from './fault-server.ts';
import type { Fault, FaultServer } from './fault-server.ts';
import { drain, fast, oneTo } from './helpers.ts';

let server: FaultServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

// Faults after which the client must send the very same poll again (§8: the newest signature it holds).
// SSP-CLIENT-19: invalid answers with status 200 or 5xx (schema-invalid, wrong type, status and body
// disagreeing, an inverted gap) are failed requests, repeated like network errors.
const failures: Fault[] = [
  'drop', 'reset', 'bad-gateway', 'unavailable', 'malformed', 'invalid', 'wrong-type', 'error-as-200', 'inverted-gap',
  { retryAfterSeconds: 0 }, { error: 'internal-error' }, { error: 'unavailable', status: 500, retryable: true },
];
// Faults answered correctly (or with a harmless variation) that the client must take in its stride.
// 'stale' and 'behind-gap' are late answers (SSP-CLIENT-3, -15); 'ext' carries unknown extension members (SSP-CLIENT-21).
const variations: Fault[] = [
  'restart', 'duplicate', 'empty', 'stale', 'behind-gap', 'ext', { delayMs: 200 }, { terminate: 'shutdown', action: 'resume', delayMs: 30 },
];

async function run(faults: Fault[], events = 13) {
  server = await startFaultServer({ events, batchSize: 3, faults });
  const subscription = subscribe(server.url, 'counter', {}, fast);
  const retries: RetryNotice[] = [];
  subscription.on('retry', (notice) => retries.push(notice));
  const result = await drain(subscription);
  return { ...result, retries, termination: await subscription.termination, requests: server.requests };
}

describe('every event exactly once, in order, under each fault', () => {
  it.each([...failures, ...variations].map((fault) => [JSON.stringify(fault), fault] as const))('%s', async (_, fault) => {
    const { seqs, error, termination, requests, retries } = await run(['ok', 'ok', 'ok', fault, 'ok', fault, fault]);
    expect(error).toBeUndefined();
    expect(seqs).toEqual(oneTo(13));
    expect(termination).toMatchObject({ reason: 'complete', last: 13 });
    expect(requests.filter((r) => r.fault === fault)).toHaveLength(3);
    if (failures.includes(fault)) {
      expect(retries).toHaveLength(3);
      // Nothing lost: the poll after each failure repeats the failed poll's position.
      requests.forEach((request, i) => {
        if (request.fault === fault) expect(requests[i + 1]).toMatchObject({ type: 'poll', position: request.position });
      });
    }
  });

  it('retries a failed open', async () => {
    const { seqs, termination, requests } = await run(['reset', 'bad-gateway', { error: 'too-many-sessions' }, 'ok'], 10);
    expect(seqs).toEqual(oneTo(10));
    expect(termination.reason).toBe('complete');
    expect(requests.slice(0, 4).map((r) => r.type)).toEqual(['open', 'open', 'open', 'open']);
  });

  it('survives a mixed schedule of every fault', async () => {
    const schedule: Fault[] = ['bad-gateway', 'ok', ...[...failures, ...variations].flatMap((fault): Fault[] => ['ok', fault, fault])];
    const { seqs, termination, requests } = await run(schedule, 120);
    expect(seqs).toEqual(oneTo(120));
    expect(termination).toMatchObject({ reason: 'complete', last: 120 });
    expect(requests.length).toBeGreaterThan(schedule.length);
  });

  it('abandons an answer slower than requestTimeoutMs and polls again with the same signature', async () => {
    server = await startFaultServer({ events: 6, batchSize: 3, faults: ['ok', { delayMs: 1_000 }] });
    // Deadline: the hold asked for, plus requestTimeoutMs (no discovery, so batchDelayMs counts as 0).
    const subscription = subscribe(server.url, 'counter', {}, { ...fast, holdMs: 100, requestTimeoutMs: 200 });
    const { seqs } = await drain(subscription);
    expect(seqs).toEqual(oneTo(6));
    expect(server.requests[2]).toMatchObject({ type: 'poll', position: 0, fault: 'ok' });
  });

  it('sends requests as text/plain (CORS-safelisted, SSP/1 §4)', async () => {
    const { requests } = await run([]);
    expect(new Set(requests.map((r) => r.contentType))).toEqual(new Set(['text/plain;charset=utf-8']));
  });
});
