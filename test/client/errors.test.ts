// Whatever cannot be retried away reaches the application as a typed error, never silently;
// termination advice is followed.
import { afterEach, describe, expect, it } from 'vitest';
import { fetch } from 'undici';
import {
  createSubscribe,
  SspGapError,
  SspProtocolError,
  SspServerError,
  SspTerminationError,
  SspTransportError,
  subscribe,
} from '../../reference-client/node.ts';
import type { FetchLike, ReopenedNotice, SspError } from '../../reference-client/node.ts';
import { startFaultServer } from './fault-server.ts';
import type { Fault, FaultServer } from './fault-server.ts';
import { drain, fast, oneTo } from './helpers.ts';

let server: FaultServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(faults: Fault[], events = 10) {
  server = await startFaultServer({ events, batchSize: 3, faults });
  return server;
}

describe('gaps', () => {
  it('ends the subscription with SspGapError by default, and closes the session', async () => {
    const { url, closes } = await start(['ok', 'ok', 'gap']);
    const subscription = subscribe(url, 'counter', {}, fast);
    const errors: SspError[] = [];
    subscription.on('error', (error) => errors.push(error));
    const { seqs, error } = await drain(subscription);
    expect(seqs).toEqual([1, 2, 3]);
    expect(error).toBeInstanceOf(SspGapError);
    expect(error).toMatchObject({ code: 'gap', from: 4, to: 5 });
    await expect(subscription.termination).rejects.toBe(error);
    expect(errors).toEqual([error]);
    await subscription.close();
    expect(closes).toHaveLength(1);
  });

  it("reports it on 'gap' and goes on with gaps: 'continue'", async () => {
    const { url } = await start(['ok', 'ok', 'gap']);
    const subscription = subscribe(url, 'counter', {}, { ...fast, gaps: 'continue' });
    const gaps: SspGapError[] = [];
    subscription.on('gap', (gap) => gaps.push(gap));
    const { seqs, error } = await drain(subscription);
    expect(error).toBeUndefined();
    expect(seqs).toEqual(oneTo(10).filter((n) => n !== 4 && n !== 5));
    expect(gaps.map(({ from, to }) => ({ from, to }))).toEqual([{ from: 4, to: 5 }]);
  });
});

describe('events skipped without a gap signal (SSP-CLIENT-7)', () => {
  it('end the subscription with SspProtocolError, even with gaps: continue, and close the session', async () => {
    const { url, closes } = await start(['ok', 'ok', 'skip']);
    const subscription = subscribe(url, 'counter', {}, { ...fast, gaps: 'continue' });
    const gaps: SspGapError[] = [];
    subscription.on('gap', (gap) => gaps.push(gap));
    const { seqs, error } = await drain(subscription);
    expect(seqs).toEqual([1, 2, 3]);
    expect(error).toBeInstanceOf(SspProtocolError);
    expect(error).toMatchObject({ code: 'protocol', message: expect.stringContaining('4..5') });
    expect(gaps).toEqual([]);
    await subscription.close();
    expect(closes).toHaveLength(1);
  });
});

describe('typed errors', () => {
  it('a non-retryable server error is an SspServerError carrying its code, not retried', async () => {
    const { url, requests } = await start(['ok', 'ok', { error: 'bad-request' }]);
    const subscription = subscribe(url, 'counter', {}, fast);
    const { seqs, error } = await drain(subscription);
    expect(seqs).toEqual([1, 2, 3]);
    expect(error).toBeInstanceOf(SspServerError);
    expect(error).toMatchObject({ code: 'bad-request', status: 400, retryable: false });
    expect(requests).toHaveLength(3);
  });

  it('an unknown stream fails the open with unknown-stream', async () => {
    const { url } = await start([]);
    const subscription = subscribe(url, 'no.such.stream', {}, fast);
    await expect(subscription.termination).rejects.toMatchObject({ code: 'unknown-stream', status: 404 });
  });

  it('malformed answers become an SspProtocolError once retries are exhausted', async () => {
    const { url, requests } = await start(['ok', 'malformed', 'bad-gateway', 'invalid']);
    const subscription = subscribe(url, 'counter', {}, { ...fast, retry: { ...fast.retry, maxAttempts: 2 } });
    const { error } = await drain(subscription);
    expect(error).toBeInstanceOf(SspProtocolError);
    expect(error).toMatchObject({ code: 'protocol', status: 200 });
    expect(requests.map((r) => r.fault)).toEqual(['ok', 'malformed', 'bad-gateway', 'invalid']);
  });

  it('an unreachable server becomes an SspTransportError once retries are exhausted', async () => {
    const { url } = await start([]);
    await server!.close();
    server = undefined;
    const subscription = subscribe(url, 'counter', {}, { ...fast, retry: { ...fast.retry, maxAttempts: 2 } });
    await expect(subscription.termination).rejects.toBeInstanceOf(SspTransportError);
  });
});

