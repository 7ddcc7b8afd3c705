// The reference Node client shares one multiplexed session between its subscriptions to one
// endpoint when the server offers the extension, and falls back to a session each otherwise,
// with the same subscribe() calls; every stream is delivered exactly once, in order.
import { afterEach, describe, expect, it } from 'vitest';
import type { SspServer } from '../../reference-server/index.ts';
import { fetch } from 'undici';
import { createSubscribe } from '../../reference-client/core.ts';
import type { FetchLike } from '../../reference-client/core.ts';
import { subscribe } from '../../reference-client/node.ts';
import type { Subscription } from '../../reference-client/node.ts';
import { start } from '../server/helpers.ts';

const servers: SspServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** Ten counters with mixed rates; resolves with each stream's delivered seqs. */
async function readTen(url: string): Promise<{ seqs: number[][]; subs: Subscription[] }> {
  const subs: Subscription[] = [];
  const seqs: number[][] = [];
  for (let i = 0; i < 10; i++) {
    const list: number[] = [];
    seqs.push(list);
    const sub = subscribe(url, 'ssp.counter', { count: 5 + i, intervalMs: i % 2 === 0 ? 20 : 120 }, { minPollIntervalMs: 50 });
    sub.on('event', (event) => list.push(event.seq));
    subs.push(sub);
  }
  await Promise.all(subs.map((sub) => sub.termination));
  return { seqs, subs };
}

/**
 * A fetch to the real server that tells `refuse` of each message it carries (its type and
 * Authorization header) and answers it with error `code` at `status` when `refuse` says so.
 */
function refusingFetch(status: number, code: string, refuse: (type: string, authorization: string) => boolean): FetchLike {
  return async (url, init) => {
    const message = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
    if (message && refuse(message.type, init?.headers?.authorization ?? '')) {
      const body = JSON.stringify({ ssp: 1, type: 'error', code, message: `scripted ${code}`, retryable: false });
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(status === 401 ? { 'www-authenticate': 'Bearer' } : {}) };
      return new Response(body, { status, headers }) as never;
    }
    return (await fetch(url, init as never)) as never;
  };
}

