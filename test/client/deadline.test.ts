// SSP-CLIENT-26: a poll is not abandoned before its effective hold plus batchDelayMs; the client
// gives up requestTimeoutMs later. Checked on a fake clock against an in-memory server that
// never answers polls, so the instants are exact and nothing depends on the machine's speed.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSubscribe, SspTransportError } from '../../reference-client/node.ts';
import type { FetchLike, RetryNotice } from '../../reference-client/node.ts';

interface Poll {
  hold: number | undefined;
  sentAt: number;
  abortedAt?: number;
}

/** A server whose discovery says `limits` (404 when absent), that opens sessions and holds every poll forever. */
function silentServer(limits?: Record<string, number>) {
  const polls: Poll[] = [];
  const reply = (status: number, body: unknown) => ({ status, headers: new Headers(), text: async () => JSON.stringify(body) });
  const fetch: FetchLike = async (_url, init) => {
    if (init.method === 'GET') return limits ? reply(200, { ssp: 1, type: 'discovery', versions: [1], limits, streams: [] }) : reply(404, {});
    const message = JSON.parse(init.body!) as { type: string; hold?: number };
    if (message.type === 'open') return reply(200, { ssp: 1, type: 'session', sig: 'sig-for-position-0', stream: 's', position: 0 });
    if (message.type === 'close') return reply(200, { ssp: 1, type: 'termination', sig: 'sig-for-position-0', reason: 'closed', last: 0, advice: { action: 'none' } });
    const poll: Poll = { hold: message.hold, sentAt: Date.now() };
    polls.push(poll);
    return new Promise((_, reject) => {
      init.signal.addEventListener('abort', () => {
        poll.abortedAt = Date.now();
        reject(new DOMException('aborted', 'AbortError'));
      });
    });
  };
  return { polls, subscribe: createSubscribe(fetch) };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

async function firstPollDeadline(limits: Record<string, number> | undefined, options: { holdMs?: number; requestTimeoutMs: number }) {
  const { polls, subscribe } = silentServer(limits);
  const subscription = subscribe('http://127.0.0.1:1/ssp', 's', {}, { ...options, random: () => 0 });
  const retries: RetryNotice[] = [];
  subscription.on('retry', (notice) => retries.push(notice));
  await vi.advanceTimersByTimeAsync(0);
  expect(polls).toHaveLength(1);
  const poll = polls[0]!;
  let waited = 0;
  while (poll.abortedAt === undefined && waited < 100_000) {
    await vi.advanceTimersByTimeAsync(1);
    waited += 1;
  }
  await subscription.close();
  expect(retries[0]?.error).toBeInstanceOf(SspTransportError);
  return { hold: poll.hold, deadline: poll.abortedAt! - poll.sentAt };
}

describe('answer deadline of a poll (SSP-CLIENT-26)', () => {
  const limits = { maxHoldMs: 1_000, batchDelayMs: 200, idleTimeoutMs: 2_000 };

  it('the server maximum hold (no hold sent) + batchDelayMs + requestTimeoutMs', async () => {
    expect(await firstPollDeadline(limits, { requestTimeoutMs: 100 })).toEqual({ hold: undefined, deadline: 1_300 });
  });

  it('a shorter hold asked for is the effective hold', async () => {
    expect(await firstPollDeadline(limits, { holdMs: 300, requestTimeoutMs: 100 })).toEqual({ hold: 300, deadline: 600 });
  });

  it('a longer hold asked for is cut to the server maximum', async () => {
    expect(await firstPollDeadline(limits, { holdMs: 5_000, requestTimeoutMs: 100 })).toEqual({ hold: 5_000, deadline: 1_300 });
  });

  it('without discovery: hold 25 s is sent (SSP-CLIENT-27) and is the effective hold', async () => {
    expect(await firstPollDeadline(undefined, { requestTimeoutMs: 100 })).toEqual({ hold: 25_000, deadline: 25_100 });
  });
});