describe('termination advice (§12)', () => {
  it('an error termination without advice ends the iterator with SspTerminationError', async () => {
    const { url } = await start(['ok', 'ok', { terminate: 'error', action: 'none' }]);
    const subscription = subscribe(url, 'counter', {}, fast);
    const { seqs, error } = await drain(subscription);
    expect(seqs).toEqual([1, 2, 3]);
    expect(error).toBeInstanceOf(SspTerminationError);
    expect((await subscription.termination).reason).toBe('error');
  });

  it('reopen: a new session of the same stream after delayMs, announced by a reopened notice', async () => {
    const { url, requests } = await start(['ok', 'ok', { terminate: 'expired', action: 'reopen', delayMs: 50 }], 4);
    const subscription = subscribe(url, 'counter', {}, fast);
    const notices: ReopenedNotice[] = [];
    subscription.on('reopened', (notice) => notices.push(notice));
    const { seqs } = await drain(subscription);
    // The new session starts again at seq 1: across a reopen events may repeat (here 1..3).
    expect(seqs).toEqual([1, 2, 3, 1, 2, 3, 4]);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ code: 'reopened', lastSeq: 3, termination: { reason: 'expired' } });
    const reopen = requests.findIndex((r, i) => i > 0 && r.type === 'open');
    expect(requests[reopen]!.at - requests[reopen - 1]!.at).toBeGreaterThanOrEqual(45);
  });

  it('a complete termination whose last seq was never delivered is a gap', async () => {
    const { url } = await start(['ok', { terminate: 'complete', action: 'none' }]);
    const subscription = subscribe(url, 'counter', {}, fast);
    const { error } = await drain(subscription);
    expect(error).toMatchObject({ code: 'gap', from: 1, to: 10 });
  });
});

describe('pacing', () => {
  // Tolerance for timer granularity: the assertions are about order of magnitude, not speed.
  const slack = 15;

  it('waits at least Retry-After seconds before retrying', async () => {
    const { url, requests } = await start(['ok', { retryAfterSeconds: 1 }], 3);
    await drain(subscribe(url, 'counter', {}, fast));
    expect(requests[2]!.at - requests[1]!.at).toBeGreaterThanOrEqual(1_000 - slack);
  });

  it('waits at least retryAfterMs before retrying', async () => {
    const { url, requests } = await start(['ok', { retryAfterMs: 300 }], 3);
    await drain(subscribe(url, 'counter', {}, fast));
    expect(requests[2]!.at - requests[1]!.at).toBeGreaterThanOrEqual(300 - slack);
  });

  it('does not hot-loop on empty batches answered at once (SSP-CLIENT-9, measured where the polls are sent)', async () => {
    const { url } = await start(['ok', 'empty', 'empty', 'empty', 'empty'], 3);
    const sentAt: number[] = [];
    const recording: FetchLike = (target, init) => {
      if (init.body?.includes('"poll"')) sentAt.push(Date.now());
      return fetch(target, init);
    };
    await drain(createSubscribe(recording)(url, 'counter', {}, { ...fast, minPollIntervalMs: 100 }));
    // A timer may fire up to 1 ms early (Node rounds), nothing more.
    for (let i = 1; i <= 4; i++) expect(sentAt[i]! - sentAt[i - 1]!).toBeGreaterThanOrEqual(100 - 1);
  });
});

describe('usage errors', () => {
  it('a relative endpoint in Node is a TypeError at once, not a retried network failure', () => {
    expect(() => subscribe('/ssp', 'counter')).toThrow(TypeError);
  });
});

describe('iteration', () => {
  it('starting the iterator after events were delivered throws instead of missing them', async () => {
    const { url } = await start([], 3);
    const subscription = subscribe(url, 'counter', {}, fast);
    await subscription.termination;
    expect(() => subscription[Symbol.asyncIterator]()).toThrow(/delivered before iteration started/);
  });
});