describe('client multiplexing', () => {
  it('shares one session for ten subscriptions when the server offers multiplex', async () => {
    const server = await start({ conformance: true });
    servers.push(server);
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, server.handler.stats().sessions)), 10);
    const { seqs } = await readTen(server.url).finally(() => clearInterval(sampler));
    seqs.forEach((list, i) => expect(list).toEqual(Array.from({ length: 5 + i }, (_, k) => k + 1)));
    expect(most).toBe(1);
  });

  it('falls back to one session each when the server does not offer it', async () => {
    const server = await start({ conformance: true, multiplex: false });
    servers.push(server);
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, server.handler.stats().sessions)), 10);
    const { seqs } = await readTen(server.url).finally(() => clearInterval(sampler));
    seqs.forEach((list, i) => expect(list).toEqual(Array.from({ length: 5 + i }, (_, k) => k + 1)));
    expect(most).toBeGreaterThan(1);
  });

  it('closes the shared session once every stream has ended on its own', async () => {
    // A long idle timeout: only the client's close can end the session within the wait.
    const server = await start({ conformance: true, limits: { idleTimeoutMs: 60_000 } });
    servers.push(server);
    await readTen(server.url);
    const deadline = Date.now() + 20_000;
    while (server.handler.stats().sessions > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.handler.stats().sessions).toBe(0);
  });

  it('a shared poll answered 400 bad-request (not retryable) ends every stream with that error and is followed by nothing (SSP-CLIENT-12)', async () => {
    const server = await start({ conformance: true });
    servers.push(server);
    const sent: string[] = [];
    let polls = 0;
    // The second poll of the shared session is refused, as a server refuses a poll it cannot parse.
    const refusing = refusingFetch(400, 'bad-request', (type) => {
      sent.push(type);
      return type === 'poll' && ++polls === 2;
    });
    const subscribeRefused = createSubscribe(refusing);
    const subs = [0, 1].map(() => subscribeRefused(server.url, 'ssp.counter', { count: 1000, intervalMs: 100 }));
    const errors: unknown[] = [];
    for (const sub of subs) sub.on('error', (error) => errors.push(error));
    const outcomes = await Promise.all(subs.map((sub) => sub.termination.then(() => undefined, (error: unknown) => error)));
    for (const outcome of outcomes) expect(outcome).toMatchObject({ code: 'bad-request', status: 400, retryable: false });
    expect(errors).toHaveLength(2);
    const refused = sent.length;
    // Not the poll again, and no new session: the fault is reported, not worked around.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(sent.slice(refused)).toEqual([]);
    expect(sent.filter((type) => type === 'open')).toHaveLength(1);
  });

  it('a shared poll answered 401: each subscription that renews its credentials goes on in a new session, its restart reported (SSP-CLIENT-20, -25)', async () => {
    const server = await start({ conformance: true });
    servers.push(server);
    // The first poll once both streams have an event is refused: both are in the session then.
    const delivered = new Set<number>();
    let refused = false;
    const sent: string[] = [];
    const refusing = refusingFetch(401, 'unauthorized', (type, authorization) => {
      sent.push(`${type} ${authorization}`);
      if (type !== 'poll' || delivered.size < 2 || refused) return false;
      return (refused = true);
    });
    let token = 'old';
    const renewed: string[] = [];
    const subscribeRefused = createSubscribe(refusing);
    const subs = [0, 1].map(() =>
      subscribeRefused(server.url, 'ssp.counter', { count: 6, intervalMs: 100 }, {
        headers: () => ({ authorization: `Bearer ${token}` }),
        renewCredentials: (error) => {
          renewed.push(error.code);
          token = 'new';
          return true;
        },
      }),
    );
    subs.forEach((sub, i) => sub.on('event', () => delivered.add(i)));
    const restarts = subs.map((sub) => {
      const seen: unknown[] = [];
      sub.on('restart', (restart) => seen.push(restart));
      return seen;
    });
    const ends = await Promise.all(subs.map((sub) => sub.termination));
    expect(ends.map((end) => end.reason)).toEqual(['complete', 'complete']);
    expect(renewed).toEqual(['unauthorized', 'unauthorized']);
    expect(restarts.map((seen) => seen.length)).toEqual([1, 1]);
    // The new session is opened with the renewed credentials; the refused poll is not sent again as it was.
    expect(sent.filter((line) => line.startsWith('open')).at(-1)).toBe('open Bearer new');
  });

  it('sends the next poll no earlier than 1 s after a poll answered with an empty batch (SSP-CLIENT-9)', async () => {
    // Holds of 200 ms: quiet streams make the server answer empty batches well within 1 s.
    const server = await start({ conformance: true, limits: { maxHoldMs: 200 } });
    servers.push(server);
    const polls: Array<{ sentAt: number; empty?: boolean }> = [];
    const recording: FetchLike = async (url, init) => {
      const message = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
      const record = { sentAt: Date.now() } as { sentAt: number; empty?: boolean };
      if (message?.type === 'poll') polls.push(record);
      const response = await fetch(url, init as never);
      if (message?.type !== 'poll') return response as never;
      const text = await response.text();
      const answer = JSON.parse(text);
      // A multiplexed batch is empty when it carries no stream part and settles no addition.
      const mux = answer.ext?.multiplex ?? {};
      record.empty = answer.type === 'batch' && answer.events.length === 0 && !(mux.streams?.length > 0) && !(mux.added?.length > 0) && !(mux.refused?.length > 0);
      return new Response(text, { status: response.status, headers: response.headers as never }) as never;
    };
    const subscribeRecorded = createSubscribe(recording);
    const subs = [0, 1].map(() => subscribeRecorded(server.url, 'ssp.ticker', { intervalMs: 60_000 }));
    await new Promise((resolve) => setTimeout(resolve, 3500));
    subs.forEach((sub) => sub.close());
    const afterEmpty = polls.slice(1).filter((_, i) => polls[i]!.empty === true);
    expect(afterEmpty.length).toBeGreaterThan(0);
    polls.slice(1).forEach((poll, i) => {
      if (polls[i]!.empty === true) expect(poll.sentAt - polls[i]!.sentAt).toBeGreaterThanOrEqual(1000 - 2);
    });
  });
});
