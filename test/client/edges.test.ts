// The client edges of spec §16 (issue 8 part 5, items 1.18 and 1.19), each against the fault
// server: late answers, gaps that overlap, invalid answers, unknown codes and reasons, lost
// sessions, repeated advice, backoff capped for live sessions. Timing is asserted only as lower
// bounds derived from the configured values, or through the delays the client reports.
import { afterEach, describe, expect, it } from 'vitest';
import { SspProtocolError, SspServerError, SspTerminationError, subscribe } from '../../reference-client/node.ts';
import type { RetryNotice, SspGapError, StreamRestartNotice, SubscriptionItem } from '../../reference-client/node.ts';
import { startFaultServer } from './fault-server.ts';
import type { FaultServer, FaultServerOptions } from './fault-server.ts';
import { drain, fast, oneTo } from './helpers.ts';

let server: FaultServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: FaultServerOptions) {
  server = await startFaultServer({ batchSize: 3, ...options });
  return server;
}

describe('newest signature by position, never by arrival (SSP-CLIENT-3, item 1.18)', () => {
  it('a late answer for an older position neither rewinds the signature nor delivers twice', async () => {
    const s = await start({ events: 10, faults: ['ok', 'ok', 'ok', 'stale'] });
    const { seqs, error } = await drain(subscribe(s.url, 'counter', {}, fast));
    expect(error).toBeUndefined();
    expect(seqs).toEqual(oneTo(10));
    // The stale answer (events 4-5, signature at 5) arrived after the answer at 6: the next poll stays at 6.
    expect(s.requests.slice(3, 5)).toMatchObject([{ position: 6, fault: 'stale' }, { type: 'poll', position: 6 }]);
  });
});

describe('gaps (SSP-CLIENT-15)', () => {
  it('an overlapping gap reports only the events after the client position', async () => {
    const s = await start({ events: 10, faults: ['ok', 'ok', 'overlap-gap'] });
    const subscription = subscribe(s.url, 'counter', {}, { ...fast, gaps: 'continue' });
    const gaps: SspGapError[] = [];
    subscription.on('gap', (gap) => gaps.push(gap));
    const { seqs } = await drain(subscription);
    // The server announced 2..4 as lost while the client had 1..3: only 4 is lost.
    expect(gaps.map(({ from, to }) => ({ from, to }))).toEqual([{ from: 4, to: 4 }]);
    expect(seqs).toEqual(oneTo(10).filter((n) => n !== 4));
  });

  it('a gap entirely behind the client reports nothing, even with gaps: fail', async () => {
    const s = await start({ events: 10, faults: ['ok', 'ok', 'behind-gap'] });
    const { seqs, error } = await drain(subscribe(s.url, 'counter', {}, fast));
    expect(error).toBeUndefined();
    expect(seqs).toEqual(oneTo(10));
  });

  it('a gap from > to is an invalid answer: repeated, nothing reported', async () => {
    const s = await start({ events: 6, faults: ['ok', 'ok', 'inverted-gap'] });
    const subscription = subscribe(s.url, 'counter', {}, fast);
    const retries: RetryNotice[] = [];
    subscription.on('retry', (notice) => retries.push(notice));
    const { seqs, error } = await drain(subscription);
    expect(error).toBeUndefined();
    expect(seqs).toEqual(oneTo(6));
    expect(retries.map((r) => r.error)).toEqual([expect.any(SspProtocolError)]);
    expect(s.requests[3]).toMatchObject({ type: 'poll', position: 3 });
  });
});

describe('invalid answers (SSP-CLIENT-19)', () => {
  it('a 4xx that is not SSP/1 is reported at once, not repeated', async () => {
    const s = await start({ events: 6, faults: ['ok', 'ok', 'not-found'] });
    const { seqs, error } = await drain(subscribe(s.url, 'counter', {}, fast));
    expect(seqs).toEqual([1, 2, 3]);
    expect(error).toBeInstanceOf(SspProtocolError);
    expect(error).toMatchObject({ code: 'protocol', status: 404, retryable: false });
    expect(s.requests.filter((r) => r.type === 'poll')).toHaveLength(2);
  });
});

describe('forward compatibility (SSP-CLIENT-21 to -23)', () => {
  it('an unknown retryable code is repeated, after at least its Retry-After', async () => {
    const s = await start({ events: 3, faults: ['ok', { error: 'slow-down', status: 429, retryable: true, retryAfterSeconds: 1 }] });
    const subscription = subscribe(s.url, 'counter', {}, fast);
    const retries: RetryNotice[] = [];
    subscription.on('retry', (notice) => retries.push(notice));
    const { seqs } = await drain(subscription);
    expect(seqs).toEqual([1, 2, 3]);
    // SSP-CLIENT-18: the longer wait wins, whatever the backoff (here 5 ms) would have been.
    expect(retries.map((r) => r.delayMs)).toEqual([1_000]);
    expect(s.requests[2]!.at - s.requests[1]!.at).toBeGreaterThanOrEqual(1_000 - 1);
  });

  it('an unknown non-retryable code is reported with its code and status, not repeated', async () => {
    const s = await start({ events: 3, faults: ['ok', { error: 'gone-fishing', status: 409, retryable: false }] });
    const { error } = await drain(subscribe(s.url, 'counter', {}, fast));
    expect(error).toBeInstanceOf(SspServerError);
    expect(error).toMatchObject({ code: 'gone-fishing', status: 409, retryable: false });
    expect(s.requests).toHaveLength(2);
  });

  it('an unknown termination reason keeps its advice, like error: reopen opens a new session', async () => {
    const s = await start({ events: 3, faults: ['ok', 'ok', { terminate: 'migrated', action: 'reopen' }] });
    const subscription = subscribe(s.url, 'counter', {}, fast);
    const restarts: StreamRestartNotice[] = [];
    subscription.on('restart', (notice) => restarts.push(notice));
    const { seqs, error } = await drain(subscription);
    expect(error).toBeUndefined();
    expect(seqs).toEqual([1, 2, 3, 1, 2, 3]);
    expect(restarts).toMatchObject([{ code: 'restart', lastSeq: 3, cause: { termination: { reason: 'migrated' } } }]);
  });

  it('an unknown termination reason with advice none ends the subscription as a failed stream', async () => {
    const s = await start({ events: 6, faults: ['ok', 'ok', { terminate: 'migrated', action: 'none' }] });
    const subscription = subscribe(s.url, 'counter', {}, fast);
    const { error } = await drain(subscription);
    expect(error).toBeInstanceOf(SspTerminationError);
    expect((await subscription.termination).reason).toBe('migrated');
    expect(s.requests).toHaveLength(3);
  });

  it('an unknown advice action is none', async () => {
    const s = await start({ events: 6, faults: ['ok', 'ok', { terminate: 'error', action: 'teleport', delayMs: 10 }] });
    const subscription = subscribe(s.url, 'counter', {}, fast);
    const { error } = await drain(subscription);
    expect(error).toBeInstanceOf(SspTerminationError);
    expect(s.requests).toHaveLength(3);
  });
});

describe('stream restarts (SSP-CLIENT-25, -29, item 1.19)', () => {
  it('session-expired on a poll opens a new session, reported as a restart before its first event', async () => {
    const s = await start({ events: 4, faults: ['ok', 'ok', { error: 'session-expired' }] });
    const subscription = subscribe(s.url, 'counter', {}, fast);
    const items: SubscriptionItem[] = [];
    for await (const item of subscription.items()) items.push(item);
    const described = items.map((item) => (item.kind === 'event' ? item.event.seq : item.kind));
    expect(described).toEqual([1, 2, 3, 'restart', 1, 2, 3, 4]);
    const restart = items.find((item) => item.kind === 'restart');
    expect(restart).toMatchObject({ restart: { lastSeq: 3, sessions: 1, cause: { error: { code: 'session-expired' } } } });
    expect(s.requests.map((r) => r.type)).toEqual(['open', 'poll', 'poll', 'open', 'poll', 'poll', 'poll']);
    expect((await subscription.termination).reason).toBe('complete');
  });

  it('invalid-signature on a poll (the server changed its key) restarts the stream too', async () => {
    const s = await start({ events: 3, faults: ['ok', 'ok', { error: 'invalid-signature' }] });
    const subscription = subscribe(s.url, 'counter', {}, fast);
    const restarts: StreamRestartNotice[] = [];
    subscription.on('restart', (notice) => restarts.push(notice));
    const { seqs } = await drain(subscription);
    expect(seqs).toEqual([1, 2, 3, 1, 2, 3]);
    expect(restarts).toHaveLength(1);
  });

  it('reopen advice that brings no event backs off (SSP-CLIENT-24) and ends once the retry limit is passed', async () => {
    const reopen = { terminate: 'error', action: 'reopen' } as const;
    const s = await start({ events: 10, faults: ['ok', 'ok', reopen, 'ok', reopen, 'ok', reopen, 'ok', reopen] });
    const retry = { initialDelayMs: 40, maxDelayMs: 1_000, maxAttempts: 3, maxElapsedMs: 10_000 };
    // random 0: each wait is exactly d/2, d = 40 ms · 2^(r−1); never less than minPollIntervalMs (20).
    const subscription = subscribe(s.url, 'counter', {}, { ...fast, retry, random: () => 0 });
    const { seqs, error } = await drain(subscription);
    expect(seqs).toEqual([1, 2, 3]);
    expect(error).toBeInstanceOf(SspTerminationError);
    expect((await subscription.termination).reason).toBe('error');
    const types = s.requests.map((r) => r.type);
    expect(types).toEqual(['open', 'poll', 'poll', 'open', 'poll', 'open', 'poll', 'open', 'poll']);
    const waits = [2, 4, 6].map((i) => s.requests[i + 1]!.at - s.requests[i]!.at);
    [20, 40, 80].forEach((least, k) => expect(waits[k]).toBeGreaterThanOrEqual(least - 1));
  });
});

describe('backoff and the session lifetime (SSP-CLIENT-17, -18)', () => {
  const retry = { initialDelayMs: 40, maxDelayMs: 10_000, maxAttempts: 8, maxElapsedMs: 60_000 };

  async function delaysOf(options: FaultServerOptions) {
    const s = await start(options);
    const subscription = subscribe(s.url, 'counter', {}, { ...fast, retry, random: () => 0.999_999 });
    const retries: RetryNotice[] = [];
    subscription.on('retry', (notice) => retries.push(notice));
    const { seqs } = await drain(subscription);
    return { seqs, delays: retries.map((r) => r.delayMs), s };
  }

  it('retries of a live session wait at most half of the advertised idleTimeoutMs', async () => {
    const limits = { maxHoldMs: 200, batchDelayMs: 10, idleTimeoutMs: 100 };
    const { seqs, delays, s } = await delaysOf({ events: 3, limits, faults: ['ok', ...Array<'reset'>(6).fill('reset')] });
    expect(seqs).toEqual([1, 2, 3]);
    expect(s.discoveryReads).toBe(1);
    // d = min(40 · 2^(n−1), 100 / 2): 40, then 50 from the second failure on; random → just under d.
    expect(delays).toEqual([39, 49, 49, 49, 49, 49]);
  });

  it('retries of an open (no session yet) back off without the cap', async () => {
    const limits = { maxHoldMs: 200, batchDelayMs: 10, idleTimeoutMs: 100 };
    const { delays } = await delaysOf({ events: 3, limits, faults: ['reset', 'reset', 'reset', 'reset'] });
    expect(delays).toEqual([39, 79, 159, 319]);
  });

  it('the server advice still wins over the cap: the longest of backoff, retryAfterMs and Retry-After', async () => {
    const limits = { maxHoldMs: 200, batchDelayMs: 10, idleTimeoutMs: 100 };
    const { delays } = await delaysOf({ events: 3, limits, faults: ['ok', { retryAfterMs: 300 }] });
    // retryAfterMs 300 comes with `Retry-After: 1` (SSP-ERROR-4 rounds up): the longer, 1 s, wins.
    expect(delays).toEqual([1_000]);
  });

  it('a success resets the count of failed requests', async () => {
    const limits = { maxHoldMs: 200, batchDelayMs: 10, idleTimeoutMs: 1_000 };
    const { delays } = await delaysOf({ events: 6, limits, faults: ['reset', 'reset', 'ok', 'reset', 'ok'] });
    expect(delays).toEqual([39, 79, 39]);
  });
});

describe('hold (SSP-CLIENT-27)', () => {
  it('without discovery every poll carries hold; with it, the server maximum applies', async () => {
    let s = await start({ events: 3 });
    await drain(subscribe(s.url, 'counter', {}, fast));
    expect(s.requests.filter((r) => r.type === 'poll').map((r) => r.hold)).toEqual([25_000, 25_000]);
    await s.close();
    s = await start({ events: 3, limits: { maxHoldMs: 500, batchDelayMs: 10, idleTimeoutMs: 2_000 } });
    await drain(subscribe(s.url, 'counter', {}, fast));
    expect(s.requests.filter((r) => r.type === 'poll').map((r) => r.hold)).toEqual([undefined, undefined]);
  });
});
